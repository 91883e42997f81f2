#!/usr/bin/env python3
"""container-image-proxy's later Python demo, written from the protocol: like
proxy_demo_layers.py, and it also reads each layer, checks its digest, ends with
POST /quit and requires the proxy to exit 0. Standard library only.

    proxy_demo_quit.py IMAGE
"""

import hashlib
import json
import socket
import subprocess
import sys

from socket_http import SocketConnection  # http.client on the connected socket


ours, theirs = socket.socketpair()
fd = theirs.fileno()
proxy = subprocess.Popen(["container-image-proxy", "--sockfd", str(fd), sys.argv[1]], pass_fds=[fd])
theirs.close()
conn = SocketConnection(ours)
conn.request("GET", "/manifest")
response = conn.getresponse()
print(response.status, response.reason, response.getheader("Manifest-Digest"))
manifest = json.load(response)
for layer in manifest["layers"]:
    conn.request("GET", f"/blobs/{layer['digest']}")
    blob = conn.getresponse()
    digest = "sha256:" + hashlib.sha256(blob.read()).hexdigest()
    if blob.status != 200 or digest != layer["digest"]:
        sys.exit(f"layer {layer['digest']}: status {blob.status}, got {digest}")
    print(layer["digest"], layer["size"])
conn.request("POST", "/quit")
conn.getresponse().read()
code = proxy.wait()
if code != 0:
    sys.exit(f"container-image-proxy exited {code}")
print("quit")
