import type { ScreenSize } from './render.js';
import { lineText, type StyledLine } from './styled-line.js';

/** Where a screen writes (a TTY's write stream, or anything with `write`). */
export interface ScreenOutput {
  write(text: string): unknown;
}

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[2J';
const LEAVE = '\x1b[0m\x1b[?25h\x1b[?1049l';

/**
 * A tiny screen-diff renderer over plain ANSI: each frame is a list of lines, and only the
 * lines that differ from the previous frame are written (cursor moved to the line, the
 * line written over the old one: every line is as wide as the screen). A size change redraws everything.
 *
 * Why not a library: the maintained terminal UI libraries are either React renderers (ink:
 * React, a layout engine, a reconciler: megabytes for two lists and a status line) or
 * large widget toolkits (blessed is unmaintained; its forks and terminal-kit bring their
 * own input, terminfo and event systems). The browser needs four things: the alternate
 * screen, cursor positioning, SGR colours, and line diffs to avoid flicker. That is the
 * sixty lines here, and the model and the renderer stay plain functions one can test.
 */
export class Screen {
  private previous: string[] = [];
  private size: ScreenSize | undefined;
  private active = false;

  constructor(
    private readonly out: ScreenOutput,
    private readonly colour: boolean,
  ) {}

  /** Switch to the alternate screen and hide the cursor. */
  enter(): void {
    if (this.active) return;
    this.active = true;
    this.out.write(ENTER);
  }

  /**
   * Give the terminal back as it was: colours reset, cursor shown, the main screen back.
   * Safe to call more than once, and from an exit handler (it writes synchronously on a TTY).
   */
  leave(): void {
    if (!this.active) return;
    this.active = false;
    this.out.write(LEAVE);
  }

  /** Show `lines`, writing only those that changed since the last frame of the same size. */
  draw(lines: StyledLine[], size: ScreenSize): void {
    const texts = lines.map((l) => lineText(l, this.colour));
    let out = '';
    if (!this.size || this.size.columns !== size.columns || this.size.rows !== size.rows) {
      out += '\x1b[0m\x1b[2J';
      this.previous = [];
      this.size = size;
    }
    texts.forEach((text, row) => {
      if (this.previous[row] === text) return;
      // Lines are exactly as wide as the screen: no erase needed (and an erase after the
      // last column would wipe that column's character).
      out += `\x1b[${row + 1};1H${text}`;
    });
    this.previous = texts;
    if (out) this.out.write(out);
  }
}
