import { InvalidArgumentError, UnsupportedError } from '../errors/index.js';
import { errnoError, type NativePath } from './errno.js';
import { library } from './koffi.js';

/*
 * The few C library calls Node does not offer (`lsetxattr`, `mknod`, `mkfifo`), made in
 * process through koffi (see koffi.ts for why koffi). Linux only: the xattr calls and the
 * device number layout are Linux's. A failed call throws an error shaped like Node's own
 * fs errors (`code`, `errno`, `syscall`, `path`, message `EPERM: Operation not permitted,
 * mknod '/x'`), so callers handle it as they handle any fs error.
 */

export type { NativePath } from './errno.js';

interface LibcCalls {
  lsetxattr(path: Buffer, name: Buffer, value: Buffer, size: number, flags: number): number;
  mkfifo(path: Buffer, mode: number): number;
  mknod(path: Buffer, mode: number, dev: bigint): number;
}

let calls: LibcCalls | undefined;

/**
 * Bind the calls once. `mknod` is a real symbol since glibc 2.33 (and in musl); older glibc
 * exports only `__xmknod(version, path, mode, &dev)`, whose version is 0 on x86-64 and
 * arm64 (`_MKNOD_VER_LINUX`), the only architectures it is tried on.
 */
export function bindLibc(useXmknod = false): LibcCalls {
  if (process.platform !== 'linux') {
    throw new UnsupportedError(
      `xattrs, device nodes and fifos are made through Linux C library calls; not available on ${process.platform}`,
    );
  }
  const lib = library(null, 'the C library');
  const bind = (definition: string) => lib.func(definition);
  const lsetxattr = bind(
    'int lsetxattr(const void *path, const void *name, const void *value, size_t size, int flags)',
  );
  const mkfifo = bind('int mkfifo(const void *path, uint32_t mode)');
  let mknod: LibcCalls['mknod'];
  try {
    if (useXmknod) throw new Error('__xmknod asked for');
    const call = bind('int mknod(const void *path, uint32_t mode, uint64_t dev)');
    mknod = (path, mode, dev) => call(path, mode, dev);
  } catch (err) {
    if (process.arch !== 'x64' && process.arch !== 'arm64') throw err;
    const call = bind(
      'int __xmknod(int ver, const void *path, uint32_t mode, const uint64_t *dev)',
    );
    mknod = (path, mode, dev) => call(0, path, mode, new BigUint64Array([dev]));
  }
  return { lsetxattr, mkfifo, mknod };
}

function libc(): LibcCalls {
  calls ??= bindLibc();
  return calls;
}

/** `text` (a path or an attribute name) as a NUL-terminated C string. */
function cString(text: NativePath): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (bytes.includes(0)) {
    throw new InvalidArgumentError(
      `${JSON.stringify(bytes.toString())} holds a NUL byte, which a C library call cannot take`,
    );
  }
  const out = Buffer.allocUnsafe(bytes.length + 1);
  bytes.copy(out);
  out[bytes.length] = 0;
  return out;
}

/** Set extended attribute `name` of `path` itself: a symlink's own, never its target's. */
export function lsetxattr(path: NativePath, name: string, value: Buffer): void {
  const c = libc();
  if (c.lsetxattr(cString(path), cString(name), value, value.length, 0) !== 0) {
    throw errnoError('lsetxattr', path);
  }
}

/** Create a fifo (`mode`'s permission bits, less the umask). */
export function mkfifo(path: NativePath, mode: number): void {
  const c = libc();
  if (c.mkfifo(cString(path), mode & 0o7777) !== 0) throw errnoError('mkfifo', path);
}

/** S_IFCHR and S_IFBLK, the file type bits `mknod` takes in its mode. */
const DEVICE_TYPE = { char: 0o020000, block: 0o060000 } as const;

/**
 * Linux's `dev_t` from a major and minor number (glibc's and musl's `makedev`): the low 8
 * bits of the minor, then 12 bits of the major, then the rest of the minor and the major.
 */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return (
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn)
  );
}

/** Create a character or block device (root only; permission bits less the umask). */
export function mknod(
  path: NativePath,
  type: 'char' | 'block',
  mode: number,
  major: number,
  minor: number,
): void {
  const c = libc();
  const result = c.mknod(cString(path), DEVICE_TYPE[type] | (mode & 0o7777), makedev(major, minor));
  if (result !== 0) throw errnoError('mknod', path);
}
