import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { UnsupportedError } from '../../errors/index.js';
import { TOC_TYPE_NAMES, type TocJsonEntry, tocXattrs } from '../../lazy/toc-json.js';
import {
  MANIFEST_TYPE_CRFS,
  SKIPPABLE_FRAME_MAGIC,
  ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS,
  ZSTD_CHUNKED_POSITION_ANNOTATIONS,
  ZSTD_CHUNKED_TARSPLIT_POSITION_ANNOTATION,
} from '../../lazy/zstd-chunked/constants.js';
import { zstdChunkedFooter64 } from '../../lazy/zstd-chunked/footer.js';
import { ZstdFrameEncoder } from '../../native/libzstd-encoder.js';
import { parseNumeric } from '../../tar/fields.js';
import { encodeName, readTar, type TarEntry } from '../../tar/index.js';
import { goUnixTime } from '../../util/go-unix-time.js';
import { CountedSink } from '../counted-sink.js';
import { type ChunkOp, ContentChunker } from './content-chunker.js';
import { RawTarBytes } from './raw-tar-bytes.js';
import { Crc64Iso, TarSplitPacker } from './tar-split.js';

/*
 * A zstd:chunked layer as containers/storage writes it (pkg/chunked/compressor and
 * internal/minimal):
 *
 *   [frame: headers][frame: chunk]…[frame: padding + headers]… [frame: end of archive]
 *   [skippable: TOC, zstd-compressed JSON][skippable: tar-split, zstd][skippable: footer]
 *
 * Every byte of the source tar is in the zstd frames, in order, so any zstd reader gets the
 * tar back unchanged (the diff_id stays). Each file's content starts a new frame and is cut
 * into frames at c/storage's chunk boundaries (content-chunker.ts); headers and padding
 * between contents share a frame. The TOC lists every entry with its metadata and, for a
 * regular file, the compressed extents of its content; the tar-split (tar-split.ts) lets
 * c/storage rebuild the exact tar from files it pulled partially. The TOC, tar-split and
 * footer are skippable frames, which zstd readers pass over. Compression runs through the
 * system libzstd (libzstd-encoder.ts), one context reused for every frame.
 */

/** Options of {@link writeZstdChunkedLayer}. */
export interface WriteZstdChunkedOptions {
  /** zstd level 1–19 (default 3, the `zstd` program's). */
  level?: number;
  signal?: AbortSignal;
}

/** What {@link writeZstdChunkedLayer} wrote. */
export interface ZstdChunkedLayerResult {
  /** sha256 digest and size of the compressed layer. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's `diff_ids` entry). */
  diffId: string;
  uncompressedSize: number;
  /** sha256 of the compressed TOC (the manifest-checksum annotation). */
  tocDigest: string;
  /**
   * The layer descriptor's annotations, as containers/storage sets them, plus the TOC's
   * checksum and position under the older names (see the comment where they are set).
   */
  annotations: Record<string, string>;
  /** Entries in the TOC (chunks included). */
  tocEntries: number;
}

/** The header's own mode field (PAX cannot change it), as Go's `Header.Mode` holds it. */
function rawMode(header: Buffer, entry: TarEntry): number {
  if (header.length < 512) return entry.mode;
  const block = header.subarray(header.length - 512);
  try {
    return parseNumeric(block, 100, 8, 'mode', entry.headerOffset);
  } catch {
    return entry.mode;
  }
}

/**
 * The TOC entry c/storage's `minimal.NewFileMetadata` makes of a tar header, its fields in
 * that order. Times come from the PAX records' text where there is one: c/storage checks
 * them against the tar-split's headers to the nanosecond.
 */
function tocEntryOf(entry: TarEntry, mode: number): TocJsonEntry {
  const t: TocJsonEntry = {
    type: TOC_TYPE_NAMES[entry.type],
    name: encodeName(entry.path).toString(),
  };
  if (entry.linkname) t.linkName = encodeName(entry.linkname).toString();
  if (mode) t.mode = mode;
  if (entry.size) t.size = entry.size;
  if (entry.uid) t.uid = entry.uid;
  if (entry.gid) t.gid = entry.gid;
  const text = entry.paxTimes;
  t.modtime = goUnixTime(text?.mtime ?? entry.mtime);
  if (entry.atime !== undefined) t.accesstime = goUnixTime(text?.atime ?? entry.atime);
  if (entry.ctime !== undefined) t.changetime = goUnixTime(text?.ctime ?? entry.ctime);
  if (entry.devmajor) t.devMajor = entry.devmajor;
  if (entry.devminor) t.devMinor = entry.devminor;
  const xattrs = tocXattrs(entry.xattrs);
  if (xattrs) t.xattrs = xattrs;
  return t;
}

/** One chunk of a file's content as written. */
interface WrittenChunk {
  chunkOffset: number;
  offset: number;
  size: number;
  digest: string;
  zeros: boolean;
}

/** Bytes of tar-split JSON gathered before they are handed to its compressor. */
const TAR_SPLIT_BATCH = 256 * 1024;

/** Compressed frames of the layer, written through one reused zstd context. */
class FrameWriter {
  private open = false;

  constructor(
    private readonly encoder: ZstdFrameEncoder,
    readonly out: CountedSink,
  ) {}

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.open = true;
    for (const piece of await this.encoder.write(bytes)) await this.out.write(piece);
  }

  /** End the open frame, if any: the next bytes start a new one at `out.offset`. */
  async cut(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    for (const piece of await this.encoder.end()) await this.out.write(piece);
  }
}

/**
 * Write `tar` (an uncompressed tar stream) to `sink` as a zstd:chunked layer, as
 * containers/storage writes one, and resolve to its digests, size and descriptor
 * annotations. `sink` is not ended. GNU sparse files are refused ({@link UnsupportedError}):
 * their stored bytes are not their content, which a TOC extent must be.
 */
export async function writeZstdChunkedLayer(
  tar: Readable | AsyncIterable<Buffer>,
  sink: Writable,
  options: WriteZstdChunkedOptions = {},
): Promise<ZstdChunkedLayerResult> {
  const { signal } = options;
  const raw = new RawTarBytes(tar);
  const out = new CountedSink(sink);
  const encoder = new ZstdFrameEncoder(options.level ?? 3);
  const splitEncoder = new ZstdFrameEncoder(options.level ?? 3);
  try {
    const frames = new FrameWriter(encoder, out);
    const split = new TarSplitPacker();
    const splitOut: Buffer[] = [];
    const splitHash = createHash('sha256');
    let splitPending = 0;
    let splitSize = 0;
    const flushSplit = async (last: boolean) => {
      const json = split.take();
      splitSize += json.length;
      const pieces = last ? await splitEncoder.end(json) : await splitEncoder.write(json);
      for (const p of pieces) {
        splitHash.update(p);
        splitOut.push(p);
      }
      splitPending = 0;
    };
    const noteSplit = async (bytes: number) => {
      splitPending += bytes;
      if (splitPending >= TAR_SPLIT_BATCH) await flushSplit(false);
    };

    const toc: TocJsonEntry[] = [];
    const names = new Set<string>();
    for await (const record of readTar(raw, { rawNames: true, signal })) {
      const entry = record.entry;
      if (entry.sparse) {
        throw new UnsupportedError(
          `${entry.path} is a GNU sparse file, which zstd:chunked cannot hold: use zstd or gzip`,
        );
      }
      const header = raw.take(entry.dataOffset);
      split.segment(header);
      await frames.write(header);
      const t = tocEntryOf(entry, rawMode(header, entry));
      // c/storage refuses a TOC with two entries for one name ("TOC contains duplicate
      // entries"), so a layer that has them cannot be pulled as zstd:chunked.
      if (names.has(t.name)) {
        throw new UnsupportedError(
          `${entry.path} is in the layer twice, which a zstd:chunked TOC cannot hold (containers/storage refuses it): use zstd or gzip`,
        );
      }
      names.add(t.name);
      toc.push(t);
      if (entry.type !== 'file' || entry.size === 0) {
        // Go's tar reads no content for these (a header-only type, or nothing to read).
        split.file(entry.path, entry.size, entry.size > 0 ? new Crc64Iso().digest() : undefined);
        await noteSplit(header.length);
        continue;
      }
      await frames.cut();
      const crc = new Crc64Iso();
      const whole = createHash('sha256');
      const chunker = new ContentChunker();
      const chunks: WrittenChunk[] = [];
      let chunkHash = createHash('sha256');
      let chunkStart = out.offset;
      let chunkOffset = 0;
      let written = 0;
      const apply = async (ops: ChunkOp[]) => {
        for (const op of ops) {
          if (op.kind === 'bytes') {
            chunkHash.update(op.bytes);
            written += op.bytes.length;
            await frames.write(op.bytes);
            continue;
          }
          await frames.cut();
          chunks.push({
            chunkOffset,
            offset: chunkStart,
            size: written - chunkOffset,
            digest: `sha256:${chunkHash.digest('hex')}`,
            zeros: op.zeros,
          });
          chunkHash = createHash('sha256');
          chunkStart = out.offset;
          chunkOffset = written;
        }
      };
      let read = 0;
      for await (const piece of record.readBody()) {
        crc.update(piece);
        whole.update(piece);
        await apply(chunker.feed(piece));
        read += piece.length;
        raw.skip(entry.dataOffset + read);
      }
      await apply(chunker.finish());
      t.digest = `sha256:${whole.digest('hex')}`;
      t.offset = chunks[0]!.offset;
      t.endOffset = out.offset;
      if (chunks.length > 1) {
        chunks.forEach((c, i) => {
          const target: TocJsonEntry = i === 0 ? t : { type: 'chunk', name: t.name };
          if (i > 0) toc.push(target);
          target.offset = c.offset;
          target.chunkSize = c.size;
          if (i > 0) target.chunkOffset = c.chunkOffset;
          target.chunkDigest = c.digest;
          if (c.zeros) target.chunkType = 'zeros';
        });
      }
      split.file(entry.path, entry.size, crc.digest());
      await noteSplit(header.length);
    }
    // The end-of-archive blocks and whatever follows them, as tar-split records them: what
    // Go's reader read with the marker, then the rest in pieces of at most 1 MiB.
    const padding = (512 - (raw.cursor % 512)) % 512;
    const rest = raw.takeAll();
    const markerEnd = Math.min(rest.length, padding + 1024);
    split.segment(rest.subarray(0, markerEnd));
    for (let at = markerEnd; at < rest.length; at += 1024 * 1024) {
      split.segment(rest.subarray(at, Math.min(rest.length, at + 1024 * 1024)));
    }
    await frames.write(rest);
    await frames.cut();
    await flushSplit(true);

    const tarSplit = Buffer.concat(splitOut);
    const tarSplitDigest = `sha256:${splitHash.digest('hex')}`;
    const json = Buffer.from(JSON.stringify({ version: 1, entries: toc, tarSplitDigest }));
    const tocBytes = Buffer.concat(await encoder.end(json));
    const tocOffset = out.offset + 8;
    await out.write(skippableHeader(tocBytes.length));
    await out.write(tocBytes);
    const splitOffset = tocOffset + tocBytes.length + 8;
    await out.write(skippableHeader(tarSplit.length));
    await out.write(tarSplit);
    const position = {
      offset: tocOffset,
      length: tocBytes.length,
      uncompressedLength: json.length,
      type: MANIFEST_TYPE_CRFS,
    };
    const splitPosition = {
      offset: splitOffset,
      length: tarSplit.length,
      uncompressedLength: splitSize,
    };
    await out.write(zstdChunkedFooter64(position, splitPosition));
    const tocDigest = `sha256:${createHash('sha256').update(tocBytes).digest('hex')}`;
    const positionValue = `${tocOffset}:${tocBytes.length}:${json.length}:${MANIFEST_TYPE_CRFS}`;
    return {
      digest: out.digest(),
      size: out.offset,
      diffId: raw.digest(),
      uncompressedSize: raw.length,
      tocDigest,
      annotations: {
        [ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS[0]]: tocDigest,
        [ZSTD_CHUNKED_POSITION_ANNOTATIONS[0]]: positionValue,
        [ZSTD_CHUNKED_TARSPLIT_POSITION_ANNOTATION]: `${splitOffset}:${tarSplit.length}:${splitSize}`,
        // The same TOC under the names c/storage used before 1.45, which podman 4.3 and
        // skopeo 1.9 (Debian 12) look for: without them they pull the whole layer. Newer
        // readers ignore them (and the layer's own footer points at the TOC as well).
        [ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS[1]]: tocDigest,
        [ZSTD_CHUNKED_POSITION_ANNOTATIONS[1]]: positionValue,
      },
      tocEntries: toc.length,
    };
  } finally {
    encoder.close();
    splitEncoder.close();
  }
}

/** The 8-byte header of a zstd skippable frame holding `length` bytes. */
function skippableHeader(length: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(SKIPPABLE_FRAME_MAGIC, 0);
  out.writeUInt32LE(length, 4);
  return out;
}
