"""Modbus/TCP clients of the OT lab (pymodbus's asyncio client), unit 1 on <server>:502.

usage: modbus_client.py <server> poll <seconds>   -- an HMI: holding registers 0-9 every 100 ms,
                                                     input registers 0-3 every 500 ms
       modbus_client.py <server> identify         -- Read Device Identification (basic, regular),
                                                     Report Server ID
       modbus_client.py <server> write30          -- writes 30 holding registers from 100
"""

import asyncio
import sys
import time

from pymodbus.client import AsyncModbusTcpClient


def check(response, what):
    if response.isError():
        raise SystemExit(f"{what} failed: {response}")
    return response


async def main(server, mode, rest):
    client = AsyncModbusTcpClient(server, port=502, timeout=3, retries=1)
    if not await client.connect():
        raise SystemExit(f"cannot connect to {server}:502")
    try:
        if mode == "poll":
            end = time.monotonic() + float(rest[0])
            polls = 0
            while time.monotonic() < end:
                check(await client.read_holding_registers(0, count=10, device_id=1), "FC3")
                if polls % 5 == 0:
                    check(await client.read_input_registers(0, count=4, device_id=1), "FC4")
                polls += 1
                await asyncio.sleep(0.1)
            print(f"polls: {polls}", flush=True)
        elif mode == "identify":
            for read_code in (1, 2):
                r = check(
                    await client.read_device_information(
                        read_code=read_code, object_id=0, device_id=1
                    ),
                    "FC43/14",
                )
                for key, value in sorted(r.information.items()):
                    print(f"object {key}: {value.decode(errors='replace')}", flush=True)
            r = check(await client.report_device_id(device_id=1), "FC17")
            print(f"server id: {r.identifier!r} running {r.status}", flush=True)
        elif mode == "write30":
            values = [4000 + i for i in range(30)]
            check(await client.write_registers(100, values, device_id=1), "FC16")
            r = check(await client.read_holding_registers(100, count=30, device_id=1), "FC3")
            print(f"written: {r.registers == values}", flush=True)
        else:
            raise SystemExit(f"unknown mode {mode}")
    finally:
        client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
