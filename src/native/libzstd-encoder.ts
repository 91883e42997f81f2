import type { KoffiFunc } from 'koffi';
import { UnsupportedError } from '../errors/index.js';
import { libzstd, type ZstdBuffer, zstdLibrary } from './libzstd.js';

/*
 * zstd compression for `copy --dest-compress-format zstd` (and the many small frames of
 * zstd:chunked), through the same libzstd (Node's own where it exports one, else the
 * system's: see libzstd.ts for why) and koffi as decompression: Node 20 has no zstd in
 * zlib (22.15 adds it), the product starts no helper program, and a WebAssembly encoder
 * would be several times slower. Each step is an asynchronous call, so compressing runs on a worker
 * thread while the main thread reads the next layer bytes.
 */

type ZstdCompressStream2 = (
  cctx: unknown,
  output: ZstdBuffer,
  input: ZstdBuffer,
  endOp: number,
) => number | bigint;

interface LibzstdEncoding {
  createCCtx: () => unknown;
  freeCCtx: (cctx: unknown) => void;
  setParameter: (cctx: unknown, param: number, value: number) => number | bigint;
  compressStream2: KoffiFunc<ZstdCompressStream2>;
}

/** `ZSTD_cParameter` and `ZSTD_EndDirective` values (zstd.h, stable since 1.4.0). */
const ZSTD_C_COMPRESSION_LEVEL = 100;
const ZSTD_C_CHECKSUM_FLAG = 201;
const ZSTD_E_CONTINUE = 0;
const ZSTD_E_END = 2;

let bound: LibzstdEncoding | undefined;

function encoding(): LibzstdEncoding {
  if (bound) return bound;
  libzstd(); // declares the buffer structs used below
  const { lib } = zstdLibrary();
  bound = {
    createCCtx: lib.func('void *ZSTD_createCCtx()'),
    freeCCtx: lib.func('size_t ZSTD_freeCCtx(void *cctx)'),
    setParameter: lib.func('size_t ZSTD_CCtx_setParameter(void *cctx, int param, int value)'),
    compressStream2: lib.func(
      'size_t ZSTD_compressStream2(void *cctx, _Inout_ ocipeek_zstd_out *output, _Inout_ ocipeek_zstd_in *input, int endOp)',
    ),
  };
  return bound;
}

/** Output room of one step. */
const STEP_OUTPUT = 1024 * 1024;

/**
 * Compress `input` as one zstd frame with a content checksum, at `level` (default 3, the
 * `zstd` program's). Yields compressed pieces as they are made. {@link UnsupportedError}
 * when koffi or libzstd is missing.
 */
export async function* zstdCompress(
  input: AsyncIterable<Buffer>,
  level = 3,
): AsyncGenerator<Buffer, void, undefined> {
  const z = encoding();
  const d = libzstd();
  const cctx: unknown = z.createCCtx();
  const check = (code: number | bigint) => {
    if (d.isError(code)) throw new UnsupportedError(`zstd compression: ${d.errorName(code)}`);
    return code;
  };
  const step = (data: Buffer, endOp: number) =>
    new Promise<{ consumed: number; output: Buffer; left: number }>((resolve, reject) => {
      // koffi writes the struct back after the call (`data` becomes a pointer): keep the
      // Buffer itself to read the output from.
      const room = Buffer.allocUnsafe(STEP_OUTPUT);
      const out: ZstdBuffer = { data: room, size: STEP_OUTPUT, pos: 0 };
      const inp: ZstdBuffer = { data, size: data.length, pos: 0 };
      z.compressStream2.async(cctx, out, inp, endOp, (err, code) => {
        if (err) return reject(err);
        try {
          const left = Number(check(code));
          resolve({ consumed: inp.pos, output: room.subarray(0, out.pos), left });
        } catch (e) {
          reject(e);
        }
      });
    });
  try {
    check(z.setParameter(cctx, ZSTD_C_COMPRESSION_LEVEL, level));
    check(z.setParameter(cctx, ZSTD_C_CHECKSUM_FLAG, 1));
    for await (const chunk of input) {
      let rest = chunk;
      while (rest.length > 0) {
        const { consumed, output } = await step(rest, ZSTD_E_CONTINUE);
        if (output.length > 0) yield output;
        rest = rest.subarray(consumed);
      }
    }
    for (;;) {
      const { output, left } = await step(Buffer.alloc(0), ZSTD_E_END);
      if (output.length > 0) yield output;
      if (left === 0) break;
    }
  } finally {
    // A generator closed early runs this only after the step it awaited has ended.
    z.freeCCtx(cctx);
  }
}

/** What one compression step did. */
interface FrameStep {
  consumed: number;
  output: Buffer;
  /** Bytes libzstd still holds for the frame (0: the frame is flushed). */
  left: number;
}

/** Inputs up to this size are compressed by a synchronous call: the thread hop costs more. */
const SYNC_INPUT = 64 * 1024;

/**
 * One compression context reused for many frames, for zstd:chunked, which writes one zstd
 * frame per file chunk and per run of tar headers (tens of thousands a layer: a context
 * each would allocate its tables each time). Bytes are added with {@link write} and the
 * frame is closed with {@link end}; both resolve to the compressed bytes produced, possibly
 * none. Small inputs are compressed synchronously, larger ones on a worker thread. Frames
 * carry a content checksum, as the `zstd` program's and containers/storage's do. Call
 * {@link close} when done. {@link UnsupportedError} when koffi or libzstd is missing.
 */
export class ZstdFrameEncoder {
  private readonly z = encoding();
  private readonly d = libzstd();
  private cctx: unknown;
  private readonly room = Buffer.allocUnsafe(STEP_OUTPUT);

  constructor(level = 3) {
    this.cctx = this.z.createCCtx();
    this.check(this.z.setParameter(this.cctx, ZSTD_C_COMPRESSION_LEVEL, level));
    this.check(this.z.setParameter(this.cctx, ZSTD_C_CHECKSUM_FLAG, 1));
  }

  /** Add `data` to the open frame (opening one if none is). */
  async write(data: Buffer): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let rest = data;
    while (rest.length > 0) {
      const { consumed, output } = await this.step(rest, ZSTD_E_CONTINUE);
      if (output.length > 0) out.push(output);
      rest = rest.subarray(consumed);
    }
    return out;
  }

  /** Close the open frame, with `data` as its last bytes. */
  async end(data: Buffer = EMPTY): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let rest = data;
    for (;;) {
      const { consumed, output, left } = await this.step(rest, ZSTD_E_END);
      if (output.length > 0) out.push(output);
      rest = rest.subarray(consumed);
      if (left === 0 && rest.length === 0) return out;
    }
  }

  /** Free the context (idempotent). */
  close(): void {
    if (this.cctx === undefined) return;
    this.z.freeCCtx(this.cctx);
    this.cctx = undefined;
  }

  private check(code: number | bigint): number | bigint {
    if (this.d.isError(code)) {
      throw new UnsupportedError(`zstd compression: ${this.d.errorName(code)}`);
    }
    return code;
  }

  private step(data: Buffer, endOp: number): FrameStep | Promise<FrameStep> {
    if (this.cctx === undefined) throw new Error('ZstdFrameEncoder used after close()');
    // koffi writes the struct back after the call (`data` becomes a pointer): keep the
    // Buffer itself to read the output from.
    const out: ZstdBuffer = { data: this.room, size: STEP_OUTPUT, pos: 0 };
    const inp: ZstdBuffer = { data, size: data.length, pos: 0 };
    const result = (code: number | bigint) => ({
      consumed: inp.pos,
      // Copied: the room is reused by the next step.
      output: Buffer.from(this.room.subarray(0, out.pos)),
      left: Number(this.check(code)),
    });
    if (data.length <= SYNC_INPUT) {
      return result(this.z.compressStream2(this.cctx, out, inp, endOp) as number | bigint);
    }
    return new Promise((resolve, reject) => {
      this.z.compressStream2.async(this.cctx, out, inp, endOp, (err, code) => {
        if (err) return reject(err);
        try {
          resolve(result(code));
        } catch (e) {
          reject(e);
        }
      });
    });
  }
}

const EMPTY = Buffer.alloc(0);
