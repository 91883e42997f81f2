import type { Readable } from 'node:stream';

/**
 * The start of a file as both viewers show it (the web explorer's file page and the
 * terminal browser's preview): read a head without fetching the rest, tell text from
 * binary, dump binary as `hexdump -C` does. One copy, so the two views agree.
 */

/** Bytes of a file a preview reads; the rest is not fetched. */
export const PREVIEW_BYTES = 64 * 1024;

/**
 * Read the first `limit` bytes of `stream` and destroy it: a 2 GiB file costs what the
 * preview shows (and, for an ordinary layer, the layer up to there), never the whole
 * file. `truncated` is true when the stream gave more than `limit` bytes (one chunk past
 * the limit is read to know).
 */
export async function readHead(
  stream: Readable,
  limit = PREVIEW_BYTES,
): Promise<{ head: Buffer; truncated: boolean }> {
  const parts: Buffer[] = [];
  let got = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      parts.push(b);
      got += b.length;
      if (got > limit) {
        truncated = true;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  return { head: Buffer.concat(parts).subarray(0, limit), truncated };
}

/** Text when the head has no NUL and is UTF-8 (a character cut at the end allowed). */
export function classify(head: Buffer): 'text' | 'binary' {
  if (head.includes(0)) return 'binary';
  try {
    // `stream`: a cut in the middle of the last character is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'text';
  } catch {
    return 'binary';
  }
}

/** `hexdump -C` lines of the first `limit` bytes: offset, 16 bytes in hex, the printable ones as text. */
export function hexDump(bytes: Buffer, limit = bytes.length): string[] {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  for (let off = 0; off < end; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, end));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'));
    lines.push(
      `${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${text.join('')}|`,
    );
  }
  return lines;
}
