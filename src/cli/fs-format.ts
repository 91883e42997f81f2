import type { EntryView } from '../fs/index.js';
import type { TarEntryType } from '../tar/index.js';
import { TAR_ENTRY_TYPE_CODES, TYPE_LETTERS } from '../tar/index.js';
import { escapeName } from '../tar/name-codec.js';
import { spaces } from './format.js';
import { type ByteSink, LineWriter } from './line-writer.js';

// `ls -l -R` of an image formats tens of thousands of entries that share a handful of
// modes and mtimes: both strings are computed once per distinct value (Date formatting was
// the largest single cost of a long listing).
const modeStrings = new Map<number, string>();
const timeStrings = new Map<number, string>();

/** `drwxr-xr-x`-style mode string, with setuid/setgid/sticky as `ls` shows them. */
export function modeString(type: TarEntryType, mode: number): string {
  const key = TAR_ENTRY_TYPE_CODES[type] * 0x10000 + (mode & 0xffff);
  let text = modeStrings.get(key);
  if (text === undefined) {
    text = formatMode(type, mode);
    modeStrings.set(key, text);
  }
  return text;
}

function formatMode(type: TarEntryType, mode: number): string {
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

/**
 * The type `ls -l` shows: a hardlink is the file it is another name of (`-`, never `h`,
 * which is `tar -tv`'s letter, not a file type).
 */
export function shownType(e: Pick<EntryView, 'type' | 'contentType'>): TarEntryType {
  return e.type === 'hardlink' ? (e.contentType ?? 'file') : e.type;
}

/** The owner column: `uid/gid`. */
function ownerCell(e: EntryView): string {
  return `${e.uid}/${e.gid}`;
}

/** How `ls -l` shows sizes. */
export interface LongFormat {
  /** `ls -h`: 1.5K, 38M, 1.1G (powers of 1024) instead of bytes. */
  human?: boolean;
}

const UNITS = ['K', 'M', 'G', 'T', 'P'];

/**
 * A size as GNU `ls -h` prints it: bytes below 1024, else one decimal below 10 and none
 * from 10, rounded up (a 1025-byte file is 1.1K, never less than it is).
 */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (value >= 1024 && unit < UNITS.length - 1);
  const shown = value < 10 ? Math.ceil(value * 10) / 10 : Math.ceil(value);
  if (shown >= 1024 && unit < UNITS.length - 1) return `1.0${UNITS[unit + 1]}`;
  return `${value < 10 && shown < 10 ? shown.toFixed(1) : String(shown)}${UNITS[unit]}`;
}

/** The size column: bytes (or `ls -h` units), or `major,minor` for devices. */
function sizeCell(e: EntryView, format: LongFormat = {}): string {
  if (isDevice(e)) return `${e.devmajor ?? 0},${e.devminor ?? 0}`;
  return format.human ? humanSize(e.size) : String(e.size);
}

/**
 * The name column: `name`, `name -> target` (symlink) or `name => /target` (hardlink),
 * each name as {@link escapeName} shows it.
 */
function nameCell(e: EntryView, name: string): string {
  const shown = escapeName(name);
  if (!e.linkname) return shown;
  const target = escapeName(e.linkname);
  return e.type === 'hardlink' ? `${shown} => ${target}` : `${shown} -> ${target}`;
}

function isDevice(e: EntryView): boolean {
  const type = shownType(e);
  return type === 'char' || type === 'block';
}

/** One `ls -l` line: mode, links, owner, size, time, the layer, name (→ link target). */
export function longLine(e: EntryView, name: string, format: LongFormat = {}): string[] {
  return [
    modeString(shownType(e), e.mode),
    String(e.nlink),
    ownerCell(e),
    sizeCell(e, format),
    timeString(e.mtime),
    `L${e.layer}`,
    nameCell(e, name),
  ];
}

/** Padding that takes `cell` (of `width` columns) to `width` plus the two-space gap. */
function pad(cell: string, width: number): string {
  return spaces(width - cell.length + 2);
}

/**
 * `ls -l` lines, laid out exactly as `printTable(entries.map(longLine))` would, for
 * listings too long to keep a row per entry: `measure` every entry, then `print` each.
 * Measuring computes each column's width without building its text, and printing builds
 * one string per line, so a recursive listing of an application image makes nothing per
 * entry that outlives the line (see {@link TablePrinter} for why that matters).
 */
export class LongListing {
  private modeWidth = 0;
  private linksWidth = 0;
  private ownerWidth = 0;
  private sizeWidth = 0;
  private timeWidth = 0;
  private layerWidth = 0;
  private readonly writer: LineWriter;

  constructor(
    out: ByteSink = process.stdout,
    private readonly format: LongFormat = {},
  ) {
    this.writer = new LineWriter(out);
  }

  /** First pass: widen the columns to fit `e`. */
  measure(e: EntryView): void {
    const mode = modeString(shownType(e), e.mode).length;
    if (mode > this.modeWidth) this.modeWidth = mode;
    const links = digits(e.nlink);
    if (links > this.linksWidth) this.linksWidth = links;
    const owner = digits(e.uid) + 1 + digits(e.gid);
    if (owner > this.ownerWidth) this.ownerWidth = owner;
    const size = isDevice(e)
      ? digits(e.devmajor ?? 0) + 1 + digits(e.devminor ?? 0)
      : this.format.human
        ? humanSize(e.size).length
        : digits(e.size);
    if (size > this.sizeWidth) this.sizeWidth = size;
    const time = timeString(e.mtime).length;
    if (time > this.timeWidth) this.timeWidth = time;
    const layer = 1 + digits(e.layer);
    if (layer > this.layerWidth) this.layerWidth = layer;
  }

  /** Second pass: print `e` under `name` (after every entry was measured). */
  print(e: EntryView, name: string): void {
    const mode = modeString(shownType(e), e.mode);
    const links = String(e.nlink);
    const owner = ownerCell(e);
    const size = sizeCell(e, this.format);
    const time = timeString(e.mtime);
    const layer = `L${e.layer}`;
    this.writer.line(
      mode +
        pad(mode, this.modeWidth) +
        links +
        pad(links, this.linksWidth) +
        owner +
        pad(owner, this.ownerWidth) +
        size +
        pad(size, this.sizeWidth) +
        time +
        pad(time, this.timeWidth) +
        layer +
        pad(layer, this.layerWidth) +
        nameCell(e, name),
    );
  }

  /** Write what is still gathered. */
  end(): void {
    this.writer.end();
  }
}

/** Characters `String(n)` has, without making the string for the common cases. */
function digits(n: number): number {
  if (Number.isInteger(n) && n >= 0 && n < 1e15) {
    let d = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) d++;
    return d;
  }
  return String(n).length;
}
