"""A Modbus/TCP controller for the OT lab: pymodbus's server on <ip>:502, unit 1, with the
device identification a Schneider Electric Modicon M340 CPU answers (FC43/14) and some
holding and input registers to poll. Runs until killed.

usage: modbus_server.py <ip>
"""

import asyncio
import logging
import sys

from pymodbus import ModbusDeviceIdentification
from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import ModbusTcpServer

IDENTITY = {
    "VendorName": "Schneider Electric",
    "ProductCode": "BMX P34 2020",
    "MajorMinorRevision": "V3.20",
    "VendorUrl": "http://www.schneider-electric.com",
    "ProductName": "Modicon M340",
    "ModelName": "BMX P34 2020",
    "UserApplicationName": "Pump station 4",
}


async def main(ip):
    device = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, [1000 + i for i in range(200)]),
        ir=ModbusSequentialDataBlock(1, [200 + i for i in range(50)]),
        co=ModbusSequentialDataBlock(1, [False] * 64),
        di=ModbusSequentialDataBlock(1, [True] * 64),
    )
    context = ModbusServerContext(devices={1: device}, single=False)
    identity = ModbusDeviceIdentification(info_name=IDENTITY)
    server = ModbusTcpServer(context, identity=identity, address=(ip, 502))
    print("modbus server ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(sys.argv[1]))
