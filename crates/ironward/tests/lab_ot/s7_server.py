"""An S7 controller for the OT lab: python-snap7's pure-Python server on <ip>:102 with data
blocks DB1 and DB2, in RUN. Its SZL answers (0x0011 module identification, 0x001C component
identification) are python-snap7's own fixed values (a CPU 315-2 PN/DP, order number
6ES7 315-2EH14-0AB0, serial S C-C2UR28922012). Runs until killed.

usage: s7_server.py <ip>
"""

import logging
import sys
import time

import snap7
from snap7.type import SrvArea


def main(ip):
    server = snap7.server.Server(log=False)
    db1 = bytearray(range(64))
    db2 = bytearray(32)
    server.register_area(SrvArea.DB, 1, db1)
    server.register_area(SrvArea.DB, 2, db2)
    server.start_to(ip, 102)
    server.set_cpu_status(8)  # S7CpuStatusRun
    print("s7 server ready", flush=True)
    try:
        while True:
            time.sleep(1)
    finally:
        server.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1])
