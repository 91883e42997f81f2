#!/usr/bin/env python3
"""Bench client of container-image-proxy's HTTP protocol: start PROXY_CMD... with a
socketpair end as --sockfd, GET /blobs/DIGEST, hash it as it arrives, POST /quit, and
print the blob's length and sha256 (standard library only).

    proxy-http-blob.py IMAGE DIGEST PROXY_CMD...
"""

import hashlib
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../test/harness/python"))
from socket_http import SocketConnection  # noqa: E402


image, digest, command = sys.argv[1], sys.argv[2], sys.argv[3:]
ours, theirs = socket.socketpair()
fd = theirs.fileno()
proxy = subprocess.Popen([*command, f"--sockfd={fd}", image], pass_fds=[fd])
theirs.close()
conn = SocketConnection(ours)
conn.request("GET", f"/blobs/{digest}")
response = conn.getresponse()
hasher, total = hashlib.sha256(), 0
while chunk := response.read(1 << 20):
    total += len(chunk)
    hasher.update(chunk)
conn.request("POST", "/quit")
conn.getresponse().read()
if response.status != 200 or proxy.wait() != 0:
    sys.exit(f"status {response.status}, proxy exit {proxy.returncode}")
print(total, "sha256:" + hasher.hexdigest())
