/** The kinds of filesystem object a tar entry can describe. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * Every entry type, each at its small-integer code: compact structures (the merged tree's
 * nodes, the terminal browser's trees, the long listing's mode cache) store a type as its
 * index here and read it back with `TAR_ENTRY_TYPES[code]`.
 */
export const TAR_ENTRY_TYPES: readonly TarEntryType[] = [
  'file',
  'dir',
  'symlink',
  'hardlink',
  'char',
  'block',
  'fifo',
];

/** The code of each entry type: its index in {@link TAR_ENTRY_TYPES}. */
export const TAR_ENTRY_TYPE_CODES: Readonly<Record<TarEntryType, number>> = Object.fromEntries(
  TAR_ENTRY_TYPES.map((type, code) => [type, code]),
) as Record<TarEntryType, number>;

/** One letter per entry type, as `ls -l` shows it (`h` for a hardlink entry). */
export const TYPE_LETTERS: Readonly<Record<TarEntryType, string>> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  hardlink: 'h',
  char: 'c',
  block: 'b',
  fifo: 'p',
};

/** `stat` file-type bits for an entry type (what Go's archive/tar puts in `Mode`). */
export const TYPE_MODE_BITS: Readonly<Record<TarEntryType, number>> = {
  file: 0o100000,
  hardlink: 0o100000,
  symlink: 0o120000,
  char: 0o20000,
  block: 0o60000,
  dir: 0o40000,
  fifo: 0o10000,
};

/** One member of a tar archive, with every extension header already applied. */
export interface TarEntry {
  /**
   * Normalised: no leading `./` or `/`, no trailing slash, no empty or `.` segments; `''`
   * is the root. `..` segments are kept (callers confine them). Names are bytes: a byte
   * that is not part of valid UTF-8 appears as the code point U+DC80 + (byte - 0x80)
   * (`name-codec.ts`, Python's "surrogateescape"), so every name is kept exactly.
   */
  path: string;
  type: TarEntryType;
  /** Content size in bytes (for a sparse file: its real size, not the stored bytes). */
  size: number;
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`), not the file type. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Modification time in seconds since the epoch; fractional when a PAX record says so. */
  mtime: number;
  /**
   * Access time in seconds since the epoch, when the archive records it (a PAX `atime`
   * record, as GNU tar's posix format writes; a GNU header's field).
   */
  atime?: number;
  /** Change time, as {@link TarEntry.atime} (PAX `ctime`, a GNU header's field). */
  ctime?: number;
  /**
   * The PAX `mtime`, `atime` and `ctime` records as written (decimal seconds), for writers
   * that must repeat them to the nanosecond, which the numbers above cannot always hold.
   */
  paxTimes?: Partial<Record<'mtime' | 'atime' | 'ctime', string>>;
  /**
   * Symlink target as written; hardlink target normalised like {@link TarEntry.path}. Bytes
   * that are not UTF-8 are escaped as in `path`.
   */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /**
   * Extended attributes from PAX `SCHILY.xattr.*` (or `LIBARCHIVE.xattr.*`) records. Values
   * hold the raw bytes as a latin1 string (like Go's archive/tar): `Buffer.from(v, 'latin1')`
   * gives them back exactly, and ASCII values read as themselves.
   */
  xattrs?: Record<string, string>;
  /** Set for GNU sparse files: the body is the stored (sparse) data, not the plain content. */
  sparse?: true;
  /** Offset in the uncompressed tar of the entry's first header block (PAX/GNU ones included). */
  headerOffset: number;
  /** Offset in the uncompressed tar of the first content byte. */
  dataOffset: number;
}

/** An entry as {@link readTar} yields it, with a way to stream its content. */
export interface TarRecord {
  readonly entry: TarEntry;
  /**
   * The entry's content, streamed as views into the source chunks (no copying). Valid only
   * until the iteration advances; content left unread is skipped then at no copy cost.
   * Calling it twice continues where the first reader stopped.
   */
  readBody(): AsyncIterable<Buffer>;
  /**
   * The rest of the content at once when it is already in memory (small files usually
   * are), else `undefined` (then use {@link TarRecord.readBody}). A view, valid as
   * `readBody`'s chunks are. Optional: other implementations may always stream.
   */
  bufferedBody?(): Buffer | undefined;
}

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  /** Largest PAX or GNU long-name/long-link body accepted (default 16 MiB). */
  maxMetaSize?: number;
  /**
   * Read the source to its end after the end-of-archive marker (default true), so that a
   * verifying stream upstream sees every byte and can report a digest mismatch.
   */
  drain?: boolean;
  /**
   * Accept a source that ends at a block boundary without the end-of-archive marker
   * (default false: reported as truncated). An empty source is always an empty archive.
   */
  allowMissingEnd?: boolean;
  /**
   * Keep `path` and a hardlink's `linkname` exactly as the archive spells them (default
   * false: normalised, see {@link TarEntry.path}), for callers that must refuse absolute
   * or climbing names instead of having them confined.
   */
  rawNames?: boolean;
  signal?: AbortSignal;
}
