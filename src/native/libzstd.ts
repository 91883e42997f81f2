import type { KoffiFunc, LibraryHandle } from 'koffi';
import type { OutputRooms } from '../compression/output-rooms.js';
import { DecompressionError } from '../errors/index.js';
import { koffi, library } from './koffi.js';

/*
 * The system's libzstd (Debian: libzstd1, a dependency of dpkg, so on every Debian and
 * Ubuntu system) called in process through koffi. Measured on the bench corpus's zstd
 * layer (38 MiB in, 116 MiB out, 8 MiB window) on this 2-core machine: 1.1-1.3 GB/s out,
 * the same as the `zstd -dc` program it replaces (~1.2 GB/s), against ~150-200 MB/s for
 * fzstd (pure JS, see zstd-js-decoder.ts) and ~330 MB/s for zstd-codec (an unmaintained
 * WebAssembly build). Each step is an asynchronous koffi call, so decompression runs on a
 * worker thread, overlapping the tar parsing on the main thread as the separate `zstd`
 * process did. libzstd's default limits apply (windows up to 128 MiB, as for the `zstd`
 * program without --memory), checksums are verified, skippable frames skipped.
 *
 * Which libzstd: Node's own where Node exports one, else the system's libzstd.so.1. Node
 * ≥ 22.15 links zstd in statically and exports its symbols (for addons; 292 ZSTD_*
 * in 22.23.5), as it does zlib's (see libz.ts). libzstd.so.1 calls some of its own
 * exported functions through its PLT (ZSTD_createCCtx -> ZSTD_createCCtx_advanced,
 * ZSTD_CCtx_refCDict ...), and the dynamic linker binds those to the executable's copy
 * first, whose structures differ: loaded beside Node 22, libzstd.so.1's encoder fails
 * with "Block-level external sequence producer returned an error code" on a context
 * Node's code made (seen with 22.23.5), and anything worse is possible. The process's
 * own symbols are one consistent library (Node's, or the shared libzstd a distribution's
 * Node is linked against), and on Node 22 no libzstd.so.1 need be installed at all.
 * Rejected: RTLD_DEEPBIND (koffi's `deep` load option), which makes libzstd.so.1 bind
 * to itself first, but also bypasses an interposed malloc (jemalloc, sanitizers refuse
 * it outright) and does not exist on musl or macOS.
 */

/** A `ZSTD_inBuffer` / `ZSTD_outBuffer`. */
export interface ZstdBuffer {
  /** `src` or `dst`: the Buffer's memory, passed in place. */
  data: Buffer;
  size: number;
  pos: number;
}

type ZstdDecompressStream = (
  dctx: unknown,
  output: ZstdBuffer,
  input: ZstdBuffer,
) => number | bigint;

/** The decompression calls, bound once; binding them also declares the buffer structs. */
export interface Libzstd {
  createDCtx: () => unknown;
  freeDCtx: (dctx: unknown) => void;
  decompressStream: KoffiFunc<ZstdDecompressStream>;
  isError(code: number | bigint): boolean;
  errorName(code: number | bigint): string;
}

let bound: Libzstd | undefined;

/** The soname of libzstd 1.x, the ABI since 2016. */
const SONAME = process.platform === 'darwin' ? 'libzstd.1.dylib' : 'libzstd.so.1';

/** Where the zstd calls are bound: `process` (Node's own, see above) or the soname. */
export type ZstdLibrarySource = 'process' | typeof SONAME;

let chosen: { lib: LibraryHandle; source: ZstdLibrarySource } | undefined;

/**
 * The library the zstd calls are bound in (decided once): the process's own symbols when
 * they include zstd, else the system's libzstd. {@link UnsupportedError} when neither.
 */
export function zstdLibrary(): { lib: LibraryHandle; source: ZstdLibrarySource } {
  if (chosen) return chosen;
  const own = library(null, 'the running process');
  try {
    own.func('unsigned int ZSTD_versionNumber()');
    chosen = { lib: own, source: 'process' };
  } catch {
    chosen = { lib: library(SONAME, `libzstd (${SONAME})`), source: SONAME };
  }
  return chosen;
}

export function libzstd(): Libzstd {
  if (bound) return bound;
  const { lib } = zstdLibrary();
  const ffi = koffi();
  // Declared once per process: koffi keeps named types in one registry.
  ffi.struct('ocipeek_zstd_in', { data: 'const void *', size: 'size_t', pos: 'size_t' });
  ffi.struct('ocipeek_zstd_out', { data: 'void *', size: 'size_t', pos: 'size_t' });
  const isError = lib.func('unsigned int ZSTD_isError(size_t code)');
  const getErrorName = lib.func('const char *ZSTD_getErrorName(size_t code)');
  bound = {
    createDCtx: lib.func('void *ZSTD_createDCtx()'),
    freeDCtx: lib.func('size_t ZSTD_freeDCtx(void *dctx)'),
    decompressStream: lib.func(
      'size_t ZSTD_decompressStream(void *dctx, _Inout_ ocipeek_zstd_out *output, _Inout_ ocipeek_zstd_in *input)',
    ),
    isError: (code) => isError(code) !== 0,
    errorName: (code) => getErrorName(code),
  };
  return bound;
}

/** What one decoding step did. */
export interface ZstdStep {
  /** Input bytes used (from the start of the input given). */
  consumed: number;
  /** Bytes produced (may be empty). */
  output: Buffer;
  /** The output room was filled: more output may be ready without more input. */
  more: boolean;
}

/** Output room of one step: large steps keep the per-call cost small (~116 calls for 116 MiB). */
const STEP_OUTPUT = 1024 * 1024;

/**
 * One libzstd decompression context, decoding in bounded steps on a worker thread.
 * {@link UnsupportedError} from the constructor when koffi or libzstd is missing.
 * With `rooms`, output is decoded into rooms taken from there (reused once the consumer
 * gives them back); else into a new buffer whenever a step's output is handed out.
 */
export class LibzstdDecoder {
  private readonly z = libzstd();
  private dctx: unknown = this.z.createDCtx();
  private room: Buffer;
  private running = false;
  private freed = false;
  /** libzstd's last answer: 0 right after a frame ended (nothing held back). */
  private last: number | bigint = 0;

  constructor(private readonly rooms?: OutputRooms) {
    this.room = this.newRoom();
  }

  /** Decode from `input` into at most one room (1 MiB by default) of output. */
  step(input: Buffer): Promise<ZstdStep> {
    if (this.freed) return Promise.reject(new Error('zstd decoder already freed'));
    const out: ZstdBuffer = { data: this.room, size: this.room.length, pos: 0 };
    const inp: ZstdBuffer = { data: input, size: input.length, pos: 0 };
    this.running = true;
    return new Promise((resolve, reject) => {
      this.z.decompressStream.async(this.dctx, out, inp, (err, code) => {
        this.running = false;
        if (this.freed) this.release();
        if (err) {
          reject(new DecompressionError('zstd', String(err), { cause: err }));
          return;
        }
        if (this.z.isError(code)) {
          reject(new DecompressionError('zstd', this.z.errorName(code)));
          return;
        }
        // 0: a frame just ended and is fully flushed. A call that moved nothing (asked for
        // more output at a frame's end) answers with the next header's size instead: keep
        // what the last call that did something said.
        if (inp.pos > 0 || out.pos > 0) this.last = code;
        const more = out.pos === out.size && Number(code) !== 0;
        resolve({ consumed: inp.pos, output: this.take(out.pos), more });
      });
    });
  }

  /**
   * The `produced` bytes of the output room, handed out without copying when large; below
   * a quarter of the room they are copied out and the room is used again.
   */
  private take(produced: number): Buffer {
    if (produced < this.room.length / 4) return Buffer.from(this.room.subarray(0, produced));
    const full = this.room.subarray(0, produced);
    this.room = this.newRoom();
    return full;
  }

  private newRoom(): Buffer {
    return this.rooms ? this.rooms.take() : Buffer.allocUnsafe(STEP_OUTPUT);
  }

  /** The input has ended: a {@link DecompressionError} when it ended inside a frame. */
  finish(): void {
    if (Number(this.last) !== 0) {
      throw new DecompressionError('zstd', 'unexpected end of input: the data is truncated');
    }
  }

  /** Release the context (once a running step has ended). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    if (!this.running) this.release();
  }

  private release(): void {
    if (this.dctx === null) return;
    this.z.freeDCtx(this.dctx);
    this.dctx = null;
    this.rooms?.giveBack(this.room);
  }
}
