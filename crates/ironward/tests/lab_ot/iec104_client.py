"""The SCADA server's IEC 60870-5-104 session of the OT lab (c104's client) against
<rtu>:2404, common address 47: start of data transfer (STARTDT), clock synchronisation
(C_CS_NA_1), general interrogation (C_IC_NA_1), counter interrogation (C_CI_NA_1), then a single
command (C_SC_NA_1, IOA 30, ON).

The client connects muted and sends each step itself, waiting for each confirmation, instead of
c104's automatic initiation (Init.ALL), which on a busy machine sometimes never leaves the muted
state.

usage: iec104_client.py <rtu>
"""

import sys
import time

import c104


def main(rtu):
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=3000)
    connection = client.add_connection(ip=rtu, port=2404, init=c104.Init.MUTED)
    station = connection.add_station(common_address=47)
    command = station.add_point(io_address=30, type=c104.Type.C_SC_NA_1)
    client.start()
    deadline = time.monotonic() + 10
    while True:
        time.sleep(0.1)
        if connection.is_connected:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"not connected: {connection.state}")
    print(f"startdt: {connection.unmute()}", flush=True)
    print(f"clock sync: {connection.clock_sync(common_address=47)}", flush=True)
    ok = connection.interrogation(
        common_address=47, cause=c104.Cot.ACTIVATION, qualifier=c104.Qoi.STATION
    )
    print(f"interrogation: {ok}", flush=True)
    print(f"counter interrogation: {connection.counter_interrogation(common_address=47)}",
          flush=True)
    command.value = True
    ok = command.transmit(cause=c104.Cot.ACTIVATION)
    print(f"single command: {ok}", flush=True)
    time.sleep(0.3)
    client.stop()


if __name__ == "__main__":
    main(sys.argv[1])
