import { createHash } from 'node:crypto';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { LazyLayerError } from '../../errors/index.js';
import type { TarEntry } from '../../tar/index.js';
import { decodeEntries, encodeEntries } from './seek-index-entries.js';

/*
 * The format, and why it is not SOCI's.
 *
 * SOCI (awslabs/soci-snapshotter) publishes, per gzip layer, a zTOC: a FlatBuffers table of
 * the tar entries plus zran's checkpoints, each with its 32 KiB window stored raw, and the
 * sha256 of each span's compressed bytes. `ocipeek index --format soci` writes exactly that
 * (`lazy/soci/`), from the same pass. It is not this project's own format because of what
 * a read costs: a zTOC's only digests cover whole spans (4 MiB of output by default), so
 * reading one small file fetches and inflates its whole span before any byte can be
 * checked, and every window is in the one blob a listing must fetch (32 KiB per span).
 * Here a listing fetches no window, and a small file costs the distance from its
 * checkpoint to the 32 KiB piece that holds its end, each piece checked by its own digest
 * before a byte of it is handed out.
 *
 * Version 2: two blobs per layer, so that a listing fetches no window and a file read
 * fetches one window, not all of them.
 *
 * The table ({@link SEEK_INDEX_TABLE_MEDIA_TYPE}, gzip-compressed JSON, fetched whole and
 * checked against its descriptor):
 *
 *   version      2
 *   layer        { digest, size }: the gzip layer blob it describes (trusted only if equal)
 *   span         the largest checkpoint spacing asked for in uncompressed bytes
 *   compressedSpan  the same in compressed bytes (a checkpoint is taken at the first
 *                block boundary past either)
 *   size         the uncompressed size of the layer (its tar)
 *   deflateEnd   byte offset in the blob where the last member's deflate data ends (its
 *                gzip trailer)
 *   records      { digest, size }: the records blob of the same artifact
 *   checkpoints  [bit, out, recordSize, recordDigest, member?] each: the bit position in
 *                the blob where a deflate block starts, the uncompressed offset there, and
 *                the size and sha256 of its record (records lie back to back in checkpoint
 *                order); `member` (1) marks the first block of a gzip member after the
 *                first: a new deflate stream, entered with no window, and the span before
 *                it ends at the end of the previous member's deflate data (its trailer and
 *                the new header lie between). Every member start is a checkpoint.
 *   entries      the tar entries in layer order, compact (`seek-index-entries.ts`)
 *
 * The records blob ({@link SEEK_INDEX_RECORDS_MEDIA_TYPE}) is read by range, one record per
 * checkpoint, each a gzip member of JSON checked against the table's digest of it:
 *
 *   window       the 32 KiB before the checkpoint (raw-deflated, base64; "" at the start)
 *   pieces       [bit, out, digest] each: the span cut at deflate block boundaries at least
 *                PIECE bytes apart; the bit position and uncompressed offset where the piece
 *                ends and the sha256 of its output. The last piece ends where the span does.
 *
 * A read fetches the compressed bytes from its checkpoint's byte to the end of the piece
 * holding the last byte it wants (so a small file costs the distance from its checkpoint,
 * not a whole span), inflates them from the checkpoint (bit shift and window) and compares
 * each piece's output with its digest; a file is then cut out of verified pieces only,
 * after the tar header before its content has been parsed again and found to name it.
 *
 * Version 1 (one blob a layer, every window in it; one session old) is not read: its
 * artifactType is not asked for, and `ocipeek index` builds version 2.
 */

/** The artifactType of a seek-index artifact manifest (its subject is the image manifest). */
export const SEEK_INDEX_ARTIFACT_TYPE = 'application/vnd.ocipeek.seek-index.v2';

/** The media type of one layer's table (gzip-compressed JSON: checkpoints and entries). */
export const SEEK_INDEX_TABLE_MEDIA_TYPE = 'application/vnd.ocipeek.seek-index.table.v2+json+gzip';

/** The media type of one layer's records blob (windows and piece digests, read by range). */
export const SEEK_INDEX_RECORDS_MEDIA_TYPE = 'application/vnd.ocipeek.seek-index.records.v2';

/** The annotation on each index blob naming the layer digest it is for. */
export const SEEK_INDEX_LAYER_ANNOTATION = 'dev.ocipeek.seek-index.layer.digest';

/** The default checkpoint spacing in uncompressed output: 4 MiB. */
export const DEFAULT_SPAN = 4 * 1024 * 1024;

/** The default piece length: a read ends at most this far (plus a block) past its last byte. */
export const DEFAULT_PIECE = 32 * 1024;

/** Where inflating can start, and where its record is. */
export interface SeekCheckpoint {
  /** Bit position in the compressed blob where a deflate block starts. */
  bit: number;
  /** Uncompressed offset at that point. */
  out: number;
  /** Its record in the records blob: byte offset, size and sha256 digest. */
  record: { offset: number; size: number; digest: string };
  /** A gzip member (not the first) starts here: a new stream, entered with no window. */
  member?: true;
}

/** Where a verified piece of a span ends, and the digest of its output. */
export interface SeekPiece {
  /** Bit position where the piece ends (a deflate block boundary, or the deflate end). */
  bit: number;
  /** Uncompressed offset where the piece ends. */
  out: number;
  /** sha256 digest of the piece's output. */
  digest: string;
}

/** One checkpoint's record: what a read starting there needs. */
export interface SpanRecord {
  /** The window (up to 32 KiB before the checkpoint), raw-deflated as stored. */
  window: Buffer;
  /** The span's pieces in order; the last ends where the next span starts. */
  pieces: SeekPiece[];
}

/** One layer's seek index (its table), decoded. */
export interface LayerSeekIndex {
  layer: { digest: string; size: number };
  /** Uncompressed bytes between checkpoints, at most (plus a block). */
  span: number;
  /** Compressed bytes between checkpoints, at most (plus a block). */
  compressedSpan: number;
  /** Uncompressed size of the layer's tar. */
  size: number;
  /** Byte offset in the blob where the deflate data ends (where the gzip trailer starts). */
  deflateEnd: number;
  /** The records blob the checkpoints' records are in. */
  records: { digest: string; size: number };
  checkpoints: SeekCheckpoint[];
  entries: TarEntry[];
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** One record's bytes (a gzip member of JSON). */
export function encodeSpanRecord(record: SpanRecord): Buffer {
  const json = {
    window: record.window.toString('base64'),
    pieces: record.pieces.map((p) => [p.bit, p.out, p.digest]),
  };
  // Huffman codes only: the window in it is deflated already and the rest is hex digests,
  // where level 1's search for repeats saves 2% of the size for 3.6 times the CPU (a
  // record as the bench's 1 GiB layer has: 128 pieces and a 32 KiB window).
  return gzipSync(JSON.stringify(json), { level: 1, strategy: constants.Z_HUFFMAN_ONLY });
}

/**
 * The records blob and the checkpoints pointing into it, from each checkpoint's position
 * and record, in order.
 */
export function packSpanRecords(
  spans: Array<{ bit: number; out: number; member?: true; record: SpanRecord }>,
): {
  checkpoints: SeekCheckpoint[];
  records: Buffer;
} {
  const parts: Buffer[] = [];
  let offset = 0;
  const checkpoints = spans.map(({ bit, out, member, record }): SeekCheckpoint => {
    const bytes = encodeSpanRecord(record);
    parts.push(bytes);
    const size = bytes.length;
    const cp = { bit, out, record: { offset, size, digest: sha256(bytes) } };
    offset += bytes.length;
    return member ? { ...cp, member } : cp;
  });
  return { checkpoints, records: Buffer.concat(parts) };
}

/** The blob of one layer's table (gzip JSON). */
export function encodeLayerSeekIndex(index: LayerSeekIndex): Buffer {
  const json = {
    version: 2,
    layer: { digest: index.layer.digest, size: index.layer.size },
    span: index.span,
    compressedSpan: index.compressedSpan,
    size: index.size,
    deflateEnd: index.deflateEnd,
    records: { digest: index.records.digest, size: index.records.size },
    checkpoints: index.checkpoints.map((c) => {
      const fields: Array<number | string> = [c.bit, c.out, c.record.size, c.record.digest];
      if (c.member) fields.push(1);
      return fields;
    }),
    entries: encodeEntries(index.entries),
  };
  return gzipSync(JSON.stringify(json));
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const isSha256 = (v: unknown): v is string =>
  typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v);

function gunzipJson(blob: Buffer, description: string, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(blob).toString('utf8'));
  } catch (err) {
    throw new LazyLayerError(description, 'seek-index', `${what} is not gzip JSON`, {
      cause: err,
    });
  }
  if (json === null || typeof json !== 'object') {
    throw new LazyLayerError(description, 'seek-index', `${what}: not an object`);
  }
  return json as Record<string, unknown>;
}

/**
 * Decode and check one layer's table blob: every field typed, checkpoints in order inside
 * the blob and the tar, records back to back inside the records blob, entries inside the
 * tar. `description` names the layer in errors. What it cannot check here (windows,
 * digests, offsets that lie consistently) is checked on every read.
 */
export function decodeLayerSeekIndex(blob: Buffer, description: string): LayerSeekIndex {
  const bad = (why: string) => new LazyLayerError(description, 'seek-index', `seek index: ${why}`);
  const json = gunzipJson(blob, description, 'seek index');
  if (json.version !== 2) throw bad(`version ${String(json.version)} is not 2`);
  const layer = json.layer as { digest?: unknown; size?: unknown } | undefined;
  if (typeof layer?.digest !== 'string' || !isCount(layer.size)) throw bad('no layer');
  const records = json.records as { digest?: unknown; size?: unknown } | undefined;
  if (!isSha256(records?.digest) || !isCount(records.size)) throw bad('no records blob');
  const { span, compressedSpan, size, deflateEnd } = json;
  if (!isCount(span) || !isCount(compressedSpan) || !isCount(size) || !isCount(deflateEnd)) {
    throw bad('span, compressedSpan, size or deflateEnd missing');
  }
  if (deflateEnd > layer.size) throw bad('the deflate end lies outside the layer');
  if (!Array.isArray(json.checkpoints) || json.checkpoints.length === 0) {
    throw bad('no checkpoints');
  }
  const checkpoints: SeekCheckpoint[] = [];
  let offset = 0;
  for (const raw of json.checkpoints as unknown[]) {
    const [bit, out, recordSize, digest, member] = Array.isArray(raw) ? raw : [];
    const n = checkpoints.length;
    if (!isCount(bit) || !isCount(out) || !isCount(recordSize) || !isSha256(digest)) {
      throw bad(`checkpoint ${n} is malformed`);
    }
    if (member !== undefined && (member !== 1 || n === 0)) {
      throw bad(`checkpoint ${n} has a malformed member mark`);
    }
    const prev = checkpoints.at(-1);
    if (prev ? bit <= prev.bit || out <= prev.out : out !== 0) {
      throw bad(`checkpoint ${n} is out of order`);
    }
    if (bit >= deflateEnd * 8 || out >= Math.max(size, 1)) {
      throw bad(`checkpoint ${n} lies past the end`);
    }
    if (offset + recordSize > records.size) throw bad(`record ${n} lies past the records blob`);
    const record = { offset, size: recordSize, digest };
    checkpoints.push(member === 1 ? { bit, out, record, member: true } : { bit, out, record });
    offset += recordSize;
  }
  const entries = decodeEntries(json.entries, size, bad);
  return {
    layer: { digest: layer.digest, size: layer.size },
    span,
    compressedSpan,
    size,
    deflateEnd,
    records: { digest: records.digest, size: records.size },
    checkpoints,
    entries,
  };
}

/**
 * Decode checkpoint `at`'s record, already checked against its digest: pieces in order,
 * the last ending at `end` (the next checkpoint, or the layer's end); before a member
 * start, at its output offset and at or before its bit (the previous member's deflate
 * data ends there, before its trailer).
 */
export function decodeSpanRecord(
  bytes: Buffer,
  description: string,
  at: number,
  start: { bit: number; out: number },
  end: { bit: number; out: number; member?: true },
): SpanRecord {
  const bad = (why: string) =>
    new LazyLayerError(description, 'seek-index', `seek index: record ${at} ${why}`);
  const json = gunzipJson(bytes, description, `seek index record ${at}`);
  if (typeof json.window !== 'string' || !Array.isArray(json.pieces)) throw bad('is malformed');
  const pieces: SeekPiece[] = [];
  let prev = start;
  for (const raw of json.pieces as unknown[]) {
    const [bit, out, digest] = Array.isArray(raw) ? raw : [];
    if (!isCount(bit) || !isCount(out) || !isSha256(digest)) throw bad('has a malformed piece');
    if (bit <= prev.bit || out <= prev.out) throw bad('has pieces out of order');
    pieces.push({ bit, out, digest });
    prev = { bit, out };
  }
  const endsAtBit = end.member ? prev.bit <= end.bit : prev.bit === end.bit;
  if (!endsAtBit || prev.out !== end.out) throw bad('does not end where its span does');
  return { window: Buffer.from(json.window, 'base64'), pieces };
}
