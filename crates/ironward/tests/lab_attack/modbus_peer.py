"""Modbus/TCP peers of the attack lab (pymodbus's asyncio client), unit 1 on <server>:502.

usage: modbus_peer.py <server> poll <seconds>  -- an HMI: holding registers 0-9 every 100 ms
       modbus_peer.py <server> write           -- an attacker: writes 20 holding registers from
                                                  150 (FC16, twice, different values) and reads
                                                  them back

The poller prints how many polls it made when it ends or is stopped (SIGTERM), and fails when
the controller stops answering.
"""

import asyncio
import signal
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
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            end = time.monotonic() + float(rest[0])
            polls = 0
            while time.monotonic() < end and not stop.is_set():
                check(await client.read_holding_registers(0, count=10, device_id=1), "FC3")
                polls += 1
                if polls == 1:
                    print("first poll done", flush=True)
                await asyncio.sleep(0.1)
            print(f"polls: {polls}", flush=True)
        elif mode == "write":
            for base in (6000, 7000):
                values = [base + i for i in range(20)]
                check(await client.write_registers(150, values, device_id=1), "FC16")
                r = check(await client.read_holding_registers(150, count=20, device_id=1), "FC3")
                print(f"written {base}: {r.registers == values}", flush=True)
        else:
            raise SystemExit(f"unknown mode {mode}")
    finally:
        client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
