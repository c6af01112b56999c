"""A UPnP device for the lab test: an ssdpy SSDP server that answers M-SEARCH requests for its
device type, plus an HTTP server that serves its device description (description.xml beside
this script) at LOCATION. Runs until killed (or after a timeout).

Usage: upnp_device.py ADDRESS HTTP_PORT SECONDS
"""

import http.server
import pathlib
import sys
import threading
import time

from ssdpy import SSDPServer
from ssdpy.protocol import create_notify_payload

address, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
description = (pathlib.Path(__file__).parent / "description.xml").read_bytes()
UUID = "uuid:2f402f80-da50-11e1-9b23-001788770005"
DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"


class Description(http.server.BaseHTTPRequestHandler):
    server_version = "Linux/3.14.0 UPnP/1.0 IpBridge/1.60.0"
    sys_version = ""

    def do_GET(self):
        if self.path != "/description.xml":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", 'text/xml; charset="utf-8"')
        self.send_header("Content-Length", str(len(description)))
        self.end_headers()
        self.wfile.write(description)

    def log_message(self, *args):
        pass


httpd = http.server.HTTPServer((address, port), Description)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
ssdp = SSDPServer(
    f"{UUID}::{DEVICE_TYPE}",
    device_type=DEVICE_TYPE,
    address=address,
    location=f"http://{address}:{port}/description.xml",
    max_age=100,
    extra_fields={"SERVER": "Linux/3.14.0 UPnP/1.0 IpBridge/1.60.0"},
)
threading.Thread(target=ssdp.serve_forever, daemon=True).start()
# Announce once, as devices do when they join a network (the server itself only answers).
ssdp.sock.sendto(
    create_notify_payload(
        host="239.255.255.250:1900",
        nt=DEVICE_TYPE,
        usn=f"{UUID}::{DEVICE_TYPE}",
        location=f"http://{address}:{port}/description.xml",
        max_age=100,
        extra_fields={"SERVER": "Linux/3.14.0 UPnP/1.0 IpBridge/1.60.0"},
    ),
    ("239.255.255.250", 1900),
)
print("serving", flush=True)
time.sleep(seconds)
