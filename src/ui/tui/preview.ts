import type { Readable } from 'node:stream';

/** Bytes of a file the preview reads; the rest is not fetched. */
export const PREVIEW_BYTES = 64 * 1024;

/** A file's first bytes as preview lines, and what to say about them. */
export interface PreviewText {
  lines: string[];
  note: string;
}

/**
 * Read at most `limit` bytes of `stream`, then stop it (a lazy or remote file is not
 * fetched further). Resolves with what was read and whether there was more.
 */
export async function readHead(
  stream: Readable,
  limit = PREVIEW_BYTES,
): Promise<{ bytes: Buffer; cut: boolean }> {
  const parts: Buffer[] = [];
  let total = 0;
  let cut = false;
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      parts.push(buf);
      total += buf.length;
      if (total >= limit) {
        cut = total > limit;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  const bytes = Buffer.concat(parts);
  return { bytes: bytes.subarray(0, limit), cut: cut || bytes.length > limit };
}

/** Text (UTF-8 without NUL bytes) as its lines; anything else as a hex dump. */
export function previewText(bytes: Buffer, cut: boolean): PreviewText {
  const more = cut ? `, first ${bytes.length} bytes` : '';
  if (isText(bytes)) {
    const text = bytes.toString('utf8');
    const lines = text.split('\n').map(showable);
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    return { lines, note: `text, ${lines.length} line(s)${more}` };
  }
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
      .join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return { lines, note: `binary, hex${more}` };
}

function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  try {
    // `stream`: a cut in the middle of the last character is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Tabs as spaces, other control characters as `^X`: a file cannot drive the terminal. */
function showable(line: string): string {
  return line
    .replace(/\t/g, '    ')
    .replace(
      /[\x00-\x1f\x7f\x80-\x9f]/g,
      (c) => `^${String.fromCharCode((c.charCodeAt(0) + 64) & 0x7f)}`,
    );
}
