/**
 * A key press: a named key (`up`, `enter`, `ctrl-c`…) or the printable character typed.
 */
export type Key =
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'pageup'
  | 'pagedown'
  | 'home'
  | 'end'
  | 'enter'
  | 'tab'
  | 'backtab'
  | 'backspace'
  | 'escape'
  | 'ctrl-c'
  | 'ctrl-d'
  | 'ctrl-l'
  | { char: string };

/** The escape sequences terminals send for the named keys (xterm and VT220 forms). */
const SEQUENCES: Record<string, Key> = {
  '\x1b[A': 'up',
  '\x1b[B': 'down',
  '\x1b[C': 'right',
  '\x1b[D': 'left',
  '\x1bOA': 'up',
  '\x1bOB': 'down',
  '\x1bOC': 'right',
  '\x1bOD': 'left',
  '\x1b[5~': 'pageup',
  '\x1b[6~': 'pagedown',
  '\x1b[H': 'home',
  '\x1b[F': 'end',
  '\x1bOH': 'home',
  '\x1bOF': 'end',
  '\x1b[1~': 'home',
  '\x1b[4~': 'end',
  '\x1b[7~': 'home',
  '\x1b[8~': 'end',
  '\x1b[Z': 'backtab',
};

const CONTROL: Record<string, Key> = {
  '\r': 'enter',
  '\n': 'enter',
  '\t': 'tab',
  '\x7f': 'backspace',
  '\b': 'backspace',
  '\x03': 'ctrl-c',
  '\x04': 'ctrl-d',
  '\x0c': 'ctrl-l',
};

/**
 * The keys in one read from a terminal in raw mode. An escape sequence arrives whole in
 * one read (terminals write it at once); a lone ESC is the Escape key. Sequences not
 * known here (function keys, mouse reports) are dropped rather than typed as text.
 */
export function decodeKeys(data: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < data.length) {
    const c = data[i]!;
    if (c === '\x1b') {
      const seq = /^\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O[A-Za-z])/.exec(data.slice(i));
      if (seq) {
        const named = SEQUENCES[seq[0]];
        if (named) keys.push(named);
        i += seq[0].length;
      } else {
        keys.push('escape');
        i++;
      }
      continue;
    }
    const control = CONTROL[c];
    if (control) keys.push(control);
    else if (c >= ' ') {
      const cp = data.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      keys.push({ char: ch });
      i += ch.length;
      continue;
    }
    i++;
  }
  return keys;
}
