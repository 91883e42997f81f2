import { HttpParseError } from './http1-head.js';

/** Longest chunk-size line, extensions included. */
const MAX_SIZE_LINE = 4096;
/** Most bytes of trailer fields after the last chunk (they are read and ignored). */
const MAX_TRAILER_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;

// Decoder states.
const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER = 7;
const TRAILER_LF = 8;
const END_LF = 9;
const DONE = 10;

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Decodes `Transfer-Encoding: chunked` (RFC 9112 section 7.1) incrementally, without
 * copying: it reports where the data of each chunk lies in the bytes it is given, so the
 * caller can hand those ranges on as views. Chunk extensions and trailer fields are
 * skipped (bounded); lines must end in CRLF.
 */
export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;

  /** True once the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Decode `bytes[start..end)`, calling `onData(from, to)` for every run of body bytes.
   * Returns the index just past the last byte used: `end`, or less when the body ended
   * inside the range (the rest is not part of this response).
   */
  decode(
    bytes: Uint8Array,
    start: number,
    end: number,
    onData: (from: number, to: number) => void,
  ): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case DATA: {
          const to = Math.min(end, i + this.size);
          onData(i, to);
          this.size -= to - i;
          i = to;
          if (this.size === 0) this.state = DATA_CR;
          continue;
        }
        case SIZE: {
          const byte = bytes[i] as number;
          const digit = hexValue(byte);
          if (++this.lineBytes > MAX_SIZE_LINE) fail('chunk size line too long');
          if (digit >= 0) {
            if (++this.digits > 13) fail('chunk size too large');
            this.size = this.size * 16 + digit;
          } else if (this.digits > 0 && (byte === 0x3b || byte === 0x20 || byte === 0x09)) {
            this.state = EXTENSION; // `;ext=value`, or whitespace before it
          } else if (this.digits > 0 && byte === CR) {
            this.state = SIZE_LF;
          } else {
            fail('bad chunk size');
          }
          break;
        }
        case EXTENSION: {
          const byte = bytes[i] as number;
          if (++this.lineBytes > MAX_SIZE_LINE) fail('chunk size line too long');
          if (byte === CR) this.state = SIZE_LF;
          else if (byte === LF || byte === 0) fail('bad chunk extension');
          break;
        }
        case SIZE_LF:
          if (bytes[i] !== LF) fail('chunk size line not ended by CRLF');
          this.state = this.size === 0 ? TRAILER_START : DATA;
          this.digits = 0;
          this.lineBytes = 0;
          break;
        case DATA_CR:
          if (bytes[i] !== CR) fail('chunk data longer than its size');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (bytes[i] !== LF) fail('chunk data not ended by CRLF');
          this.state = SIZE;
          break;
        case TRAILER_START:
          // A CR here ends the trailer section; anything else starts a field.
          this.state = bytes[i] === CR ? END_LF : TRAILER;
          if (this.state === TRAILER) continue; // this byte belongs to the field
          break;
        case TRAILER: {
          const byte = bytes[i] as number;
          if (++this.trailerBytes > MAX_TRAILER_BYTES) fail('trailer fields too large');
          if (byte === CR) this.state = TRAILER_LF;
          else if (byte === LF || byte === 0) fail('bad trailer field');
          break;
        }
        case TRAILER_LF:
          if (bytes[i] !== LF) fail('trailer field not ended by CRLF');
          this.state = TRAILER_START;
          break;
        case END_LF:
          if (bytes[i] !== LF) fail('chunked body not ended by CRLF');
          this.state = DONE;
          return i + 1;
        case DONE:
          return i;
      }
      i++;
    }
    return i;
  }
}

function fail(what: string): never {
  throw new HttpParseError('HPE_INVALID_CHUNK_SIZE', what);
}
