"""A Telnet client for the lab test that fails a login, as a person mistyping a password would:
it refuses every option the server proposes (RFC 854 negotiation), waits for the login prompt,
sends a user name, waits for the password prompt, sends a wrong password and waits for the
server to say the login was incorrect. Python's telnetlib is gone in 3.13, hence raw sockets.

Usage: telnet_login.py ADDRESS PORT USER PASSWORD
"""

import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240

address, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.create_connection((address, port), timeout=10)
text = bytearray()


def read_until(markers, seconds):
    """Reads, answering option negotiation, until one of `markers` appears in the text."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(m in text.lower() for m in markers):
            return True
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
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
    return any(m in text.lower() for m in markers)


ok = read_until([b"login:"], 10)
print("login prompt:", ok, flush=True)
sock.sendall(user.encode() + b"\r\n")
ok = read_until([b"password:"], 10)
print("password prompt:", ok, flush=True)
sock.sendall(password.encode() + b"\r\n")
ok = read_until([b"incorrect", b"failed"], 15)
print("login refused:", ok, flush=True)
sock.close()
print(text.decode("latin-1"), flush=True)
