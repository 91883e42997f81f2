import { Builder, ByteBuffer } from 'flatbuffers';

/*
 * SOCI's zTOC as FlatBuffers: a typed builder and reader for awslabs/soci-snapshotter's
 * schema ztoc/fbs/ztoc.fbs, written by hand over the `flatbuffers` npm runtime.
 *
 * Why by hand and not flatc's output: no flatc is on the machines this project builds on
 * (it is not an npm package), the schema is five small tables that have not changed since
 * zTOC 0.9, and the writer must make its calls in the order soci's Go marshaler
 * (ztoc/ztoc_marshaler.go) makes them, so that the bytes are the ones soci itself would
 * write for the same zTOC (FlatBuffers builders in every language are one algorithm:
 * same calls, same bytes). The builder takes a field's index in the schema; the reader
 * finds it at vtable offset 4 + 2 * index, as flatc numbers them.
 *
 *   table Xattr { key: string; value: string; }
 *   table FileMetadata { name: string; type: string; uncompressed_offset: long;
 *     uncompressed_size: long; linkname: string; mode: long; uid: uint32; gid: uint32;
 *     uname: string; gname: string; mod_time: string; devmajor: long; devminor: long;
 *     xattrs: [Xattr]; }
 *   enum CompressionAlgorithm : byte { Gzip = 1, Uncompressed }
 *   table CompressionInfo { compression_algorithm: CompressionAlgorithm = Gzip;
 *     max_span_id: int; span_digests: [string]; checkpoints: [ubyte]; }
 *   table TOC { metadata: [FileMetadata]; }
 *   table Ztoc { version: string; build_tool_identifier: string;
 *     compressed_archive_size: long; uncompressed_archive_size: long; toc: TOC;
 *     compression_info: CompressionInfo; }
 *   root_type Ztoc;
 */

/** One tar entry as a zTOC's TOC records it (soci's `FileMetadata`). */
export interface ZtocFileMetadata {
  /** The entry's name as bytes (soci cleans it when it reads: no leading `./` needed). */
  name: Uint8Array;
  /** `reg`, `dir`, `symlink`, `hardlink`, `char`, `block` or `fifo`, as soci's getType. */
  type: string;
  /** Offset of the content in the uncompressed tar. */
  uncompressedOffset: number;
  uncompressedSize: number;
  linkname: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Go's `time.Time.MarshalText`: RFC 3339 with nanoseconds when there are any. */
  modTime: string;
  devmajor: number;
  devminor: number;
  /** PAX records (soci keeps `SCHILY.xattr.*` ones as xattrs), written sorted by key. */
  paxHeaders: Array<[string, Uint8Array]>;
}

/** A zTOC's fields (soci's `Ztoc`). */
export interface ZtocFields {
  /** `0.9`, the only version soci writes. */
  version: string;
  buildToolIdentifier: string;
  compressedArchiveSize: number;
  uncompressedArchiveSize: number;
  files: ZtocFileMetadata[];
  /** Spans - 1. */
  maxSpanId: number;
  /** sha256 of each span's compressed bytes, `sha256:hex`. */
  spanDigests: string[];
  /** The gzip zinfo blob (`zinfo.ts`). */
  checkpoints: Uint8Array;
  /** 1: gzip (the schema's default, then not written), 2: uncompressed. */
  compressionAlgorithm: number;
}

const slot = (index: number) => 4 + 2 * index;
const GZIP = 1;

/** Serialise a zTOC, making the calls soci's `ztocToFlatbuffer` makes, in its order. */
export function encodeZtoc(z: ZtocFields): Buffer {
  const b = new Builder(1024);
  const version = b.createString(z.version);
  const buildTool = b.createString(z.buildToolIdentifier);
  const metadata: number[] = new Array(z.files.length);
  for (let i = z.files.length - 1; i >= 0; i--) metadata[i] = fileMetadata(b, z.files[i]!);
  b.startVector(4, metadata.length, 4);
  for (let i = metadata.length - 1; i >= 0; i--) b.addOffset(metadata[i]!);
  const metadataVector = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, metadataVector, 0);
  const toc = b.endObject();

  const checkpoints = b.createByteVector(z.checkpoints);
  const digests = z.spanDigests.map((d) => b.createString(d));
  b.startVector(4, digests.length, 4);
  for (let i = digests.length - 1; i >= 0; i--) b.addOffset(digests[i]!);
  const digestVector = b.endVector();
  b.startObject(4);
  b.addFieldInt32(1, z.maxSpanId, 0);
  b.addFieldOffset(2, digestVector, 0);
  b.addFieldOffset(3, checkpoints, 0);
  b.addFieldInt8(0, z.compressionAlgorithm, GZIP);
  const info = b.endObject();

  b.startObject(6);
  b.addFieldOffset(0, version, 0);
  b.addFieldOffset(1, buildTool, 0);
  b.addFieldOffset(4, toc, 0);
  b.addFieldInt64(2, BigInt(z.compressedArchiveSize), 0n);
  b.addFieldInt64(3, BigInt(z.uncompressedArchiveSize), 0n);
  b.addFieldOffset(5, info, 0);
  const root = b.endObject();
  b.finish(root);
  return Buffer.from(b.asUint8Array());
}

/** soci's `prepareMetadataOffset` (and `prepareXattrsOffset`): strings first, then the table. */
function fileMetadata(b: Builder, f: ZtocFileMetadata): number {
  const name = b.createString(f.name);
  const type = b.createString(f.type);
  const linkname = b.createString(f.linkname);
  const uname = b.createString(f.uname);
  const gname = b.createString(f.gname);
  const modTime = b.createString(f.modTime);
  const pax = [...f.paxHeaders].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0));
  const xattrOffsets = pax.map(([key, value]) => {
    const k = b.createString(key);
    const v = b.createString(value);
    b.startObject(2);
    b.addFieldOffset(0, k, 0);
    b.addFieldOffset(1, v, 0);
    return b.endObject();
  });
  b.startVector(4, xattrOffsets.length, 4);
  for (let j = xattrOffsets.length - 1; j >= 0; j--) b.addOffset(xattrOffsets[j]!);
  const xattrs = b.endVector();
  b.startObject(14);
  b.addFieldOffset(0, name, 0);
  b.addFieldOffset(1, type, 0);
  b.addFieldInt64(2, BigInt(f.uncompressedOffset), 0n);
  b.addFieldInt64(3, BigInt(f.uncompressedSize), 0n);
  b.addFieldOffset(4, linkname, 0);
  b.addFieldInt64(5, BigInt(f.mode), 0n);
  b.addFieldInt32(6, f.uid, 0);
  b.addFieldInt32(7, f.gid, 0);
  b.addFieldOffset(8, uname, 0);
  b.addFieldOffset(9, gname, 0);
  b.addFieldOffset(10, modTime, 0);
  b.addFieldInt64(11, BigInt(f.devmajor), 0n);
  b.addFieldInt64(12, BigInt(f.devminor), 0n);
  b.addFieldOffset(13, xattrs, 0);
  return b.endObject();
}

/** A table in a buffer: field access by schema index, absent fields as their defaults. */
class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  private field(index: number): number {
    return this.bb.__offset(this.pos, slot(index));
  }

  bytes(index: number): Uint8Array {
    const o = this.field(index);
    if (!o) return new Uint8Array(0);
    const at = this.bb.__vector(this.pos + o);
    return this.bb.bytes().subarray(at, at + this.bb.__vector_len(this.pos + o));
  }

  string(index: number): string {
    return Buffer.from(this.bytes(index)).toString('utf8');
  }

  int64(index: number): number {
    const o = this.field(index);
    return o ? Number(this.bb.readInt64(this.pos + o)) : 0;
  }

  uint32(index: number): number {
    const o = this.field(index);
    return o ? this.bb.readUint32(this.pos + o) : 0;
  }

  int32(index: number): number {
    const o = this.field(index);
    return o ? this.bb.readInt32(this.pos + o) : 0;
  }

  int8(index: number, defaultValue: number): number {
    const o = this.field(index);
    return o ? this.bb.readInt8(this.pos + o) : defaultValue;
  }

  table(index: number): Table | undefined {
    const o = this.field(index);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }

  /** A vector of tables (or strings: `stringAt`). */
  vectorLength(index: number): number {
    const o = this.field(index);
    return o ? this.bb.__vector_len(this.pos + o) : 0;
  }

  tableAt(index: number, i: number): Table {
    const o = this.field(index);
    const at = this.bb.__vector(this.pos + o) + i * 4;
    return new Table(this.bb, this.bb.__indirect(at));
  }

  stringAt(index: number, i: number): string {
    const o = this.field(index);
    const at = this.bb.__vector(this.pos + o) + i * 4;
    return this.bb.__string(at) as string;
  }
}

/**
 * Read a zTOC back (what soci's `flatbufToZtoc` reads, before its sort and its tar-header
 * offsets). Throws on a buffer that is not one (offsets outside it).
 */
export function decodeZtoc(bytes: Uint8Array): ZtocFields {
  if (bytes.length < 8) throw new RangeError('too short for a FlatBuffers zTOC');
  const bb = new ByteBuffer(bytes);
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const files: ZtocFileMetadata[] = [];
  const toc = root.table(4);
  const n = toc?.vectorLength(0) ?? 0;
  for (let i = 0; i < n; i++) {
    const m = toc!.tableAt(0, i);
    const paxHeaders: Array<[string, Uint8Array]> = [];
    for (let j = 0; j < m.vectorLength(13); j++) {
      const x = m.tableAt(13, j);
      paxHeaders.push([x.string(0), x.bytes(1)]);
    }
    files.push({
      name: m.bytes(0),
      type: m.string(1),
      uncompressedOffset: m.int64(2),
      uncompressedSize: m.int64(3),
      linkname: m.bytes(4),
      mode: m.int64(5),
      uid: m.uint32(6),
      gid: m.uint32(7),
      uname: m.string(8),
      gname: m.string(9),
      modTime: m.string(10),
      devmajor: m.int64(11),
      devminor: m.int64(12),
      paxHeaders,
    });
  }
  const info = root.table(5);
  const spanDigests: string[] = [];
  for (let i = 0; i < (info?.vectorLength(2) ?? 0); i++) spanDigests.push(info!.stringAt(2, i));
  return {
    version: root.string(0),
    buildToolIdentifier: root.string(1),
    compressedArchiveSize: root.int64(2),
    uncompressedArchiveSize: root.int64(3),
    files,
    maxSpanId: info?.int32(1) ?? 0,
    spanDigests,
    checkpoints: info ? Buffer.from(info.bytes(3)) : new Uint8Array(0),
    compressionAlgorithm: info?.int8(0, GZIP) ?? GZIP,
  };
}
