import type { Readable } from 'node:stream';

/** Bytes of a file a page shows as text; the rest is behind the download link. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;
/** Bytes of a binary file a page shows as a hex dump. */
export const HEX_PREVIEW_BYTES = 4 * 1024;

/** The start of a file, read without reading the rest. */
export interface FilePreview {
  kind: 'text' | 'binary';
  /** The first bytes (at most {@link TEXT_PREVIEW_BYTES}). */
  head: Buffer;
  /** True when the file goes on past `head`. */
  truncated: boolean;
}

/** Image types a browser shows, by extension; served raw to an `<img>`. */
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
};

/** The media type of an image file by its name, or `undefined`. SVG is left out: it can hold script. */
export function imageTypeOf(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? undefined : IMAGE_TYPES[path.slice(dot + 1).toLowerCase()];
}

/**
 * Read the first `limit` bytes of `stream` and destroy it: a 2 GiB file costs what the
 * page shows (and, for an ordinary layer, the layer up to there), never the whole file.
 */
export async function readHead(
  stream: Readable,
  limit = TEXT_PREVIEW_BYTES,
): Promise<{ head: Buffer; truncated: boolean }> {
  const parts: Buffer[] = [];
  let got = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
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
export function classify(head: Buffer): FilePreview['kind'] {
  if (head.includes(0)) return 'binary';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'text';
  } catch {
    return 'binary';
  }
}

/** Read the start of a file and say whether it is text. */
export async function previewFile(stream: Readable): Promise<FilePreview> {
  const { head, truncated } = await readHead(stream);
  return { kind: classify(head), head, truncated };
}

/** `hexdump -C` lines: offset, 16 bytes in hex, the printable ones as text. */
export function hexDump(bytes: Buffer, limit = HEX_PREVIEW_BYTES): string[] {
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
