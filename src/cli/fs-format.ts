import type { EntryView, FsEntry } from '../fs/index.js';
import { TYPE_LETTERS } from '../tar/index.js';

// `ls -l -R` of an image formats tens of thousands of entries that share a handful of
// modes and mtimes: both strings are computed once per distinct value (Date formatting was
// the largest single cost of a long listing).
const modeStrings = new Map<string, string>();
const timeStrings = new Map<number, string>();

/** `drwxr-xr-x`-style mode string, with setuid/setgid/sticky as `ls` shows them. */
export function modeString(type: FsEntry['type'], mode: number): string {
  const key = TYPE_LETTERS[type] + mode;
  let text = modeStrings.get(key);
  if (text === undefined) {
    text = formatMode(type, mode);
    modeStrings.set(key, text);
  }
  return text;
}

function formatMode(type: FsEntry['type'], mode: number): string {
  const bit = (mask: number, ch: string) => (mode & mask ? ch : '-');
  const special = (exec: number, flag: number, on: string, off: string) =>
    mode & flag ? (mode & exec ? on : off) : mode & exec ? 'x' : '-';
  return (
    TYPE_LETTERS[type] +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S') +
    bit(0o40, 'r') +
    bit(0o20, 'w') +
    special(0o10, 0o2000, 's', 'S') +
    bit(0o4, 'r') +
    bit(0o2, 'w') +
    special(0o1, 0o1000, 't', 'T')
  );
}

/** `2024-05-01 12:00` in UTC. */
export function timeString(mtime: number): string {
  let text = timeStrings.get(mtime);
  if (text === undefined) {
    text = new Date(mtime * 1000).toISOString().slice(0, 16).replace('T', ' ');
    timeStrings.set(mtime, text);
  }
  return text;
}

/** One `ls -l` line: mode, owner, size, time, name (→ link target), and the layer. */
export function longLine(e: EntryView, name: string): string[] {
  const link = e.linkname
    ? e.type === 'hardlink'
      ? ` => ${e.linkname}`
      : ` -> ${e.linkname}`
    : '';
  const size =
    e.type === 'char' || e.type === 'block'
      ? `${e.devmajor ?? 0},${e.devminor ?? 0}`
      : String(e.size);
  return [
    modeString(e.type, e.mode),
    `${e.uid}/${e.gid}`,
    size,
    timeString(e.mtime),
    `L${e.layer}`,
    `${name}${link}`,
  ];
}
