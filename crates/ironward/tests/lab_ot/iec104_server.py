"""An IEC 60870-5-104 outstation for the OT lab: c104's server on <ip>:2404, one station
(common address 47) with a measured value (M_ME_NC_1, IOA 11), a single point (M_SP_NA_1,
IOA 20) and the single command that drives it (C_SC_NA_1, IOA 30). Runs until killed.

usage: iec104_server.py <ip>
"""

import sys
import time

import c104


def on_command(
    point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
) -> c104.ResponseState:
    print(f"command {point.io_address}: {point.value}", flush=True)
    return c104.ResponseState.SUCCESS


def main(ip):
    server = c104.Server(ip=ip, port=2404, tick_rate_ms=100)
    station = server.add_station(common_address=47)
    measurement = station.add_point(io_address=11, type=c104.Type.M_ME_NC_1)
    measurement.value = 231.5
    breaker = station.add_point(io_address=20, type=c104.Type.M_SP_NA_1)
    breaker.value = False
    command = station.add_point(
        io_address=30,
        type=c104.Type.C_SC_NA_1,
        related_io_address=20,
        related_io_autoreturn=True,
    )
    command.on_receive(callable=on_command)
    server.start()
    print("iec104 server ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
