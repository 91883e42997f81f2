import { gunzipSync, gzipSync } from 'node:zlib';
import { LazyLayerError } from '../../errors/index.js';
import { type TarEntry, TYPE_LETTERS } from '../../tar/index.js';

/*
 * The format, and why it is not SOCI's.
 *
 * SOCI (awslabs/soci-snapshotter) publishes, per gzip layer, a zTOC: a FlatBuffers table of
 * the tar entries plus zran's checkpoints serialised as its C structs, windows stored raw.
 * It has no digest of any span: soci-snapshotter trusts the bytes it fetches by range and
 * checks a layer only when it has fetched all of it. This project's rule is that no byte
 * is handed out before it was checked, so every span read must be verifiable, which a
 * faithful zTOC cannot express (extra fields would be ignored by SOCI readers and make it
 * no longer the format). So the index is ocipeek's own, documented here, with its own
 * artifactType; a zTOC could be written beside it later from the same checkpoints.
 *
 * One blob per layer, gzip-compressed JSON (media type {@link SEEK_INDEX_LAYER_MEDIA_TYPE}):
 *
 *   version      1
 *   layer        { digest, size }: the gzip layer blob it describes (trusted only if equal)
 *   span         the checkpoint spacing asked for (uncompressed bytes)
 *   size         the uncompressed size of the layer (its tar)
 *   deflateEnd   byte offset in the blob where the deflate data ends (the gzip trailer)
 *   checkpoints  [bit, out, window, digest] each: the bit position in the blob where a deflate
 *                block starts, the uncompressed offset there, the 32 KiB before it
 *                (raw-deflated, base64; "" at the start) and the sha256 of the uncompressed
 *                span from here to the next checkpoint (or the end). Spans are whole deflate
 *                blocks, at least `span` bytes each but the last.
 *   entries      the tar entries in layer order (TarEntry fields; headerOffset/dataOffset are
 *                offsets in the uncompressed tar)
 *
 * A span read fetches the compressed bytes from its checkpoint's byte to the next one's,
 * inflates them from the checkpoint (bit shift and window) and compares the output with
 * the span's digest; a file is then cut out of verified spans only, after the tar header
 * before its content has been parsed again and found to name it.
 */

/** The artifactType of a seek-index artifact manifest (its subject is the image manifest). */
export const SEEK_INDEX_ARTIFACT_TYPE = 'application/vnd.ocipeek.seek-index.v1';

/** The media type of one layer's index blob (gzip-compressed JSON). */
export const SEEK_INDEX_LAYER_MEDIA_TYPE = 'application/vnd.ocipeek.seek-index.layer.v1+json+gzip';

/** The annotation on each index blob naming the layer digest it is for. */
export const SEEK_INDEX_LAYER_ANNOTATION = 'dev.ocipeek.seek-index.layer.digest';

/** The default checkpoint spacing: 4 MiB of uncompressed output. */
export const DEFAULT_SPAN = 4 * 1024 * 1024;

/** Where inflating can start. */
export interface SeekCheckpoint {
  /** Bit position in the compressed blob where a deflate block starts. */
  bit: number;
  /** Uncompressed offset at that point. */
  out: number;
  /** The window (up to 32 KiB before `out`), raw-deflated as stored. */
  window: Buffer;
  /** sha256 digest of the uncompressed span starting here. */
  digest: string;
}

/** One layer's seek index, decoded. */
export interface LayerSeekIndex {
  layer: { digest: string; size: number };
  span: number;
  /** Uncompressed size of the layer's tar. */
  size: number;
  /** Byte offset in the blob where the deflate data ends (where the gzip trailer starts). */
  deflateEnd: number;
  checkpoints: SeekCheckpoint[];
  entries: TarEntry[];
}

/** The JSON of one entry: only the fields it has. */
function entryJson(e: TarEntry): Record<string, unknown> {
  const o: Record<string, unknown> = {
    path: e.path,
    type: e.type,
    size: e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    headerOffset: e.headerOffset,
    dataOffset: e.dataOffset,
  };
  if (e.uname) o.uname = e.uname;
  if (e.gname) o.gname = e.gname;
  if (e.linkname !== undefined) o.linkname = e.linkname;
  if (e.devmajor !== undefined) o.devmajor = e.devmajor;
  if (e.devminor !== undefined) o.devminor = e.devminor;
  if (e.xattrs !== undefined) o.xattrs = e.xattrs;
  if (e.sparse) o.sparse = true;
  return o;
}

/** The blob of one layer's index (gzip JSON). */
export function encodeLayerSeekIndex(index: LayerSeekIndex): Buffer {
  const json = {
    version: 1,
    layer: { digest: index.layer.digest, size: index.layer.size },
    span: index.span,
    size: index.size,
    deflateEnd: index.deflateEnd,
    checkpoints: index.checkpoints.map((c) => [
      c.bit,
      c.out,
      c.window.toString('base64'),
      c.digest,
    ]),
    entries: index.entries.map(entryJson),
  };
  return gzipSync(JSON.stringify(json));
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Decode and check one layer's index blob: every field typed, checkpoints in order inside
 * the blob and the tar, entries inside the tar. `description` names the layer in errors.
 * What it cannot check here (windows, digests, offsets that lie consistently) is checked
 * on every span read.
 */
export function decodeLayerSeekIndex(blob: Buffer, description: string): LayerSeekIndex {
  const bad = (why: string) => new LazyLayerError(description, 'seek-index', `seek index: ${why}`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(gunzipSync(blob).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new LazyLayerError(description, 'seek-index', 'seek index is not gzip JSON', {
      cause: err,
    });
  }
  if (json === null || typeof json !== 'object') throw bad('not an object');
  if (json.version !== 1) throw bad(`version ${String(json.version)} is not 1`);
  const layer = json.layer as { digest?: unknown; size?: unknown } | undefined;
  if (typeof layer?.digest !== 'string' || !isCount(layer.size)) throw bad('no layer');
  const { span, size, deflateEnd } = json;
  if (!isCount(span) || span === 0 || !isCount(size) || !isCount(deflateEnd)) {
    throw bad('span, size or deflateEnd missing');
  }
  if (deflateEnd > layer.size) throw bad('the deflate end lies outside the layer');
  if (!Array.isArray(json.checkpoints) || json.checkpoints.length === 0) {
    throw bad('no checkpoints');
  }
  const checkpoints: SeekCheckpoint[] = [];
  for (const raw of json.checkpoints as unknown[]) {
    const [bit, out, window, digest] = Array.isArray(raw) ? raw : [];
    if (!isCount(bit) || !isCount(out) || typeof window !== 'string') {
      throw bad(`checkpoint ${checkpoints.length} is malformed`);
    }
    if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw bad(`checkpoint ${checkpoints.length} has no sha256 digest`);
    }
    const prev = checkpoints.at(-1);
    if (prev ? bit <= prev.bit || out <= prev.out : out !== 0) {
      throw bad(`checkpoint ${checkpoints.length} is out of order`);
    }
    if (bit >= deflateEnd * 8 || out >= Math.max(size, 1)) {
      throw bad(`checkpoint ${checkpoints.length} lies past the end`);
    }
    checkpoints.push({ bit, out, window: Buffer.from(window, 'base64'), digest });
  }
  if (!Array.isArray(json.entries)) throw bad('no entries');
  const entries = (json.entries as unknown[]).map((e, i) => checkEntry(e, i, size, bad));
  return {
    layer: { digest: layer.digest, size: layer.size },
    span,
    size,
    deflateEnd,
    checkpoints,
    entries,
  };
}

function checkEntry(
  raw: unknown,
  i: number,
  size: number,
  bad: (why: string) => LazyLayerError,
): TarEntry {
  const e = raw as TarEntry;
  const ok =
    e !== null &&
    typeof e === 'object' &&
    typeof e.path === 'string' &&
    Object.hasOwn(TYPE_LETTERS, e.type) &&
    isCount(e.size) &&
    isCount(e.mode) &&
    isCount(e.uid) &&
    isCount(e.gid) &&
    typeof e.mtime === 'number' &&
    isCount(e.headerOffset) &&
    isCount(e.dataOffset) &&
    e.headerOffset < e.dataOffset &&
    e.dataOffset + (e.type === 'file' ? e.size : 0) <= size &&
    (e.linkname === undefined || typeof e.linkname === 'string');
  if (!ok) throw bad(`entry ${i} is malformed`);
  return e;
}
