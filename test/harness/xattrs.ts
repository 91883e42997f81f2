import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/*
 * Reading extended attributes for tests: Node has no getxattr, and `getfattr` (Debian's
 * attr package) is not a test peer, so `lgetxattr` is called through koffi directly (not
 * through the code under test, whose setter it checks).
 */

const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
const libc = koffi.load(null);
const lgetxattr = libc.func(
  'intptr_t lgetxattr(const void *path, const char *name, void *value, size_t size)',
);

/** The value of xattr `name` of `path` itself (a symlink's own), or null when it has none. */
export function readXattr(path: string | Buffer, name: string): Buffer | null {
  const value = Buffer.alloc(64 * 1024);
  const p = Buffer.concat([typeof path === 'string' ? Buffer.from(path) : path, Buffer.alloc(1)]);
  const n = Number(lgetxattr(p, name, value, value.length));
  return n < 0 ? null : value.subarray(0, n);
}
