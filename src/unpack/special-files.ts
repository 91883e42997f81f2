import { chmodSync } from 'node:fs';
import { UnsupportedError } from '../errors/index.js';
import { lsetxattr, mkfifo, mknod, type NativePath } from '../native/libc.js';

/*
 * Node has no mknod, mkfifo or setxattr: they are C library calls made in process (see
 * native/libc.ts). Paths handed over are inside the unpack root, their parents are real
 * directories unpack created, and the last component does not exist (mkfifo and mknod fail
 * with EEXIST on anything there, symlinks included).
 */

/**
 * Give a new fifo or device exactly `mode` (as `mkfifo -m` / `mknod -m` did): the calls
 * apply the umask, and the umask is process-wide, so it cannot be lifted around them
 * while the writer thread creates files.
 */
function exactMode(abs: NativePath, mode: number): void {
  chmodSync(abs, mode & 0o7777);
}

/** Create a fifo with exactly `mode` (no umask). */
export function makeFifo(abs: NativePath, mode: number): void {
  mkfifo(abs, mode);
  exactMode(abs, mode);
}

/** Create a character or block device with exactly `mode` (root only). */
export function makeDevice(
  abs: NativePath,
  type: 'char' | 'block',
  mode: number,
  major: number,
  minor: number,
): void {
  mknod(abs, type, mode, major, minor);
  exactMode(abs, mode);
}

/** One extended attribute to set (value as a latin1 string of raw bytes). */
export interface XattrItem {
  abs: NativePath;
  name: string;
  value: string;
}

/**
 * Set extended attributes without following symlinks. Returns one message per attribute
 * that could not be set, naming path, attribute and errno (or one for all of them when the
 * calls are not available on this platform); never throws for a failed attribute.
 */
export function setXattrs(items: readonly XattrItem[]): string[] {
  const messages: string[] = [];
  for (const [i, item] of items.entries()) {
    try {
      lsetxattr(item.abs, item.name, Buffer.from(item.value, 'latin1'));
    } catch (err) {
      if (err instanceof UnsupportedError) {
        messages.push(`${items.length - i} xattrs not set: ${err.message}`);
        break;
      }
      const e = err as NodeJS.ErrnoException;
      const at = e.message.indexOf(`, ${e.syscall} '`);
      const reason = at > 0 ? e.message.slice(0, at) : e.message;
      messages.push(`${String(item.abs)}: xattr ${item.name} not set: ${reason}`);
    }
  }
  return messages;
}
