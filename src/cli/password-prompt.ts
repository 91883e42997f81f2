import { InvalidArgumentError } from '../errors/index.js';

/** What a terminal in raw mode sends for the keys a password prompt handles. */
const ENTER = new Set(['\r', '\n', '\u0004']); // Return, Ctrl-J, Ctrl-D
const INTERRUPT = '\u0003'; // Ctrl-C: raw mode turns off the terminal's own SIGINT
const ERASE = new Set(['\u007f', '\b']);
const KILL_LINE = '\u0015'; // Ctrl-U

/**
 * Ask for a password on the terminal without echoing it, as `podman login` does. Written
 * here rather than taken from npm (`read`, `password-prompt`): those are ESM-only or
 * unmaintained, and the whole job is raw mode and five keys.
 *
 * Needs standard input to be a terminal ({@link InvalidArgumentError} otherwise, naming
 * `--password-stdin`). Ctrl-C ends the run as an interruption.
 */
export async function promptPassword(prompt: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    throw new InvalidArgumentError(
      'no password: standard input is not a terminal; pipe it with --password-stdin',
    );
  }
  // Echo goes off before the prompt shows: what is typed after it is never shown.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let password = '';
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(password);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ENTER.has(ch)) return finish();
        if (ch === INTERRUPT) {
          const err = new Error('interrupted');
          err.name = 'AbortError';
          return finish(err);
        }
        if (ERASE.has(ch)) password = [...password].slice(0, -1).join('');
        else if (ch === KILL_LINE) password = '';
        else password += ch;
      }
    };
    input.on('data', onData);
  });
}
