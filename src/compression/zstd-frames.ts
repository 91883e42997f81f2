import { DecompressionError } from '../errors/index.js';

/**
 * The largest window a frame may ask for: 2^27 bytes, the default limit of libzstd and of
 * the `zstd` program (frames made with `--long=28` and up need an explicit larger limit).
 */
export const ZSTD_MAX_WINDOW = 2 ** 27;

/** The most a block may hold or decode to (RFC 8878 3.1.1.2.4). */
export const ZSTD_MAX_BLOCK = 128 * 1024;

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;

type State = 'magic' | 'descriptor' | 'header' | 'skippable' | 'block' | 'checksum';

/** What {@link ZstdFrameWalker.walk} got through. */
export interface FrameWalk {
  /** Bytes walked: all given, or fewer when a frame or the block budget ended first. */
  walked: number;
  /** A frame (zstd or skippable) ended at `walked`. */
  frameEnded: boolean;
  /** The ended zstd frame's content checksum (low 32 bits of its XXH64), if it has one. */
  checksum?: number;
}

const fail = (detail: string) => new DecompressionError('zstd', detail);

/**
 * Walks the frame structure of zstd data without decoding it: frame headers, block
 * headers, checksums and skippable frames (RFC 8878). The JavaScript decoder relies on it
 * for what it does not do itself: it refuses frames whose window is larger than
 * {@link ZSTD_MAX_WINDOW} (fzstd would allocate up to 2 GiB for one), it stops at each
 * frame's end and hands over the frame's checksum, and it knows whether the data so far
 * ends between frames (whole) or inside one (truncated).
 */
export class ZstdFrameWalker {
  private state: State = 'magic';
  /** Bytes of the header being read, up to `want`. */
  private head: number[] = [];
  private want = 4;
  /** Bytes of content still to pass over, then `afterSkip`. */
  private skip = 0;
  private afterSkip: State = 'magic';
  private hasChecksum = false;
  private ended: { checksum?: number } | undefined;

  /** True when the data walked so far ends between frames. */
  get atFrameBoundary(): boolean {
    return this.state === 'magic' && this.head.length === 0 && this.skip === 0;
  }

  /**
   * Walk `bytes` up to the end of the current frame, starting at most `maxBlocks` new
   * blocks (each decodes to at most 128 KiB, so this bounds what the bytes walked can
   * inflate to); a {@link DecompressionError} when they cannot be zstd frames.
   */
  walk(bytes: Uint8Array, maxBlocks = Number.POSITIVE_INFINITY): FrameWalk {
    let i = 0;
    let blocks = 0;
    this.ended = undefined;
    while (i < bytes.length && !this.ended) {
      if (this.state === 'block' && this.head.length === 0 && this.skip === 0) {
        if (blocks === maxBlocks) break;
        blocks++;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, bytes.length - i);
        i += n;
        this.skip -= n;
        if (this.skip === 0) this.enter(this.afterSkip);
        continue;
      }
      const n = Math.min(this.want - this.head.length, bytes.length - i);
      for (let k = 0; k < n; k++) this.head.push(bytes[i + k]!);
      i += n;
      if (this.head.length === this.want) this.headerDone();
    }
    // (`ended` is set by the calls above; a cast, since TypeScript narrowed it to undefined)
    const ended = this.ended as { checksum?: number } | undefined;
    return { walked: i, frameEnded: ended !== undefined, ...ended };
  }

  private enter(state: State): void {
    if (state === 'magic' && this.state !== 'checksum') this.ended = {};
    this.state = state;
    this.head = [];
    this.want = state === 'block' ? 3 : 4;
  }

  private skipThen(bytes: number, next: State): void {
    this.afterSkip = next;
    this.skip = bytes;
    if (bytes === 0) this.enter(next);
  }

  private headerDone(): void {
    const h = this.head;
    const u32 = (at: number) =>
      (h[at]! | (h[at + 1]! << 8) | (h[at + 2]! << 16) | (h[at + 3]! << 24)) >>> 0;
    switch (this.state) {
      case 'magic': {
        const magic = u32(0);
        if (magic === ZSTD_MAGIC) {
          this.state = 'descriptor';
          this.want = 5;
        } else if ((magic & 0xfffffff0) === SKIPPABLE_MAGIC) {
          this.state = 'skippable';
          this.want = 8;
        } else {
          throw fail(`unknown frame magic 0x${magic.toString(16).padStart(8, '0')}`);
        }
        return;
      }
      case 'skippable':
        this.skipThen(u32(4), 'magic');
        return;
      case 'descriptor': {
        const fhd = h[4]!;
        if (fhd & 0x08) throw fail('reserved bit set in a frame header');
        const single = (fhd >> 5) & 1;
        const fcsFlag = fhd >> 6;
        this.hasChecksum = ((fhd >> 2) & 1) === 1;
        this.state = 'header';
        this.want =
          5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + (fcsFlag ? 1 << fcsFlag : single);
        return;
      }
      case 'header': {
        const window = this.windowSize();
        if (window > ZSTD_MAX_WINDOW) {
          throw fail(
            `a frame needs a ${window}-byte window, more than the limit of ${ZSTD_MAX_WINDOW} bytes`,
          );
        }
        this.enter('block');
        return;
      }
      case 'block': {
        const header = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        const type = (header >> 1) & 3;
        if (type === 3) throw fail('reserved block type');
        const size = header >>> 3;
        if (size > ZSTD_MAX_BLOCK) throw fail(`a block of ${size} bytes, over the 128 KiB maximum`);
        const content = type === 1 ? 1 : size;
        const last = (header & 1) === 1;
        this.skipThen(content, !last ? 'block' : this.hasChecksum ? 'checksum' : 'magic');
        return;
      }
      case 'checksum':
        this.enter('magic');
        this.ended = { checksum: u32(0) };
        return;
    }
  }

  /** The window of the frame whose header is in `head` (RFC 8878 3.1.1.1.2). */
  private windowSize(): number {
    const h = this.head;
    const fhd = h[4]!;
    if (((fhd >> 5) & 1) === 0) {
      const base = 2 ** (10 + (h[5]! >> 3));
      return base + (base / 8) * (h[5]! & 7);
    }
    // Single segment: the window is the content size, stored after the dictionary id.
    const fcsFlag = fhd >> 6;
    const at = 5 + [0, 1, 2, 4][fhd & 3]!;
    let size = 0;
    for (let k = (fcsFlag ? 1 << fcsFlag : 1) - 1; k >= 0; k--) size = size * 256 + h[at + k]!;
    return fcsFlag === 1 ? size + 256 : size;
  }
}
