#!/usr/bin/env python3
"""container-image-proxy's first Python demo, written from the protocol: start the proxy
on one end of a socketpair, GET /manifest over HTTP/1.1 on the other, print the status
and the manifest's layers. Standard library only.

    proxy_demo_layers.py IMAGE
"""

import json
import socket
import subprocess
import sys

from socket_http import SocketConnection  # http.client on the connected socket


ours, theirs = socket.socketpair()
fd = theirs.fileno()
proxy = subprocess.Popen(["container-image-proxy", f"--sockfd={fd}", sys.argv[1]], pass_fds=[fd])
conn = SocketConnection(ours)
conn.request("GET", "/manifest")
response = conn.getresponse()
print(response.status, response.reason)
manifest = json.load(response)
for layer in manifest["layers"]:
    print(layer["digest"], layer["size"])
