import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { errnoCode } from './fs-errors.js';

/**
 * Who holds something in the store (a lock, a pin, a staging folder): enough to tell,
 * from another process on the same machine, whether that holder still runs.
 */
export interface ProcessOwner {
  host: string;
  pid: number;
  /** `/proc/sys/kernel/random/boot_id`: a holder from before a reboot is dead. */
  bootId?: string;
  /**
   * The process's start time in clock ticks since boot (`/proc/PID/stat` field 22): a
   * pid reused by another process (common in containers, where pids restart low) has
   * another start time.
   */
  started?: string;
  /** Random, unique per lock or record: tells two holders in one process apart. */
  token: string;
}

/** Whether a recorded owner still runs; `unknown` when it lives on another host. */
export type OwnerState = 'alive' | 'dead' | 'unknown';

let self: Omit<ProcessOwner, 'token'> | undefined;

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // no /proc (not Linux, or hidden): pid checks alone
  }
}

/** Field 22 of `/proc/PID/stat`; the command name (field 2) may hold spaces and `)`. */
export function startTimeOf(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** This process as an owner, with a fresh token. */
export function currentOwner(): ProcessOwner {
  self ??= {
    host: hostname(),
    pid: process.pid,
    bootId: readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined,
    started: startTimeOf(process.pid),
  };
  return { ...self, token: randomBytes(12).toString('hex') };
}

/** Whether a process with this id exists on this host (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(err) === 'EPERM';
  }
}

/** Boot time in ms since the epoch (`btime` of `/proc/stat`), read once. */
let bootMs: number | undefined | null = null;

/**
 * When process `pid` started, in ms since the epoch, or undefined without `/proc`. The
 * start is in clock ticks since boot; Linux reports them in USER_HZ, 100 on every
 * architecture's user ABI. `btime` is cut to the second, so this may read up to a second
 * early, never late.
 */
export function startTimeMsOf(pid: number): number | undefined {
  if (bootMs === null) {
    const btime = /^btime (\d+)$/m.exec(readProc('/proc/stat') ?? '');
    bootMs = btime ? Number(btime[1]) * 1000 : undefined;
  }
  const ticks = startTimeOf(pid);
  if (bootMs === undefined || ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
  return bootMs + Number(ticks) * 10;
}

/**
 * Whether process `pid` may be the writer of a store file or folder whose status last
 * changed at `changedMs` (its ctime): it runs, and it did not start after that change. A
 * writer creates its files after it starts, and nothing sets a ctime back (unlike an
 * mtime, which a writer may copy from a source), so a process that started later is
 * another one that reused the pid: common in containers, where pids restart low, and it
 * would otherwise keep a crashed writer's leftovers for as long as it runs. The two
 * seconds allow for the start time's rounding and small clock steps.
 */
export function mayBeWriterOf(pid: number, changedMs: number): boolean {
  if (!isAlive(pid)) return false;
  const started = startTimeMsOf(pid);
  return started === undefined || started <= changedMs + 2000;
}

/**
 * Judge a recorded owner: on this host, dead when the machine rebooted since (another
 * boot id), when its pid is gone, or when the pid now belongs to a process that started
 * at another time. Another host's processes cannot be checked: `unknown`, and the caller
 * falls back to something else (a lock's heartbeat).
 */
export function ownerState(owner: Partial<ProcessOwner>): OwnerState {
  const me = currentOwner();
  if (owner.host !== me.host || !Number.isInteger(owner.pid) || (owner.pid as number) <= 0) {
    return 'unknown';
  }
  if (owner.bootId && me.bootId && owner.bootId !== me.bootId) return 'dead';
  const pid = owner.pid as number;
  if (!isAlive(pid)) return 'dead';
  if (owner.started && me.started) {
    const now = pid === me.pid ? me.started : startTimeOf(pid);
    if (now !== undefined && now !== owner.started) return 'dead';
  }
  return 'alive';
}

/** Parse a JSON owner record, or `undefined` when it is not one. */
export function parseOwner(value: unknown): ProcessOwner | undefined {
  const o = value as Partial<ProcessOwner> | null;
  if (!o || typeof o !== 'object') return undefined;
  if (typeof o.host !== 'string' || !Number.isInteger(o.pid) || typeof o.token !== 'string') {
    return undefined;
  }
  return o as ProcessOwner;
}
