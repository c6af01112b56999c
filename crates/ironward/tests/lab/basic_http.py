"""An HTTP server for the lab test that protects its pages with Basic authentication (as many
cameras and appliances do): every request without the right credentials gets 401 and
`WWW-Authenticate: Basic`. Runs until killed (or after a timeout).

Usage: basic_http.py ADDRESS PORT SECONDS
"""

import http.server
import sys
import threading
import time

address, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


class Protected(http.server.BaseHTTPRequestHandler):
    server_version = "lab-camera-httpd/1.0"
    sys_version = ""

    def do_GET(self):
        body = b"<html><head><title>Lab camera login</title></head><body>401</body></html>"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="lab camera"')
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


httpd = http.server.HTTPServer((address, port), Protected)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
print("serving", flush=True)
time.sleep(seconds)
