"""An mDNS/DNS-SD printer for the lab test: python-zeroconf announces an IPP service whose TXT
record names an HP LaserJet M507, then answers queries until it is killed (or after a timeout).

Usage: mdns_printer.py ADDRESS HOSTNAME SECONDS
"""

import socket
import sys
import time

from zeroconf import IPVersion, ServiceInfo, Zeroconf

address, hostname, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
info = ServiceInfo(
    "_ipp._tcp.local.",
    "HP LaserJet M507 [77A0B4]._ipp._tcp.local.",
    addresses=[socket.inet_aton(address)],
    port=631,
    properties={
        "txtvers": "1",
        "ty": "HP LaserJet M507",
        "usb_MFG": "HP",
        "usb_MDL": "LaserJet M507",
        "product": "(HP LaserJet M507)",
        "rp": "ipp/print",
        "note": "Lab room 2",
        "pdl": "application/pdf,image/urf",
    },
    server=f"{hostname}.local.",
)
zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
zc.register_service(info)
print("registered", flush=True)
try:
    time.sleep(seconds)
finally:
    zc.unregister_service(info)
    zc.close()
