"""An mDNS client for the lab test: asks for `_ipp._tcp` printers (python-zeroconf) and prints
what it resolved, so that queries and answers cross the lab bridge.

Usage: mdns_browse.py ADDRESS SECONDS
"""

import sys

from zeroconf import IPVersion, Zeroconf

address, seconds = sys.argv[1], float(sys.argv[2])
zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
try:
    names = []
    from zeroconf import ServiceBrowser

    class Listener:
        def add_service(self, zc, type_, name):
            names.append(name)

        def update_service(self, zc, type_, name):
            pass

        def remove_service(self, zc, type_, name):
            pass

    browser = ServiceBrowser(zc, "_ipp._tcp.local.", Listener())
    import time

    deadline = time.monotonic() + seconds
    while not names and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in names:
        info = zc.get_service_info("_ipp._tcp.local.", name, timeout=int(seconds * 1000))
        print(name, info.server if info else None, flush=True)
    browser.cancel()
finally:
    zc.close()
