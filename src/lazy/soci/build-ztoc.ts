import { UnsupportedError } from '../../errors/index.js';
import { encodeName, type TarEntry } from '../../tar/index.js';
import { goUnixTime } from '../../util/go-unix-time.js';
import { buildLayerSeekIndex } from '../seek-index/build-layer-index.js';
import type { InflateEngine } from '../seek-index/raw-inflate.js';
import { TOC_TYPE_NAMES } from '../toc-json.js';
import { encodeGzipZinfo, ZinfoCollector } from './gzip-zinfo.js';
import { encodeZtoc, type ZtocFields, type ZtocFileMetadata } from './ztoc-flatbuffers.js';

/*
 * One layer's zTOC, from the same single pass as ocipeek's own seek index: the builder
 * tells every deflate block boundary to a ZinfoCollector (soci's checkpoint rule, its
 * windows and span digests) and scans the tar headers it would scan anyway (the TOC).
 *
 * What differs from `soci create`'s zTOC for the same layer, and why it does not matter to
 * soci-snapshotter (which reads names through `cleanEntryPath`, modes through
 * `FileMode()`'s permission mask, and PAX records only for `SCHILY.xattr.*`):
 * - names are this project's normalised ones (`etc/passwd`, the root as `./`), where soci
 *   keeps the tar's bytes (`./etc/passwd`, `etc/`);
 * - the mode is the permission bits (soci keeps the header's field whole);
 * - PAX records are the xattrs only, written as `SCHILY.xattr.NAME`;
 * - mod_time is in UTC (Go formats it in the builder's local zone; `goUnixTime`);
 * - build_tool_identifier names ocipeek.
 * The checkpoints, span digests and sizes are soci's own (checked once against soci's
 * builder on the same layers; see docs/ARCHITECTURE.md, SOCI zTOCs).
 */

/** The zTOC version soci writes and reads. */
export const ZTOC_VERSION = '0.9';
/** SOCI's default span: 4 MiB of uncompressed output between checkpoints. */
export const DEFAULT_SOCI_SPAN = 4 * 1024 * 1024;

/** Options of {@link buildLayerZtoc}. */
export interface BuildLayerZtocOptions {
  /** Uncompressed bytes between checkpoints: a checkpoint when more than this (default 4 MiB). */
  span?: number;
  /** Written as the zTOC's build_tool_identifier (default `ocipeek`). */
  buildToolIdentifier?: string;
  signal?: AbortSignal;
  /** Which inflate runs (default: Node's own zlib through koffi, see raw-inflate.ts). */
  engine?: InflateEngine;
}

/** One layer's zTOC: its bytes and what they say. */
export interface BuiltZtoc {
  bytes: Buffer;
  fields: ZtocFields;
  /** The tar entries it was made from, in layer order. */
  entries: TarEntry[];
}

/**
 * Build the zTOC of one gzip layer from its compressed bytes, read once (the caller
 * streams them through a verifying reader). `layer` is what they were verified against.
 */
export async function buildLayerZtoc(
  compressed: AsyncIterable<Uint8Array>,
  layer: { digest: string; size: number },
  options: BuildLayerZtocOptions = {},
): Promise<BuiltZtoc> {
  const span = options.span ?? DEFAULT_SOCI_SPAN;
  const collector = new ZinfoCollector(span);
  const { index } = await buildLayerSeekIndex(collector.tee(compressed), layer, {
    signal: options.signal,
    engine: options.engine,
    onBlockBoundary: (at, window) => collector.observe(at, window),
  });
  collector.finish();
  const entries = index.entries;
  const files = entries.map((e) => fileMetadata(e, layer.digest));
  const fields: ZtocFields = {
    version: ZTOC_VERSION,
    buildToolIdentifier: options.buildToolIdentifier ?? 'ocipeek',
    compressedArchiveSize: layer.size,
    uncompressedArchiveSize: tarReaderEnd(entries, index.size),
    files,
    maxSpanId: collector.checkpoints.length - 1,
    spanDigests: collector.spanDigests,
    checkpoints: encodeGzipZinfo({ spanSize: span, checkpoints: collector.checkpoints }),
    compressionAlgorithm: 1,
  };
  return { bytes: encodeZtoc(fields), fields, entries };
}

/**
 * Where Go's archive/tar stops reading, as soci's `uncompressed_archive_size` records
 * it: after the two zero blocks that end the archive (after the last entry's padded
 * content), or at the end of the stream if it ends first. Padding that tar writers add
 * after those blocks is not counted.
 */
function tarReaderEnd(entries: readonly TarEntry[], size: number): number {
  const last = entries.at(-1);
  const end = last ? last.dataOffset + Math.ceil(last.size / 512) * 512 : 0;
  return Math.min(size, end + 1024);
}

/** One entry as soci's `FileMetadata` (see the file comment for what is normalised). */
function fileMetadata(e: TarEntry, layer: string): ZtocFileMetadata {
  if (e.sparse) {
    throw new UnsupportedError(
      `layer ${layer}: ${e.path} is a GNU sparse file, which a zTOC cannot describe`,
    );
  }
  const xattrs = Object.entries(e.xattrs ?? {}).map(([k, v]): [string, Uint8Array] => [
    `SCHILY.xattr.${k}`,
    Buffer.from(v, 'latin1'),
  ]);
  return {
    name: e.path === '' ? Buffer.from('./') : encodeName(e.path),
    type: TOC_TYPE_NAMES[e.type],
    uncompressedOffset: e.dataOffset,
    uncompressedSize: e.size,
    linkname: e.linkname === undefined ? new Uint8Array(0) : encodeName(e.linkname),
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.uname ?? '',
    gname: e.gname ?? '',
    modTime: goUnixTime(e.paxTimes?.mtime ?? e.mtime),
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
    paxHeaders: xattrs,
  };
}
