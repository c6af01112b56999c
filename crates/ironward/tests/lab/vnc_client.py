"""An RFB (VNC) client for the lab test: completes the RFC 6143 handshake (version, security
type None, SecurityResult, ClientInit, ServerInit) and prints the desktop name.

Usage: vnc_client.py ADDRESS PORT
"""

import socket
import struct
import sys

address, port = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((address, port), timeout=10)


def read(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"server closed after {len(data)} of {n} bytes")
        data += chunk
    return data


version = read(12)
print("server version:", version, flush=True)
sock.sendall(b"RFB 003.008\n")
count = read(1)[0]
if count == 0:
    reason = read(struct.unpack(">I", read(4))[0])
    sys.exit(f"server refused: {reason!r}")
types = list(read(count))
print("security types:", types, flush=True)
if 1 not in types:
    sys.exit("no security type None offered")
sock.sendall(bytes([1]))
result = struct.unpack(">I", read(4))[0]
print("security result:", result, flush=True)
sock.sendall(bytes([1]))  # ClientInit: shared desktop
width, height = struct.unpack(">HH", read(4))
read(16)  # pixel format
name = read(struct.unpack(">I", read(4))[0])
print("desktop:", width, height, name.decode("utf-8", "replace"), flush=True)
sock.close()
