import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { decodeName, fsPath } from '../../src/tar/index.js';

/** One path of an unpacked root filesystem, as the layer-rules tests compare them. */
export interface RootfsEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'other';
  /** Permission bits with setuid, setgid and sticky (not for symlinks: Linux has none). */
  mode?: number;
  /** Regular files: size and sha256 of the content. */
  size?: number;
  sha256?: string;
  /** Symlinks: the target as stored. */
  target?: string;
  /** Names of one inode (hardlinks): the first such path in sorted order. */
  inode?: string;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The kind of file an `lstat` result describes. */
export function fileTypeOf(st: Stats): RootfsEntry['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'other';
}

/**
 * Every path under `root` (`/` for the root itself, then `/a`, `/a/b`…), with type, mode,
 * symlink target, size and content digest, and which paths share an inode. Symlinks are
 * never followed; times and owners are left out (rootless unpacks own everything). Names
 * and targets are read as bytes and held as the name codec holds them (`decodeName`).
 */
export function snapshotRootfs(root: string): Map<string, RootfsEntry> {
  const out = new Map<string, RootfsEntry>();
  const inodes = new Map<number, string>();
  const visit = (rel: string) => {
    const abs = fsPath(rel === '/' ? root : path.join(root, rel));
    const st = lstatSync(abs);
    const type = fileTypeOf(st);
    const entry: RootfsEntry = { type };
    if (type !== 'symlink') entry.mode = st.mode & 0o7777;
    if (type === 'file') {
      const data = readFileSync(abs);
      entry.size = data.length;
      entry.sha256 = sha256(data);
    }
    if (type === 'symlink') entry.target = decodeName(readlinkSync(abs, { encoding: 'buffer' }));
    if (type !== 'dir' && st.nlink > 1) {
      const first = inodes.get(st.ino);
      if (first === undefined) inodes.set(st.ino, rel);
      entry.inode = first ?? rel;
    }
    out.set(rel, entry);
    if (type === 'dir') {
      const names = readdirSync(abs, { encoding: 'buffer' }).map((n) => decodeName(n));
      for (const name of names.sort()) visit(rel === '/' ? `/${name}` : `${rel}/${name}`);
    }
  };
  visit('/');
  return out;
}

/**
 * What a container would read at `file` inside `root`: the content of the regular file
 * it resolves to, the kernel's way inside a chroot (symlinks followed, absolute ones from
 * `root`, `..` stopping at `root`, at most 40 links), or `undefined` when it names
 * nothing, a directory, or anything but a regular file. Written against the disk, apart
 * from ocipeek's own lookup, to judge it.
 */
export function readInRoot(root: string, file: string): Buffer | undefined {
  const todo = file.split('/').reverse();
  const names: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      names.pop();
      continue;
    }
    const abs = fsPath(path.join(root, ...names, name));
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(abs);
    } catch {
      return undefined;
    }
    const last = todo.every((s) => s === '' || s === '.');
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = decodeName(readlinkSync(abs, { encoding: 'buffer' }));
      if (target.startsWith('/')) names.length = 0;
      for (const seg of target.split('/').reverse()) todo.push(seg);
      continue;
    }
    if (!last && !st.isDirectory()) return undefined;
    names.push(name);
    if (last) return st.isFile() ? readFileSync(abs) : undefined;
  }
  return undefined;
}
