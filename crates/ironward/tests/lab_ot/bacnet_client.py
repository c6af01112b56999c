"""The engineering workstation's BACnet/IP client of the OT lab (bacpypes3) on <ip>/24: a
global Who-Is, ReadProperty of the device's vendor-name, model-name, firmware-revision,
application-software-version and object-name, WriteProperty of the supply-air set point
(analog-value 1, priority 8), DeviceCommunicationControl (enable) and ReinitializeDevice (warm
start), both of which bacpypes3's device rejects (not implemented there).

usage: bacnet_client.py <ip> <device ip> <device instance>
"""

import asyncio
import sys

from bacpypes3.apdu import (
    DeviceCommunicationControlRequest,
    ErrorRejectAbortNack,
    ReinitializeDeviceRequest,
)
from bacpypes3.app import Application
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address


async def main(ip, target, instance):
    device = DeviceObject(
        objectIdentifier=("device", 999001),
        objectName="EWS-1",
        vendorIdentifier=999,
        vendorName="Ironward lab",
    )
    port = NetworkPortObject(
        f"{ip}/24", objectIdentifier=("network-port", 1), objectName="NetworkPort-1"
    )
    app = Application.from_object_list([device, port])
    i_ams = await app.who_is(timeout=2)
    for i_am in i_ams:
        print(f"i-am {i_am.iAmDeviceIdentifier} from {i_am.pduSource}", flush=True)
    address = Address(target)
    objid = f"device,{instance}"
    for prop in (
        "vendor-name",
        "model-name",
        "firmware-revision",
        "application-software-version",
        "object-name",
    ):
        value = await app.read_property(address, objid, prop)
        print(f"{prop}: {value}", flush=True)
    await app.write_property(address, "analog-value,1", "present-value", 21.5, priority=8)
    value = await app.read_property(address, "analog-value,1", "present-value")
    print(f"present-value: {value}", flush=True)
    # Device management: communication control (enable, harmless) and a warm start; the
    # device built from bacpypes3's Application implements neither and rejects both.
    for request in (
        DeviceCommunicationControlRequest(enableDisable="enable", destination=address),
        ReinitializeDeviceRequest(
            reinitializedStateOfDevice="warmstart", password="lab", destination=address
        ),
    ):
        name = type(request).__name__
        try:
            await app.request(request)
            print(f"{name}: acknowledged", flush=True)
        except ErrorRejectAbortNack as e:
            print(f"{name}: refused ({e})", flush=True)
    app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
