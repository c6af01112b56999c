"""Reference TLS client fingerprints for the lab test, independent of Ironward: tshark decodes
every ClientHello of a capture and gives its JA3; JA4 (FoxIO's JA4 specification, TLS over
TCP) is computed here from the fields tshark decoded.

Prints one line per ClientHello: source address, JA3, JA4 (tab-separated).

Usage: tls_fingerprints.py CAPTURE
"""

import hashlib
import subprocess
import sys

FIELDS = [
    "ip.src",
    "tls.handshake.ja3",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.extensions_server_name",
    "tls.handshake.version",
]
# Signature algorithms of extension 13. ClientHellos that also carry extension 50
# (signature_algorithms_cert) get "-" as JA4: tshark shows both lists under this one field.
SIGNATURE_FIELD = "tls.handshake.sig_hash_alg"


def grease(value):
    return value & 0x0F0F == 0x0A0A and (value >> 8) == (value & 0xFF)


def number(text):
    return int(text, 16) if text.startswith("0x") else int(text)


def tshark(capture, fields):
    command = ["tshark", "-r", capture, "-Y", "tls.handshake.type == 1", "-T", "fields"]
    command += ["-E", "occurrence=a", "-E", "aggregator=;", "-E", "separator=\t"]
    for field in fields:
        command += ["-e", field]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def values(text):
    return [number(v) for v in text.split(";") if v]


def ja4(row, signatures):
    _, _, ciphers, extensions, versions, alpn, sni, version = row
    ciphers = [c for c in values(ciphers) if not grease(c)]
    extensions = [e for e in values(extensions) if not grease(e)]
    versions = [v for v in values(versions) if not grease(v)] or values(version)
    names = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}
    first_alpn = alpn.split(";")[0] if alpn else ""
    a = "t{}{}{:02d}{:02d}{}".format(
        names.get(max(versions), "00"),
        "d" if sni else "i",
        min(len(ciphers), 99),
        min(len(extensions), 99),
        first_alpn[0] + first_alpn[-1] if first_alpn else "00",
    )
    b = ",".join(sorted("%04x" % c for c in ciphers))
    c = ",".join(sorted("%04x" % e for e in extensions if e not in (0x0000, 0x0010)))
    if signatures:
        c += "_" + ",".join("%04x" % s for s in signatures)

    def digest(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "0" * 12

    return f"{a}_{digest(b)}_{digest(c)}"


capture = sys.argv[1]
rows = tshark(capture, FIELDS)
signature_rows = tshark(capture, [SIGNATURE_FIELD])
for row, signature_row in zip(rows, signature_rows):
    row += [""] * (len(FIELDS) - len(row))
    if 50 in values(row[3]):
        # tshark shows extension 50's algorithms under the same field as extension 13's.
        print(row[0], row[1], "-", sep="\t")
        continue
    print(row[0], row[1], ja4(row, values(signature_row[0])), sep="\t")
