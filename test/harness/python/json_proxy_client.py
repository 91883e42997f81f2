#!/usr/bin/env python3
"""A client of skopeo's experimental-image-proxy protocol, for the tests (stdlib only).

It plays a script of requests against a proxy and prints a JSON transcript of what came
back: every reply, the bytes read from every pipe (length, sha256, and the text when
short), exit codes. The tests run the same script against skopeo and against ocipeek and
compare the transcripts.

    json_proxy_client.py SCRIPT.json [--pass-fd] [-- COMMAND ARG...]

With COMMAND, it makes a SOCK_SEQPACKET socketpair and starts COMMAND with one end as its
stdin (what containers-image-proxy-rs does) or, with --pass-fd, as an extra fd whose
number replaces "{fd}" in COMMAND. Without COMMAND, the socket is this process's stdin.

Script steps (JSON list):
  {"call": M, "args": [...], "as": NAME, "pipe": P, "finish": true}
      one request; args may hold {"$": NAME}, the value of an earlier reply. A pipe is read
      while FinishPipe waits, as containers-image-proxy-rs does; P = {"read": N,
      "close": true} reads N bytes, closes the read end, then sends FinishPipe.
  {"raw": TEXT} / {"raw_size": N}       a packet as given / N bytes of a long request
  {"call": ..., "hold": NAME}           keep the pipe unread and unfinished; its pipeid
      is the value of NAME, and a pipeline step reads it
  {"pipeline": [CALL, ...], "wait_file": PATH, "read_held": [NAME, ...]}
      send every request before reading any reply; once PATH exists (when given), drain
      the held pipes, read the replies, then read all new pipes at once and finish them
      all, pipelined too.
  {"peak_rss": true}                    the child's peak RSS (VmHWM, kB)
  {"shutdown": true} / {"eof": true}    Shutdown, or close the socket; then the exit code
"""

import array
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

MAX = 32 * 1024


def recv_reply(sock):
    fds = array.array("i")
    data, ancdata, _flags, _addr = sock.recvmsg(MAX, socket.CMSG_SPACE(8 * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    if not data:
        return None, []
    return json.loads(data), list(fds)


def describe(data):
    out = {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if len(data) <= 65536:
        try:
            out["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            out["hex"] = data[:64].hex()
    return out


class PipeReader(threading.Thread):
    """Reads a pipe to its end (or `limit` bytes, then closes it) on its own thread."""

    def __init__(self, fd, limit=None):
        super().__init__(daemon=True)
        self.fd, self.limit, self.data = fd, limit, b""

    def run(self):
        chunks, total = [], 0
        digest = hashlib.sha256()
        while self.limit is None or total < self.limit:
            want = 1 << 20 if self.limit is None else min(1 << 20, self.limit - total)
            chunk = os.read(self.fd, want)
            if not chunk:
                break
            total += len(chunk)
            digest.update(chunk)
            if total <= 65536:
                chunks.append(chunk)
        os.close(self.fd)
        self.total, self.digest = total, digest.hexdigest()
        self.data = b"".join(chunks) if total <= 65536 else None

    def result(self):
        self.join(timeout=300)
        if self.data is not None:
            return describe(self.data)
        return {"len": self.total, "sha256": self.digest}


class Client:
    def __init__(self, sock, child):
        self.sock, self.child, self.values, self.held = sock, child, {}, {}

    def resolve(self, value):
        if isinstance(value, dict) and set(value) == {"$"}:
            return self.values[value["$"]]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def send(self, method, args):
        self.sock.send(json.dumps({"method": method, "args": self.resolve(args)}).encode())

    def record_reply(self, step, reply, fds):
        if "as" in step and reply is not None:
            self.values[step["as"]] = reply.get("value")
        return {"reply": reply, "fds": len(fds)}

    def finish(self, pipeid):
        self.send("FinishPipe", [pipeid])
        reply, _ = recv_reply(self.sock)
        return reply

    def call(self, step):
        self.send(step["call"], step.get("args", []))
        reply, fds = recv_reply(self.sock)
        entry = self.record_reply(step, reply, fds)
        if len(fds) == 2:  # GetRawBlob: data and error pipes, no FinishPipe
            readers = [PipeReader(fd) for fd in fds]
            for r in readers:
                r.start()
            entry["data"], entry["errors"] = [r.result() for r in readers]
        elif fds and "hold" in step:
            self.held[step["hold"]] = fds[0]
            self.values[step["hold"]] = reply["pipeid"]
        elif fds:
            pipe = step.get("pipe", {})
            reader = PipeReader(fds[0], pipe.get("read"))
            reader.start()
            if pipe.get("close"):
                entry["data"] = reader.result()
                entry["finish"] = self.finish(reply["pipeid"])
            elif step.get("finish", True):
                entry["finish"] = self.finish(reply["pipeid"])
                entry["data"] = reader.result()
            else:
                entry["data"] = reader.result()
        return entry

    def pipeline(self, step):
        for call in step["pipeline"]:
            self.send(call["call"], call.get("args", []))
        if step.get("wait_file"):
            deadline = time.time() + 120
            while not os.path.exists(step["wait_file"]) and time.time() < deadline:
                time.sleep(0.05)
        held = [PipeReader(self.held.pop(name)) for name in step.get("read_held", [])]
        for reader in held:
            reader.start()
        replies = [recv_reply(self.sock) for _ in step["pipeline"]]
        readers, entries = [], []
        for call, (reply, fds) in zip(step["pipeline"], replies):
            entries.append(self.record_reply(call, reply, fds))
            reader = PipeReader(fds[0]) if fds else None
            if reader:
                reader.start()
            readers.append((reply, reader))
        pending = [reply["pipeid"] for reply, reader in readers if reader]
        for pipeid in pending:
            self.send("FinishPipe", [pipeid])
        finishes = [recv_reply(self.sock)[0] for _ in pending]
        for entry, (reply, reader) in zip(entries, readers):
            if reader:
                entry["data"] = reader.result()
                entry["finish"] = finishes.pop(0)
        return {"pipeline": entries, "held": [reader.result() for reader in held]}

    def wait_exit(self):
        if not self.child:
            return None
        try:
            return self.child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.child.kill()
            return "timeout"

    def run(self, script):
        out = []
        for step in script:
            if "call" in step:
                out.append(self.call(step))
            elif "raw" in step or "raw_size" in step:
                raw = step["raw"].encode() if "raw" in step else b" " * step["raw_size"]
                self.sock.send(raw)
                reply, fds = recv_reply(self.sock)
                out.append({"reply": reply, "fds": len(fds)})
            elif "pipeline" in step:
                out.append(self.pipeline(step))
            elif "peak_rss" in step:
                with open(f"/proc/{self.child.pid}/status") as status:
                    line = next(l for l in status if l.startswith("VmHWM:"))
                out.append({"peak_rss_kb": int(line.split()[1])})
            elif "shutdown" in step:
                self.send("Shutdown", [])
                self.sock.settimeout(60)
                leftover, _ = recv_reply(self.sock)
                out.append({"shutdown": self.wait_exit(), "after": leftover})
            elif "eof" in step:
                self.sock.close()
                out.append({"eof": self.wait_exit()})
        return out


def main():
    argv = sys.argv[1:]
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    options = argv[: argv.index("--")] if "--" in argv else argv
    script = json.load(open(options[0]))
    child = None
    if command:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if "--pass-fd" not in options:
            child = subprocess.Popen(command, stdin=theirs, stdout=subprocess.DEVNULL)
        else:
            fd = theirs.fileno()
            child = subprocess.Popen(
                [a.replace("{fd}", str(fd)) for a in command],
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        theirs.close()
    else:
        mine = socket.socket(fileno=0)
    mine.settimeout(300)
    transcript = Client(mine, child).run(script)
    if child and child.poll() is None:
        child.kill()
        child.wait()
    json.dump(transcript, sys.stdout)


if __name__ == "__main__":
    main()
