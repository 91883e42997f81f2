import { endianness } from 'node:os';
import { koffi, library } from './koffi.js';

/*
 * The zlib Node itself runs, called in process through koffi, for what Node's zlib binding
 * does not expose: inflate with Z_BLOCK (stop at every deflate block boundary, `data_type`
 * says where in the last byte), inflatePrime (enter a stream at a bit that is not a byte
 * boundary) and inflateSetDictionary on a raw stream. Those are what a seek index is built
 * and read with (zran.c's way); pako offers the same calls in JavaScript, at about a third
 * of zlib's speed (measured on the bench corpus, see raw-inflate.ts).
 *
 * Why the process's own symbols and not libz.so.1: Node exports the zlib it is built with
 * (for addons), and a libz.so.1 loaded beside it has its internal calls (inflateInit2_ ->
 * inflateReset2) bound to Node's copy, whose state layout differs: the heap is corrupted
 * (seen under valgrind). Node's own zlib is one library, the one node:zlib uses; where
 * Node is linked against a shared libz, the process's symbols are that library's.
 *
 * zlib keeps a pointer to its z_stream inside its own state and checks it on every call,
 * so the z_stream lives in memory of its own (koffi.alloc), never in a JS object that
 * koffi would copy per call; the input and output go through native buffers too, as the
 * pointers in the z_stream must stay valid between calls.
 */

/** zlib's return codes and flush values used here (zlib.h). */
export const Z = {
  OK: 0,
  STREAM_END: 1,
  NEED_DICT: 2,
  BUF_ERROR: -5,
  NO_FLUSH: 0,
  BLOCK: 5,
} as const;

type Pointer = unknown;

/** The z_stream's fields are in the machine's byte order. */
const LE = endianness() === 'LE';

interface Bound {
  version: string;
  size: number;
  offsets: {
    nextIn: number;
    availIn: number;
    nextOut: number;
    availOut: number;
    msg: number;
    dataType: number;
  };
  pointerSize: number;
  inflateInit2: (strm: Pointer, windowBits: number, version: string, size: number) => number;
  inflate: (strm: Pointer, flush: number) => number;
  inflateEnd: (strm: Pointer) => number;
  inflatePrime: (strm: Pointer, bits: number, value: number) => number;
  inflateValidate: (strm: Pointer, check: number) => number;
  inflateSetDictionary: (strm: Pointer, dict: Uint8Array, length: number) => number;
  /** The C string a pointer at `offset` of the z_stream points to. */
  stringAt: (strm: Pointer, offset: number) => string;
}

let bound: Bound | undefined;

function libz(): Bound {
  if (bound) return bound;
  const lib = library(null, "Node's zlib");
  const ffi = koffi();
  // The layout of z_stream from zlib.h, so that koffi gives the offsets for this ABI.
  const zStream = ffi.struct('ocipeek_z_stream', {
    next_in: 'void *',
    avail_in: 'unsigned int',
    total_in: 'unsigned long',
    next_out: 'void *',
    avail_out: 'unsigned int',
    total_out: 'unsigned long',
    msg: 'const char *',
    state: 'void *',
    zalloc: 'void *',
    zfree: 'void *',
    opaque: 'void *',
    data_type: 'int',
    adler: 'unsigned long',
    reserved: 'unsigned long',
  });
  const zlibVersion = lib.func('const char *zlibVersion()');
  bound = {
    version: zlibVersion() as string,
    size: ffi.sizeof(zStream),
    offsets: {
      nextIn: ffi.offsetof(zStream, 'next_in'),
      availIn: ffi.offsetof(zStream, 'avail_in'),
      nextOut: ffi.offsetof(zStream, 'next_out'),
      availOut: ffi.offsetof(zStream, 'avail_out'),
      msg: ffi.offsetof(zStream, 'msg'),
      dataType: ffi.offsetof(zStream, 'data_type'),
    },
    pointerSize: ffi.sizeof('void *'),
    inflateInit2: lib.func(
      'int inflateInit2_(void *strm, int windowBits, const char *version, int stream_size)',
    ),
    inflate: lib.func('int inflate(void *strm, int flush)'),
    inflateEnd: lib.func('int inflateEnd(void *strm)'),
    inflatePrime: lib.func('int inflatePrime(void *strm, int bits, int value)'),
    inflateValidate: lib.func('int inflateValidate(void *strm, int check)'),
    inflateSetDictionary: lib.func(
      'int inflateSetDictionary(void *strm, const uint8_t *dictionary, unsigned int dictLength)',
    ),
    stringAt: (strm, offset) => ffi.decode(strm, offset, 'const char *') as string,
  };
  return bound;
}

/** Memory of its own (not moved, not collected), seen through an ArrayBuffer view. */
class NativeBuffer {
  readonly pointer: Pointer;
  readonly address: bigint;
  readonly bytes: Uint8Array;

  constructor(readonly size: number) {
    const ffi = koffi();
    this.pointer = ffi.alloc('uint8_t', Math.max(1, size));
    this.address = ffi.address(this.pointer);
    this.bytes = new Uint8Array(ffi.view(this.pointer, Math.max(1, size)));
  }

  free(): void {
    koffi().free(this.pointer);
  }
}

/**
 * One zlib inflate stream with the fields of pako's `ZStream` that the seek index uses
 * (`input`/`next_in`/`avail_in`, `output`/`next_out`/`avail_out`, `data_type`, `msg`), so
 * that the same loop drives either. Input is copied into native memory when `input` is
 * set; the output zlib writes is copied into `output` at `next_out`, unless `output` is
 * an {@link LibzStream.outputRoom}, which zlib writes itself. Call
 * {@link LibzStream.end} when done: zlib's state and the buffers are native memory.
 */
export class LibzStream {
  next_in = 0;
  avail_in = 0;
  output: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  next_out = 0;
  avail_out = 0;
  data_type = 0;
  msg = '';
  private readonly z = libz();
  private readonly strm = new NativeBuffer(this.z.size);
  private readonly fields = new DataView(
    this.strm.bytes.buffer,
    this.strm.bytes.byteOffset,
    this.z.size,
  );
  private inBuf: NativeBuffer | undefined;
  private pendingInput: Uint8Array | undefined;
  private outBuf: NativeBuffer | undefined;
  /** Output rooms of native memory ({@link LibzStream.outputRoom}), by their ArrayBuffer. */
  private readonly rooms = new Map<ArrayBufferLike, NativeBuffer>();
  private ended = false;

  /** `inflateInit2` with `windowBits` as zlib takes them (-15 raw, 31 gzip). */
  constructor(windowBits: number) {
    this.strm.bytes.fill(0);
    const status = this.z.inflateInit2(this.strm.pointer, windowBits, this.z.version, this.z.size);
    if (status !== Z.OK) {
      this.strm.free();
      this.ended = true;
      throw new Error(`zlib inflateInit2 failed (${status})`);
    }
  }

  /** The input (copied to native memory at the next call); `next_in` indexes it. */
  set input(bytes: Uint8Array) {
    this.pendingInput = bytes;
  }

  /** zlib's inflatePrime: `bits` bits of `value` before the next input byte. */
  prime(bits: number, value: number): number {
    return this.z.inflatePrime(this.strm.pointer, bits, value);
  }

  setDictionary(dictionary: Uint8Array): number {
    return this.z.inflateSetDictionary(this.strm.pointer, dictionary, dictionary.length);
  }

  /**
   * zlib's inflateValidate: with `check` false, a gzip member's CRC-32 is neither computed
   * nor compared with its trailer, nor its length (the caller checks both).
   */
  validate(check: boolean): number {
    return this.z.inflateValidate(this.strm.pointer, check ? 1 : 0);
  }

  /**
   * Native memory seen as a Uint8Array: set as `output`, zlib inflates into it directly
   * instead of into a native buffer copied out after each call. Valid until
   * {@link LibzStream.end}, which frees it.
   */
  outputRoom(size: number): Uint8Array<ArrayBuffer> {
    if (this.ended) throw new Error('zlib stream already ended');
    const room = new NativeBuffer(size);
    this.rooms.set(room.bytes.buffer, room);
    return room.bytes.subarray(0, size) as Uint8Array<ArrayBuffer>;
  }

  inflate(flush: number): number {
    if (this.ended) throw new Error('zlib stream already ended');
    const inBuf = this.nativeInput();
    const room = this.rooms.get(this.output.buffer);
    const outBuf = room ? undefined : this.nativeOutput();
    const o = this.z.offsets;
    const availIn = this.avail_in;
    const availOut = this.avail_out;
    this.setPointer(o.nextIn, inBuf.address + BigInt(this.next_in));
    this.fields.setUint32(o.availIn, availIn, LE);
    this.setPointer(
      o.nextOut,
      room ? room.address + BigInt(this.output.byteOffset + this.next_out) : outBuf!.address,
    );
    this.fields.setUint32(o.availOut, availOut, LE);
    const status = this.z.inflate(this.strm.pointer, flush);
    const usedIn = availIn - this.fields.getUint32(o.availIn, LE);
    const made = availOut - this.fields.getUint32(o.availOut, LE);
    if (made > 0 && outBuf) this.output.set(outBuf.bytes.subarray(0, made), this.next_out);
    this.next_in += usedIn;
    this.avail_in -= usedIn;
    this.next_out += made;
    this.avail_out -= made;
    this.data_type = this.fields.getInt32(o.dataType, LE);
    this.msg = this.pointerAt(o.msg) === 0n ? '' : this.z.stringAt(this.strm.pointer, o.msg);
    return status;
  }

  /** The native copy of the input, made when a new input was set. */
  private nativeInput(): NativeBuffer {
    const pending = this.pendingInput;
    if (pending !== undefined || !this.inBuf) {
      const bytes = pending ?? new Uint8Array(0);
      if (!this.inBuf || this.inBuf.size < bytes.length) {
        this.inBuf?.free();
        this.inBuf = new NativeBuffer(bytes.length);
      }
      this.inBuf.bytes.set(bytes);
      this.pendingInput = undefined;
    }
    return this.inBuf;
  }

  /** Native room for `avail_out` bytes, copied into `output` after each call. */
  private nativeOutput(): NativeBuffer {
    if (!this.outBuf || this.outBuf.size < this.avail_out) {
      this.outBuf?.free();
      this.outBuf = new NativeBuffer(this.avail_out);
    }
    return this.outBuf;
  }

  /** Free zlib's state and the native buffers (once; later calls do nothing). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.z.inflateEnd(this.strm.pointer);
    this.strm.free();
    this.inBuf?.free();
    this.outBuf?.free();
    for (const room of this.rooms.values()) room.free();
    this.rooms.clear();
  }

  private setPointer(offset: number, value: bigint): void {
    if (this.z.pointerSize === 8) this.fields.setBigUint64(offset, value, LE);
    else this.fields.setUint32(offset, Number(value), LE);
  }

  private pointerAt(offset: number): bigint {
    return this.z.pointerSize === 8
      ? this.fields.getBigUint64(offset, LE)
      : BigInt(this.fields.getUint32(offset, LE));
  }
}
