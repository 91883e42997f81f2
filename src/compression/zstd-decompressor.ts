import type { ChildProcessByStdio } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { DecompressionError, UnsupportedError } from '../errors/index.js';
import { childProcess } from '../node/lazy-builtins.js';

/** Options for {@link ZstdDecompressor}. */
export interface ZstdDecompressorOptions {
  /** The zstd executable; default `zstd` from PATH (Debian package `zstd`). */
  command?: string;
}

const STDERR_CAP = 4096;

/**
 * A zstd decompressor as a duplex stream: compressed bytes in, tar bytes out.
 *
 * Why a child process: Node 20's zlib has no zstd (it arrives in Node 22.15/23.8), and
 * there is no maintained pure-JS streaming zstd decoder fast enough for multi-GB layers
 * (fzstd decodes at a fraction of the native speed and buffers whole frames). The
 * `zstd -dc` CLI streams at native speed on another core. Backpressure is kept in both
 * directions (stdin drain, stdout pause/resume); a non-zero exit turns into a
 * {@link DecompressionError} carrying zstd's own message; destroying the stream kills
 * the process so an early stop (e.g. `cat` found its file) leaves nothing behind.
 */
export class ZstdDecompressor extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private exited = false;
  private inputDone = false;

  constructor(options: ZstdDecompressorOptions = {}) {
    super({ readableHighWaterMark: 64 * 1024 });
    const command = options.command ?? 'zstd';
    this.child = childProcess().spawn(command, ['-d', '-c', '-q'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const { child } = this;
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.exited = true;
      if (err.code === 'ENOENT') {
        this.destroy(
          new UnsupportedError(`zstd layers need the '${command}' command (Debian package zstd)`),
        );
      } else {
        this.destroy(new DecompressionError('zstd', err.message, { cause: err }));
      }
    });
    // EPIPE when zstd quits early on corrupt input: its exit status tells the real story.
    child.stdin.on('error', () => {});
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (this.stderr.length < STDERR_CAP) this.stderr += text;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.on('close', (code, signal) => {
      this.exited = true;
      if (this.destroyed) return;
      if (code === 0 && this.inputDone) {
        this.push(null);
        return;
      }
      const detail =
        this.stderr
          .trim()
          .split('\n')
          .pop()
          ?.replace(/^zstd: /, '') ||
        (code === 0 ? 'exited before reading all input' : `exit ${code ?? signal}`);
      this.destroy(new DecompressionError('zstd', detail));
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.exited) {
      done();
      return;
    }
    if (this.child.stdin.write(chunk)) done();
    else this.child.stdin.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.inputDone = true;
    this.child.stdin.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.child.stdout.destroy();
    this.child.stdin.destroy();
    done(err);
  }
}
