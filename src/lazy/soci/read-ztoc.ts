import { createHash } from 'node:crypto';
import { LazyLayerError } from '../../errors/index.js';
import { inflateRange } from '../seek-index/raw-inflate.js';
import { decodeGzipZinfo, type GzipZinfo, spanStart } from './gzip-zinfo.js';
import { decodeZtoc, type ZtocFields, type ZtocFileMetadata } from './ztoc-flatbuffers.js';

/*
 * A zTOC reader of this project's own, written from soci-snapshotter's reading code
 * (ztoc/ztoc_marshaler.go `flatbufToZtoc`, the span manager's checks, gzip_zinfo.c's
 * `extract_data_from_buffer`): it lists a layer's files from the zTOC alone and reads a
 * file by the spans that hold it, each span's compressed bytes checked against its digest
 * before it is inflated from its checkpoint. It is how this project checks the zTOCs it
 * writes without soci-snapshotter; ocipeek's own commands read ocipeek's index.
 */

/** A decoded, checked zTOC: its fields, checkpoints, and files in offset order. */
export interface ParsedZtoc {
  fields: ZtocFields;
  zinfo: GzipZinfo;
  /** As soci orders them: by content offset, each with where its tar header starts. */
  files: Array<ZtocFileMetadata & { tarHeaderOffset: number }>;
}

const bad = (layer: string, why: string, problem: 'toc' | 'span-digest' = 'toc') =>
  new LazyLayerError(layer, problem, `zTOC: ${why}`);

/**
 * Decode a zTOC and check what soci-snapshotter checks before it uses one: version,
 * gzip, one span digest per checkpoint, `max_span_id`, and entries that leave room for
 * their tar headers. `layer` names the layer in errors.
 */
export function parseZtoc(bytes: Uint8Array, layer: string): ParsedZtoc {
  let fields: ZtocFields;
  let zinfo: GzipZinfo;
  try {
    fields = decodeZtoc(bytes);
    zinfo = decodeGzipZinfo(fields.checkpoints);
  } catch (err) {
    throw bad(layer, err instanceof Error ? err.message : String(err));
  }
  if (fields.version !== '0.9') throw bad(layer, `version ${fields.version} is not 0.9`);
  if (fields.compressionAlgorithm !== 1) throw bad(layer, 'not a gzip zTOC');
  const spans = zinfo.checkpoints.length;
  if (fields.maxSpanId !== spans - 1 || fields.spanDigests.length !== spans) {
    throw bad(
      layer,
      `${spans} checkpoints, max_span_id ${fields.maxSpanId}, ${fields.spanDigests.length} span digests`,
    );
  }
  let prev = { in: -1, out: -1 };
  for (const [i, cp] of zinfo.checkpoints.entries()) {
    if (cp.in <= prev.in || cp.out <= prev.out || cp.bits > 7 || (i === 0 && cp.out !== 0)) {
      throw bad(layer, `checkpoint ${i} is out of order`);
    }
    if (cp.in > fields.compressedArchiveSize || cp.out > fields.uncompressedArchiveSize) {
      throw bad(layer, `checkpoint ${i} lies past the end`);
    }
    prev = cp;
  }
  const sorted = [...fields.files].sort((a, b) => a.uncompressedOffset - b.uncompressedOffset);
  let nextHeader = 0;
  const files = sorted.map((f) => {
    if (nextHeader > f.uncompressedOffset) throw bad(layer, 'invalid toc entry');
    const entry = { ...f, tarHeaderOffset: nextHeader };
    nextHeader = Math.ceil((f.uncompressedOffset + f.uncompressedSize) / 512) * 512;
    return entry;
  });
  return { fields, zinfo, files };
}

/** The span holding uncompressed offset `offset` (soci's `pt_index_from_ucmp_offset`). */
export function spanOf(z: ParsedZtoc, offset: number): number {
  const cps = z.zinfo.checkpoints;
  let i = 0;
  while (i + 1 < cps.length && cps[i + 1]!.out <= offset) i++;
  return i;
}

/** Where span `i` ends in the compressed blob and in the tar. */
function spanEnd(z: ParsedZtoc, i: number): { in: number; out: number } {
  const next = z.zinfo.checkpoints[i + 1];
  return next
    ? { in: next.in, out: next.out }
    : { in: z.fields.compressedArchiveSize, out: z.fields.uncompressedArchiveSize };
}

/**
 * Read `size` bytes at uncompressed offset `offset` of the layer: one `read(start, end)`
 * of the compressed bytes of the spans that hold them, each span checked against its
 * digest and inflated from its checkpoint (bit shift and window).
 */
export async function readZtocRange(
  z: ParsedZtoc,
  offset: number,
  size: number,
  read: (start: number, end: number) => Promise<Uint8Array>,
  layer: string,
): Promise<Buffer> {
  if (size === 0) return Buffer.alloc(0);
  const first = spanOf(z, offset);
  const last = spanOf(z, offset + size - 1);
  const cps = z.zinfo.checkpoints;
  const base = spanStart(cps[first]!);
  const compressed = await read(base, spanEnd(z, last).in);
  const parts: Buffer[] = [];
  for (let i = first; i <= last; i++) {
    const cp = cps[i]!;
    const end = spanEnd(z, i);
    const bytes = compressed.subarray(spanStart(cp) - base, end.in - base);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== z.fields.spanDigests[i]) {
      throw bad(
        layer,
        `span ${i} does not match its digest ${z.fields.spanDigests[i]}`,
        'span-digest',
      );
    }
    try {
      parts.push(
        inflateRange(
          bytes,
          { bitShift: cp.bits ? 8 - cp.bits : 0, window: cp.window },
          end.out - cp.out,
        ),
      );
    } catch (err) {
      throw bad(layer, `span ${i}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const all = Buffer.concat(parts);
  const from = offset - cps[first]!.out;
  return all.subarray(from, from + size);
}
