"""OPC UA clients of the OT lab (asyncua) against opc.tcp://<server>:4840/line1/, security None.

usage: opcua_client.py <server> endpoints       -- GetEndpoints only (discovery)
       opcua_client.py <server> poll <seconds>  -- anonymous session: reads Line1.Speed every
                                                   200 ms, then writes Line1.Setpoint
"""

import asyncio
import logging
import sys
import time

from asyncua import Client, ua


async def main(server, mode, rest):
    url = f"opc.tcp://{server}:4840/line1/"
    client = Client(url=url, timeout=4)
    if mode == "endpoints":
        endpoints = await client.connect_and_get_server_endpoints()
        for e in endpoints:
            print(f"endpoint {e.EndpointUrl} {e.SecurityMode.name} "
                  f"{e.Server.ApplicationUri}", flush=True)
        return
    async with client:
        ns = await client.get_namespace_index("urn:ironward-lab:line1")
        speed = client.get_node(ua.NodeId("Line1.Speed", ns))
        setpoint = client.get_node(ua.NodeId("Line1.Setpoint", ns))
        end = time.monotonic() + float(rest[0])
        reads = 0
        while time.monotonic() < end:
            await speed.read_value()
            reads += 1
            await asyncio.sleep(0.2)
        await setpoint.write_value(ua.DataValue(ua.Variant(55.0, ua.VariantType.Double)))
        print(f"reads: {reads}, setpoint now {await setpoint.read_value()}", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
