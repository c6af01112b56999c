"""S7comm peers of the attack lab (python-snap7's client) against <plc>:102, rack 0 slot 2.

usage: s7_peer.py <plc> poll <seconds>   -- a SCADA server: reads DB1 0-15 every 250 ms
       s7_peer.py <plc> stop             -- an attacker: connects and sends PLC STOP

Killed while polling, it says how far it got; it exits non-zero when the controller stops
answering, so that a lab that lost its controller does not look like one that ran.
"""

import logging
import signal
import sys
import time

import snap7


def main(plc, mode, rest):
    client = snap7.client.Client()
    client.connect(plc, 0, 2)
    print(f"connected: {client.get_connected()}", flush=True)
    if mode == "poll":
        reads = 0

        def report(*_):
            print(f"reads: {reads}", flush=True)
            sys.exit(0)

        signal.signal(signal.SIGTERM, report)
        end = time.monotonic() + float(rest[0])
        while time.monotonic() < end:
            client.db_read(1, 0, 16)
            reads += 1
            if reads == 1:
                print("first read done", flush=True)
            time.sleep(0.25)
        report()
    elif mode == "stop":
        client.plc_stop()
        print("plc stopped", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")
    client.disconnect()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
