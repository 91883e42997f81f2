import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Options for {@link TmuxPane.start}. */
export interface TmuxStartOptions {
  columns: number;
  rows: number;
  /** Folder for the exit status and terminal settings the wrapper writes. */
  dir: string;
  /** Environment of the command (tmux's own is not passed on). */
  env: Record<string, string>;
}

/** What the wrapper found when the command ended. */
export interface TmuxExit {
  code: number;
  /** `stty -a` in the pane after the command: the terminal settings it left behind. */
  stty: string;
}

let servers = 0;

/**
 * One command in a tmux pane on a private tmux server (a pseudo-terminal a user would
 * type in): keys go in with `send-keys`, the screen comes out with `capture-pane`. When
 * the command ends, its exit status and `stty -a` are written to files and the pane stays
 * (five minutes at most, should the test die before it kills the server).
 * {@link kill} ends the server and everything in it; call it in a `finally`.
 */
export class TmuxPane {
  private constructor(
    private readonly socket: string,
    private readonly dir: string,
  ) {}

  /** Start `argv` (quoted for sh here) in a fresh server's only pane. */
  static async start(argv: string[], options: TmuxStartOptions): Promise<TmuxPane> {
    const socket = `ocipeek-test-${process.pid}-${servers++}`;
    const pane = new TmuxPane(socket, options.dir);
    const env = Object.entries(options.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    const status = join(options.dir, 'exit-status');
    const stty = join(options.dir, 'stty');
    const script = `env -i ${env.join(' ')} ${argv.map(shellQuote).join(' ')}; echo $? > ${shellQuote(`${status}.tmp`)}; stty -a > ${shellQuote(stty)}; mv ${shellQuote(`${status}.tmp`)} ${shellQuote(status)}; exec sleep 300`;
    await pane.tmux(
      'new-session',
      '-d',
      '-x',
      String(options.columns),
      '-y',
      String(options.rows),
      'sh',
      '-c',
      script,
    );
    return pane;
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, '-f', '/dev/null', ...args]);
    return stdout;
  }

  /** Type keys (tmux key names: `Tab`, `Enter`, `Up`, `C-c`, or literal text with `-l`). */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', '0', ...keys);
  }

  /** Type `text` literally. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', '0', '-l', text);
  }

  /** The screen as text lines (trailing spaces trimmed by tmux). */
  async screen(): Promise<string[]> {
    return (await this.tmux('capture-pane', '-p', '-t', '0')).split('\n');
  }

  /** A tmux format of the pane, e.g. `#{alternate_on}`. */
  async format(format: string): Promise<string> {
    return (await this.tmux('display-message', '-p', '-t', '0', format)).trim();
  }

  /** Resize the window (and with it the pane): the command gets SIGWINCH. */
  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', '0', '-x', String(columns), '-y', String(rows));
  }

  /** The process ids running in the pane below its shell (the command under test). */
  async commandPids(): Promise<number[]> {
    const shell = await this.format('#{pane_pid}');
    const children = await readFile(`/proc/${shell}/task/${shell}/children`, 'utf8');
    return children.trim().split(/\s+/).filter(Boolean).map(Number);
  }

  /**
   * Poll the screen until `test` accepts it. Generous by default (a loaded machine may take
   * long to start node and read an image); fails with the last screen.
   */
  async waitFor(
    what: string,
    test: (lines: string[]) => boolean,
    timeoutMs = 120_000,
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = await this.screen();
      if (test(lines)) return lines;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${lines.join('\n')}`);
  }

  /** Wait for the command to end; its status and the terminal settings it left. */
  async exited(timeoutMs = 120_000): Promise<TmuxExit> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const code = await readFile(join(this.dir, 'exit-status'), 'utf8').catch(() => undefined);
      if (code !== undefined) {
        return { code: Number(code.trim()), stty: await readFile(join(this.dir, 'stty'), 'utf8') };
      }
      await sleep(100);
    }
    throw new Error(`the command did not end; the screen:\n${(await this.screen()).join('\n')}`);
  }

  /** End the tmux server and what runs in it. */
  kill(): void {
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
