import { classify, hexDump } from '../file-head.js';

/** A file's first bytes as preview lines, and what to say about them. */
export interface PreviewText {
  lines: string[];
  note: string;
}

/** Text (UTF-8 without NUL bytes) as its lines; anything else as a hex dump. */
export function previewText(bytes: Buffer, cut: boolean): PreviewText {
  const more = cut ? `, first ${bytes.length} bytes` : '';
  if (classify(bytes) === 'text') {
    const text = bytes.toString('utf8');
    const lines = text.split('\n').map(showable);
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    return { lines, note: `text, ${lines.length} line(s)${more}` };
  }
  const lines = hexDump(bytes);
  return { lines, note: `binary, hex${more}` };
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
