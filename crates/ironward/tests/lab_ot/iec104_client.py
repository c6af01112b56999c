"""The SCADA server's IEC 60870-5-104 session of the OT lab (c104's client) against
<rtu>:2404, common address 47: start of data transfer with c104's initiation (general
interrogation, clock synchronisation, counter interrogation), another general interrogation
(C_IC_NA_1), then a single command (C_SC_NA_1, IOA 30, ON).

usage: iec104_client.py <rtu>
"""

import sys
import time

import c104


def main(rtu):
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=3000)
    connection = client.add_connection(ip=rtu, port=2404, init=c104.Init.ALL)
    station = connection.add_station(common_address=47)
    command = station.add_point(io_address=30, type=c104.Type.C_SC_NA_1)
    client.start()
    deadline = time.monotonic() + 5
    while connection.state != c104.ConnectionState.OPEN:
        if time.monotonic() > deadline:
            raise SystemExit(f"not connected: {connection.state}")
        time.sleep(0.1)
    time.sleep(0.5)
    ok = connection.interrogation(common_address=47, cause=c104.Cot.ACTIVATION,
                                  qualifier=c104.Qoi.STATION)
    print(f"interrogation: {ok}", flush=True)
    command.value = True
    ok = command.transmit(cause=c104.Cot.ACTIVATION)
    print(f"single command: {ok}", flush=True)
    time.sleep(0.3)
    client.stop()


if __name__ == "__main__":
    main(sys.argv[1])
