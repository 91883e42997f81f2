import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * Keeps the daemons tests start (docker-registry, containerd) from outliving the test
 * process: a synchronous exit hook for normal exits, and a watchdog process for deaths by
 * signal, where 'exit' handlers never run.
 */

/** Daemons still running, killed at exit as a last resort. */
export const liveChildren = new Set<ChildProcess>();
/** Their temp folders, removed at exit as a last resort. */
export const liveDirs = new Set<string>();
let exitHookInstalled = false;

/** Install (once) the hook that kills live daemons and removes their folders at exit. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL is all we can do here.
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * A guard process that SIGKILLs `pid` and removes `dir` when our end of its stdin closes,
 * which also happens when this Node process dies from a signal (where 'exit' handlers do
 * not run). Writing `cancel` releases it without killing.
 */
export function spawnWatchdog(pid: number, dir: string): ChildProcess {
  const script = 'read line; [ "$line" = cancel ] || { kill -KILL "$1"; sleep 0.2; rm -rf "$2"; }';
  const dog = spawn('sh', ['-c', script, 'watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  dog.unref();
  (dog.stdin as unknown as Socket).unref();
  dog.stdin?.on('error', () => {});
  return dog;
}

/** Bytes of a daemon's output kept for error messages and `logs()`. */
const LOG_LIMIT = 256 * 1024;

/** A daemon started by {@link spawnDaemon}. */
export interface Daemon {
  child: ChildProcess;
  /** Its stdout and stderr so far (the last 256 KiB). */
  logs(): string;
}

/**
 * Start a test daemon: its output is captured (bounded), it is counted as live until it
 * exits, and it is unref'd so a forgotten daemon does not keep the test process alive (the
 * exit hook and the watchdog kill it instead).
 */
export function spawnDaemon(command: string, args: string[]): Daemon {
  let logText = '';
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      logText += chunk.toString('utf8');
      if (logText.length > LOG_LIMIT) logText = logText.slice(-LOG_LIMIT);
    });
    (stream as unknown as Socket | null)?.unref();
  }
  return { child, logs: () => logText };
}
