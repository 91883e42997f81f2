import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import {
  ESTARGZ_TOC_NAME,
  NO_PREFETCH_LANDMARK,
  PREFETCH_LANDMARK,
} from '../lazy/estargz/constants.js';
import { estargzFooter } from '../lazy/estargz/footer.js';
import { TOC_TYPE_NAMES, type TocJsonEntry, tocXattrs } from '../lazy/toc-json.js';
import {
  encodeTarHeader,
  readTar,
  TAR_END,
  type TarEntry,
  type TarHeaderFields,
  TYPE_MODE_BITS,
  tarPadding,
} from '../tar/index.js';
import { CountedSink } from './counted-sink.js';

const gzip = promisify(gzipCallback);

/** Options for {@link writeEstargzLayer}. */
export interface WriteEstargzOptions {
  /** Regular files are split into gzip members of at most this many bytes (default 4 MiB). */
  chunkSize?: number;
  /** gzip level 1–9 (default 6). */
  level?: number;
  signal?: AbortSignal;
}

/** What {@link writeEstargzLayer} wrote. */
export interface EstargzLayerResult {
  /** sha256 digest and size of the compressed layer written. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's `diff_ids` entry). */
  diffId: string;
  /** Size of the uncompressed tar (`io.containers.estargz.uncompressed-size`). */
  uncompressedSize: number;
  /** sha256 of the TOC JSON (`containerd.io/snapshot/stargz/toc.digest`). */
  tocDigest: string;
  /** Entries in the TOC (chunks included). */
  tocEntries: number;
}

/** Gathers tar bytes into the current gzip member and writes members out. */
class Output {
  uncompressed = 0;
  readonly tarHash: Hash = createHash('sha256');
  private readonly out: CountedSink;
  private pending: Buffer[] = [];

  constructor(
    sink: Writable,
    private readonly level: number,
  ) {
    this.out = new CountedSink(sink);
  }

  get offset(): number {
    return this.out.offset;
  }

  /** Uncompressed tar bytes for the current gzip member. */
  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.tarHash.update(bytes);
    this.uncompressed += bytes.length;
    this.pending.push(bytes);
  }

  /** Close the current gzip member (if it holds anything): the next bytes start a new one. */
  async cut(): Promise<void> {
    if (this.pending.length === 0) return;
    const member = await gzip(Buffer.concat(this.pending), { level: this.level });
    this.pending = [];
    await this.out.write(member);
  }

  raw(bytes: Buffer): Promise<void> {
    return this.out.write(bytes);
  }

  digest(): string {
    return this.out.digest();
  }
}

function rfc3339(seconds: number): string {
  const d = new Date(Math.round(seconds * 1000));
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace('.000Z', 'Z');
}

function tocEntryOf(e: TarHeaderFields): TocJsonEntry {
  const t: TocJsonEntry = {
    name: e.type === 'dir' ? `${e.path}/` : e.path,
    type: TOC_TYPE_NAMES[e.type],
    mode: (e.mode & 0o7777) | TYPE_MODE_BITS[e.type],
    uid: e.uid,
    gid: e.gid,
  };
  if (e.type === 'file') t.size = e.size;
  if (e.mtime) t.modtime = rfc3339(e.mtime);
  if (e.linkname !== undefined) t.linkName = e.linkname;
  if (e.uname) t.userName = e.uname;
  if (e.gname) t.groupName = e.gname;
  if (e.type === 'char' || e.type === 'block') {
    t.devMajor = e.devmajor ?? 0;
    t.devMinor = e.devminor ?? 0;
  }
  const xattrs = tocXattrs(e.xattrs);
  if (xattrs) t.xattrs = xattrs;
  return t;
}

const BOOKKEEPING = new Set([ESTARGZ_TOC_NAME, PREFETCH_LANDMARK, NO_PREFETCH_LANDMARK]);

/** Re-chunks a body stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* rechunk(body: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const view of body) {
    let piece = view;
    while (piece.length > 0) {
      const take = Math.min(piece.length, size - have);
      // Copy: the tar reader's views are only valid until it advances.
      parts.push(Buffer.from(piece.subarray(0, take)));
      have += take;
      piece = piece.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

/**
 * Write `tar` (an uncompressed tar stream) to `sink` as an eStargz layer: a
 * `.no.prefetch.landmark` first, then every entry with each regular file's content in its
 * own gzip member(s) of at most `chunkSize` bytes, the TOC `stargz.index.json` as the last
 * entry in its own member, and the 51-byte footer. The result is an ordinary gzip'd tar
 * for any reader. Bookkeeping files of a layer that already was eStargz are dropped and
 * written afresh. `sink` is not ended.
 */
export async function writeEstargzLayer(
  tar: Readable,
  sink: Writable,
  options: WriteEstargzOptions = {},
): Promise<EstargzLayerResult> {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  const out = new Output(sink, options.level ?? 6);
  const toc: TocJsonEntry[] = [];
  const landmark: TarHeaderFields = {
    path: NO_PREFETCH_LANDMARK,
    type: 'file',
    size: 1,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
  };
  const records = async function* () {
    yield { entry: landmark, body: [Buffer.from([0x0f])] as Iterable<Buffer> };
    for await (const record of readTar(tar, { signal: options.signal })) {
      if (BOOKKEEPING.has(record.entry.path)) continue;
      yield { entry: record.entry as TarHeaderFields, body: record.readBody() };
    }
  };
  for await (const { entry, body } of records()) {
    const fields: TarHeaderFields = stripOffsets(entry);
    out.add(encodeTarHeader(fields));
    const t = tocEntryOf(fields);
    toc.push(t);
    if (fields.type !== 'file' || fields.size === 0) continue;
    const whole = createHash('sha256');
    let chunkOffset = 0;
    for await (const chunk of rechunk(body as AsyncIterable<Buffer>, chunkSize)) {
      await out.cut();
      const digest = `sha256:${createHash('sha256').update(chunk).digest('hex')}`;
      whole.update(chunk);
      const last = chunkOffset + chunk.length >= fields.size;
      const target: TocJsonEntry =
        chunkOffset === 0 ? t : { name: t.name, type: 'chunk', chunkOffset };
      target.offset = out.offset;
      // The spec: the last chunk (or an unchunked file) records chunkSize 0.
      if (!last || chunkOffset > 0) target.chunkSize = last ? 0 : chunk.length;
      target.chunkDigest = digest;
      if (target !== t) toc.push(target);
      out.add(chunk);
      await out.cut();
      chunkOffset += chunk.length;
    }
    t.digest = `sha256:${whole.digest('hex')}`;
    out.add(tarPadding(fields.size));
  }
  await out.cut();
  const tocOffset = out.offset;
  const json = Buffer.from(JSON.stringify({ version: 1, entries: toc }));
  const tocHeader = encodeTarHeader({
    path: ESTARGZ_TOC_NAME,
    type: 'file',
    size: json.length,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
  });
  out.add(tocHeader);
  out.add(json);
  out.add(tarPadding(json.length));
  out.add(TAR_END);
  await out.cut();
  await out.raw(estargzFooter(tocOffset));
  return {
    digest: out.digest(),
    size: out.offset,
    diffId: `sha256:${out.tarHash.digest('hex')}`,
    uncompressedSize: out.uncompressed,
    tocDigest: `sha256:${createHash('sha256').update(json).digest('hex')}`,
    tocEntries: toc.length,
  };
}

function stripOffsets(entry: TarHeaderFields | TarEntry): TarHeaderFields {
  const { headerOffset: _h, dataOffset: _d, ...rest } = entry as TarEntry;
  return rest;
}
