"""A Telnet client for the lab test that uses a shell given without any login, as an
administrator (or an attacker) reaching an unprotected device would: it refuses every option the
server proposes (RFC 854 negotiation), waits for the server to fall quiet (its banner and prompt
printed), runs one command whose answer only a shell can give (`echo` of an arithmetic
expansion, which the echoed command line does not contain), waits for that answer and leaves.

Usage: telnet_shell.py ADDRESS PORT
"""

import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240

address, port = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((address, port), timeout=10)
text = bytearray()


def read(seconds, markers=(), quiet=None):
    """Reads, answering option negotiation, until one of `markers` appears in the text, the
    server stays silent for `quiet` seconds after some text, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(m in text for m in markers):
            return True
        wait = deadline - time.monotonic()
        if quiet is not None and text:
            wait = min(wait, quiet)
        sock.settimeout(max(0.05, wait))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            if quiet is not None and text:
                return True
            continue
        if not data:
            break
        i = 0
        while i < len(data):
            b = data[i]
            if b == IAC and i + 1 < len(data):
                cmd = data[i + 1]
                if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
                    opt = data[i + 2]
                    if cmd == DO:
                        sock.sendall(bytes([IAC, WONT, opt]))
                    elif cmd == WILL:
                        sock.sendall(bytes([IAC, DONT, opt]))
                    i += 3
                    continue
                if cmd == SB:
                    end = data.find(bytes([IAC, SE]), i)
                    i = len(data) if end < 0 else end + 2
                    continue
                i += 2
                continue
            text.append(b)
            i += 1
    return any(m in text for m in markers)


read(10, quiet=0.7)
print("prompt:", repr(bytes(text[-40:])), flush=True)
sock.sendall(b"echo ironward-$((6*7))\r\n")
ok = read(10, [b"ironward-42"])
print("shell answered:", ok, flush=True)
sock.sendall(b"exit\r\n")
read(2)
sock.close()
print(text.decode("latin-1"), flush=True)
