"""An SSDP control point for the lab test: sends M-SEARCH (ssdpy client) and prints the
LOCATION of every answer, which the test then fetches with curl.

Usage: ssdp_search.py ADDRESS SEARCH_TARGET
"""

import sys

from ssdpy import SSDPClient

address, target = sys.argv[1], sys.argv[2]
client = SSDPClient(address=address, timeout=2)
for answer in client.m_search(st=target, mx=1):
    location = answer.get("location")
    if location:
        print(location, flush=True)
