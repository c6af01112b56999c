"""The engineering workstation's S7 session of the OT lab (python-snap7's client) against
<plc>:102, rack 0 slot 2: identification (SZL 0x0011 and 0x001C via read_szl, get_order_code
and get_cpu_info; not get_cpu_state, which python-snap7 3.x sends as a read-variable request with
no items instead of an SZL 0x0424 read), a DB read, a DB write, then PLC STOP.

usage: s7_client.py <plc>
"""

import logging
import sys

import snap7


def main(plc):
    client = snap7.client.Client()
    client.connect(plc, 0, 2)
    print(f"connected: {client.get_connected()}", flush=True)
    szl = client.read_szl(0x0011, 0)
    print(f"szl 0x0011: {szl.Header.LengthDR} x {szl.Header.NDR}", flush=True)
    order = client.get_order_code()
    print(f"order code: {order.OrderCode.decode(errors='replace')}", flush=True)
    info = client.get_cpu_info()
    print(f"module type: {info.ModuleTypeName.decode(errors='replace')}", flush=True)
    print(f"serial: {info.SerialNumber.decode(errors='replace')}", flush=True)
    print(f"as name: {info.ASName.decode(errors='replace')}", flush=True)
    data = client.db_read(1, 0, 16)
    print(f"db1: {bytes(data).hex()}", flush=True)
    client.db_write(2, 4, bytearray([0x12, 0x34, 0x56, 0x78]))
    print("db2 written", flush=True)
    client.plc_stop()
    print("plc stopped", flush=True)
    client.disconnect()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1])
