"""An mDNS/DNS-SD client for the lab test: browses `_ipp._tcp` printers with python-zeroconf
and resolves each one, so that queries and answers cross the lab bridge. Prints the service
names and host names it resolved.

Usage: mdns_browse.py ADDRESS SECONDS
"""

import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

SERVICE = "_ipp._tcp.local."
address, seconds = sys.argv[1], float(sys.argv[2])


class Printers(ServiceListener):
    def __init__(self):
        self.names = []

    def add_service(self, zc, type_, name):
        self.names.append(name)

    def update_service(self, zc, type_, name):
        pass

    def remove_service(self, zc, type_, name):
        pass


zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
try:
    printers = Printers()
    browser = ServiceBrowser(zc, SERVICE, printers)
    deadline = time.monotonic() + seconds
    while not printers.names and time.monotonic() < deadline:
        time.sleep(0.05)
    for name in printers.names:
        info = zc.get_service_info(SERVICE, name, timeout=int(seconds * 1000))
        print(name, info.server if info else None, flush=True)
    browser.cancel()
finally:
    zc.close()
