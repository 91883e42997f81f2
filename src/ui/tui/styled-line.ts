import stringWidth from 'string-width';

/** What a run of text looks like on a colour terminal. */
export type Style =
  | 'plain'
  | 'bold'
  | 'dim'
  | 'title'
  | 'selected'
  | 'added'
  | 'modified'
  | 'deleted'
  | 'dir'
  | 'link';

/** A run of text in one style. */
export interface Segment {
  text: string;
  style?: Style;
}

/** One screen line, as runs of text. */
export type StyledLine = Segment[];

/** SGR parameters for each style (reset after each run). */
const SGR: Record<Style, string> = {
  plain: '',
  bold: '1',
  dim: '2',
  title: '1;7',
  selected: '7',
  added: '32',
  modified: '33',
  deleted: '31',
  dir: '34;1',
  link: '36',
};

/**
 * Width of `text` in terminal cells, as terminals draw it: East Asian wide characters
 * (CJK) and emoji take two cells, combining marks and zero-width joiners none
 * (string-width, the measure terminal UIs such as ink use; text reaching here is already
 * escaped of control characters).
 */
export function cellWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Cut `line` to exactly `width` cells: runs past the end are cut (last cell `…`), short
 * ones padded. Cuts fall between user-perceived characters (a flag or a family emoji is
 * never split), and a wide character that does not fit leaves a space instead.
 */
export function fitLine(line: StyledLine, width: number, padStyle?: Style): StyledLine {
  const out: StyledLine = [];
  let used = 0;
  for (const seg of line) {
    if (used >= width) break;
    const w = cellWidth(seg.text);
    if (used + w <= width) {
      out.push(seg);
      used += w;
      continue;
    }
    const room = width - used - 1;
    let kept = '';
    let keptWidth = 0;
    for (const { segment } of graphemes.segment(seg.text)) {
      const g = cellWidth(segment);
      if (keptWidth + g > room) break;
      kept += segment;
      keptWidth += g;
    }
    out.push({ text: `${kept}${' '.repeat(room - keptWidth)}…`, style: seg.style });
    used = width;
  }
  if (used < width) out.push({ text: ' '.repeat(width - used), style: padStyle });
  return out;
}

/** `line` with every run in `style` (a selected row is one inverse bar). */
export function restyle(line: StyledLine, style: Style): StyledLine {
  return line.map((s) => ({ text: s.text, style }));
}

/** The line as terminal text: with SGR colour codes when `colour`, else plain. */
export function lineText(line: StyledLine, colour: boolean): string {
  let out = '';
  for (const seg of line) {
    const sgr = colour && seg.style ? SGR[seg.style] : '';
    out += sgr ? `\x1b[${sgr}m${seg.text}\x1b[0m` : seg.text;
  }
  return out;
}

/** The plain text of `line`. */
export function plainText(line: StyledLine): string {
  return line.map((s) => s.text).join('');
}
