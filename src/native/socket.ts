import type { KoffiFunc } from 'koffi';
import { UnsupportedError } from '../errors/index.js';
import { errnoError } from './errno.js';
import { koffi, library } from './koffi.js';

/*
 * Socket and pipe calls for the image proxy's JSON protocol (skopeo's
 * `experimental-image-proxy`): requests come as packets on a SOCK_SEQPACKET socket, and
 * every reply that carries data passes the read end of a pipe as SCM_RIGHTS ancillary
 * data. Node's standard library has none of it: `net.Socket({ fd })` refuses a SEQPACKET
 * fd (ERR_INVALID_FD_TYPE), there is no `sendmsg`, no fd passing and no `pipe()`. The
 * product starts no helper process, so these go to the C library through koffi (see
 * koffi.ts for why koffi rather than an addon of our own).
 *
 * Only the packet socket is handled here; a pipe's write end is handed to `net.Socket`
 * (libuv speaks pipes), so writes are asynchronous and on the event loop. Waiting for the
 * next packet is a blocking `recv` made as an asynchronous koffi call, on a thread of
 * libuv's pool; `shutdown()` of the socket wakes it.
 *
 * Linux values (identical on every Linux architecture Node supports).
 */

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const O_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SCM_RIGHTS = 1;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const F_SETPIPE_SZ = 1031;
const EAGAIN = 11;
const EINTR = 4;

/** Socket types by their `SO_TYPE` value. */
const SOCKET_TYPES: Record<number, string> = { 1: 'stream', 2: 'datagram', 5: 'seqpacket' };

interface Iovec {
  base: Buffer;
  len: number;
}

interface Msghdr {
  name: null;
  namelen: number;
  iov: Iovec;
  iovlen: number;
  control: Buffer | null;
  controllen: number;
  flags: number;
}

type SendmsgCall = (fd: number, msg: Msghdr, flags: number) => number;
type RecvCall = (fd: number, buf: Buffer, len: number, flags: number) => number;

interface SocketCalls {
  socketpair: (domain: number, type: number, protocol: number, out: number[]) => number;
  pipe2: (out: number[], flags: number) => number;
  close: (fd: number) => number;
  shutdown: (fd: number, how: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  setPipeSize: (fd: number, size: number) => number;
  sendmsg: KoffiFunc<SendmsgCall>;
  recv: KoffiFunc<RecvCall>;
  /** Bytes of a `struct cmsghdr` before its data (16 on 64-bit systems). */
  cmsgHeader: number;
  /** Alignment of control messages (`sizeof(size_t)`). */
  cmsgAlign: number;
}

let bound: SocketCalls | undefined;

function calls(): SocketCalls {
  if (bound) return bound;
  if (process.platform !== 'linux') {
    throw new UnsupportedError(
      `the image proxy's packet socket and fd passing are Linux C library calls; not available on ${process.platform}`,
    );
  }
  const ffi = koffi();
  const lib = library(null, 'the C library');
  // Declared once per process: koffi keeps named types in one registry.
  ffi.struct('ocipeek_iovec', { base: 'void *', len: 'size_t' });
  ffi.struct('ocipeek_msghdr', {
    name: 'void *',
    namelen: 'uint32_t',
    iov: 'ocipeek_iovec *',
    iovlen: 'size_t',
    control: 'void *',
    controllen: 'size_t',
    flags: 'int',
  });
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const word = ffi.sizeof('size_t');
  bound = {
    socketpair: lib.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)'),
    pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
    close: lib.func('int close(int fd)'),
    shutdown: lib.func('int shutdown(int fd, int how)'),
    getsockopt: lib.func(
      'int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)',
    ),
    setPipeSize: (fd, size) => fcntl(fd, F_SETPIPE_SZ, 'int', size),
    sendmsg: lib.func('intptr_t sendmsg(int fd, const ocipeek_msghdr *msg, int flags)'),
    recv: lib.func('intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)'),
    cmsgHeader: align(word + 8, word),
    cmsgAlign: word,
  };
  return bound;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** A new pipe, both ends close-on-exec. */
export function createPipe(): { read: number; write: number } {
  const c = calls();
  const fds = [0, 0];
  if (c.pipe2(fds, O_CLOEXEC) !== 0) throw errnoError('pipe2');
  return { read: fds[0]!, write: fds[1]! };
}

/**
 * Grow a pipe's buffer (Linux's default is 64 KiB); resolves to the size the kernel
 * granted. Fails quietly (returns undefined) past `/proc/sys/fs/pipe-max-size`.
 */
export function setPipeSize(fd: number, bytes: number): number | undefined {
  const granted = calls().setPipeSize(fd, bytes);
  return granted > 0 ? granted : undefined;
}

/** A connected pair of SOCK_SEQPACKET Unix sockets, close-on-exec (tests, embedding). */
export function seqpacketPair(): [number, number] {
  const c = calls();
  const fds = [0, 0];
  if (c.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) !== 0) {
    throw errnoError('socketpair');
  }
  return [fds[0]!, fds[1]!];
}

/** Close a file descriptor opened here; errors (EBADF) are ignored. */
export function closeFd(fd: number): void {
  calls().close(fd);
}

/** Shut down both directions of a socket: a `recv` blocked on it returns 0 at once. */
export function shutdownSocket(fd: number): void {
  calls().shutdown(fd, 2);
}

/** What kind of socket `fd` is (`seqpacket`, `stream`, …); throws when it is no socket. */
export function socketType(fd: number): string {
  const c = calls();
  const value = Buffer.alloc(4);
  const len = [4];
  if (c.getsockopt(fd, SOL_SOCKET, SO_TYPE, value, len) !== 0) throw errnoError('getsockopt');
  const type = value.readInt32LE(0);
  return SOCKET_TYPES[type] ?? `type ${type}`;
}

/** SCM_RIGHTS control data carrying `fds`, laid out as `CMSG_SPACE` says. */
function rightsMessage(c: SocketCalls, fds: readonly number[]): Buffer | null {
  if (fds.length === 0) return null;
  const dataLength = 4 * fds.length;
  const control = Buffer.alloc(c.cmsgHeader + align(dataLength, c.cmsgAlign));
  const length = c.cmsgHeader + dataLength;
  if (c.cmsgAlign === 8) control.writeBigUInt64LE(BigInt(length), 0);
  else control.writeUInt32LE(length, 0);
  control.writeInt32LE(SOL_SOCKET, c.cmsgAlign);
  control.writeInt32LE(SCM_RIGHTS, c.cmsgAlign + 4);
  fds.forEach((fd, i) => {
    control.writeInt32LE(fd, c.cmsgHeader + 4 * i);
  });
  return control;
}

function message(c: SocketCalls, data: Buffer, fds: readonly number[]): Msghdr {
  const control = rightsMessage(c, fds);
  return {
    name: null,
    namelen: 0,
    iov: { base: data, len: data.length },
    iovlen: 1,
    control,
    controllen: control?.length ?? 0,
    flags: 0,
  };
}

/**
 * Send one packet (with `fds` as SCM_RIGHTS) without blocking. Resolves `false` when the
 * socket's buffer is full (EAGAIN): then {@link sendPacketWaiting} sends it.
 */
export function trySendPacket(fd: number, data: Buffer, fds: readonly number[]): boolean {
  const c = calls();
  for (;;) {
    const sent = c.sendmsg(fd, message(c, data, fds), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return true;
    const errno = koffi().errno();
    if (errno === EAGAIN) return false;
    if (errno !== EINTR) throw errnoError('sendmsg', undefined, errno);
  }
}

/** Send one packet, waiting on a worker thread until the socket takes it. */
export function sendPacketWaiting(fd: number, data: Buffer, fds: readonly number[]): Promise<void> {
  const c = calls();
  const msg = message(c, data, fds);
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      c.sendmsg.async(fd, msg, MSG_NOSIGNAL, (err: unknown, sent: number) => {
        if (err) reject(err);
        else if (sent >= 0) resolve();
        else {
          const errno = koffi().errno();
          if (errno === EINTR) attempt();
          else reject(errnoError('sendmsg', undefined, errno));
        }
      });
    };
    attempt();
  });
}

/**
 * Wait for the next packet and copy it into `buffer` (a worker thread blocks in `recv`).
 * Resolves to the packet's full length, which is more than `buffer.length` when it was
 * cut (MSG_TRUNC), or 0 at the end of input (the peer closed, or {@link shutdownSocket}).
 */
export function receivePacket(fd: number, buffer: Buffer): Promise<number> {
  const c = calls();
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      c.recv.async(fd, buffer, buffer.length, MSG_TRUNC, (err: unknown, length: number) => {
        if (err) reject(err);
        else if (length >= 0) resolve(Number(length));
        else {
          const errno = koffi().errno();
          if (errno === EINTR) attempt();
          else reject(errnoError('recv', undefined, errno));
        }
      });
    };
    attempt();
  });
}
