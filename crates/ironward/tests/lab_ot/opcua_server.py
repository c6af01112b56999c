"""An OPC UA server for the OT lab: asyncua's server on opc.tcp://<ip>:4840, security policy
None only and anonymous sessions allowed (the findings the lab expects), with a few process
variables under Objects/Line1. Runs until killed.

usage: opcua_server.py <ip>
"""

import asyncio
import logging
import sys

from asyncua import Server, ua


async def main(ip):
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{ip}:4840/line1/")
    server.set_server_name("Line 1 OPC UA Server")
    await server.set_application_uri("urn:ironward-lab:line1:opcua")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    server.set_security_IDs(["Anonymous"])
    ns = await server.register_namespace("urn:ironward-lab:line1")
    line = await server.nodes.objects.add_object(ns, "Line1")
    speed = await line.add_variable(ua.NodeId("Line1.Speed", ns), "Speed", 12.5)
    setpoint = await line.add_variable(ua.NodeId("Line1.Setpoint", ns), "Setpoint", 50.0)
    await setpoint.set_writable()
    async with server:
        print("opcua server ready", flush=True)
        value = 12.5
        while True:
            await asyncio.sleep(0.5)
            value += 0.1
            await speed.write_value(value)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(sys.argv[1]))
