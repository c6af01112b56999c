"""A BACnet/IP building controller for the OT lab (bacpypes3) on <ip>/24, UDP 47808: device
260015 announcing itself as a Johnson Controls FEC (vendor id 5, model, firmware, application
software version), with a commandable analog value (the supply-air set point). Answers Who-Is,
ReadProperty and WriteProperty. Runs until killed.

usage: bacnet_device.py <ip>
"""

import asyncio
import sys

from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogValueObjectCmd
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject


async def main(ip):
    device = DeviceObject(
        objectIdentifier=("device", 260015),
        objectName="AHU-3 Controller",
        vendorIdentifier=5,
        vendorName="Johnson Controls",
        modelName="MS-FEC2611-0",
        firmwareRevision="10.1.0.1234",
        applicationSoftwareVersion="AHU-3 v2.4",
        description="Air handling unit 3",
        location="Building A, level 2",
    )
    port = NetworkPortObject(
        f"{ip}/24",
        objectIdentifier=("network-port", 1),
        objectName="NetworkPort-1",
    )
    setpoint = AnalogValueObjectCmd(
        objectIdentifier=("analog-value", 1),
        objectName="SA-SP",
        presentValue=18.0,
        relinquishDefault=18.0,
        units="degrees-celsius",
        statusFlags=[0, 0, 0, 0],
        covIncrement=0.5,
    )
    Application.from_object_list([device, port, setpoint])
    print("bacnet device ready", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
