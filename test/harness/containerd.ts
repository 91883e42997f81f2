import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { installExitHook, liveDirs, spawnDaemon, spawnWatchdog } from './process-guard.js';

const run = promisify(execFile);

/** Options for {@link startContainerd}. */
export interface StartContainerdOptions {
  /** Namespace {@link RunningContainerd.ctr} and `ctrRemote` pass. Default `ocipeek`. */
  namespace?: string;
  /** Give up waiting for `ctr version` to answer after this many ms. Default 20000. */
  startTimeoutMs?: number;
  /** Abort start-up. */
  signal?: AbortSignal;
}

/** Options for {@link RunningContainerd.ctr} and {@link RunningContainerd.ctrRemote}. */
export interface CtrRunOptions {
  /** Kill the command after this many ms. Default 120000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What a `ctr`/`ctr-remote` run printed. */
export interface CtrOutput {
  stdout: string;
  stderr: string;
}

/** A private `containerd` on its own socket and state (see {@link startContainerd}). */
export interface RunningContainerd {
  /** The gRPC unix socket (`--address` of `ctr`). */
  address: string;
  /** Namespace the helpers use. */
  namespace: string;
  /** The temp folder holding config, socket, `root/` and `state/`. */
  rootDir: string;
  /** `ctr --address SOCK --namespace NS ARGS…`; rejects with stderr on failure. */
  ctr(args: string[], options?: CtrRunOptions): Promise<CtrOutput>;
  /** `ctr-remote --address SOCK --namespace NS ARGS…` (stargz-snapshotter's converter). */
  ctrRemote(args: string[], options?: CtrRunOptions): Promise<CtrOutput>;
  /** Kill the daemon, wait for it to exit, remove `rootDir`. */
  stop(): Promise<void>;
  /** The daemon's log so far (last 256 KiB). */
  logs(): string;
}

/**
 * The daemon only ever stores content here: CRI would start a kubelet-facing server and
 * want CNI; `opt` would create `/opt/containerd` outside our folder; the other snapshotters
 * need kernel modules or special filesystems and only log noise.
 */
const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

function configToml(rootDir: string, socket: string): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'version = 2',
    `root = ${q(path.join(rootDir, 'root'))}`,
    `state = ${q(path.join(rootDir, 'state'))}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(q).join(', ')}]`,
    '[grpc]',
    `  address = ${q(socket)}`,
    '[ttrpc]',
    `  address = ${q(`${socket}.ttrpc`)}`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '',
  ].join('\n');
}

async function runTool(
  tool: string,
  address: string,
  namespace: string,
  args: string[],
  options: CtrRunOptions,
): Promise<CtrOutput> {
  try {
    const { stdout, stderr } = await run(
      tool,
      ['--address', address, '--namespace', namespace, ...args],
      {
        timeout: options.timeoutMs ?? 120_000,
        signal: options.signal,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { stdout, stderr };
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string };
    throw new Error(`${tool} ${args.join(' ')} failed (${e.code}): ${e.stderr || e.message}`);
  }
}

/**
 * Start a private `containerd --config CONFIG` with its root, state and unix socket in a
 * temp folder (CRI and the host-touching plugins disabled), and wait until
 * `ctr --address SOCK version` answers. The daemon dies with the test process even if the
 * test forgets `stop()`. Needs root (containerd refuses otherwise) and the `containerd`
 * (containerd, ctr) and `stargz-snapshotter` (ctr-remote) Debian packages.
 *
 * @example
 * const cd = await startContainerd();
 * try { await cd.ctr(['content', 'fetch', '--plain-http', ref]); } finally { await cd.stop(); }
 */
export async function startContainerd(
  options: StartContainerdOptions = {},
): Promise<RunningContainerd> {
  installExitHook();
  const namespace = options.namespace ?? 'ocipeek';
  // Short prefix: a unix socket path must stay under 108 bytes.
  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'ocipeek-ctrd-'));
  liveDirs.add(rootDir);
  const address = path.join(rootDir, 'containerd.sock');
  const configFile = path.join(rootDir, 'config.toml');
  await writeFile(configFile, configToml(rootDir, address));

  const { child, logs } = spawnDaemon('containerd', ['--config', configFile]);
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      resolve();
    });
  });
  let spawnFailed: Error | undefined;
  child.once('error', (e) => {
    spawnFailed = e;
  });
  const watchdog = child.pid === undefined ? undefined : spawnWatchdog(child.pid, rootDir);

  const stop = async () => {
    if (!hasExited && !spawnFailed) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    watchdog?.stdin?.end('cancel\n');
    await rm(rootDir, { recursive: true, force: true });
    liveDirs.delete(rootDir);
  };

  const timeout = options.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeout;
  let lastError = '';
  while (true) {
    let failure: string | undefined;
    if (spawnFailed) failure = spawnFailed.message;
    else if (hasExited) failure = `exited with code ${child.exitCode}`;
    else if (options.signal?.aborted) failure = 'aborted';
    else if (Date.now() > deadline) failure = `not up after ${timeout} ms: ${lastError}`;
    if (failure) {
      await stop();
      throw new Error(`containerd did not start: ${failure}\n${logs()}`);
    }
    try {
      await runTool('ctr', address, namespace, ['version'], { timeoutMs: 5000 });
      break;
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    address,
    namespace,
    rootDir,
    ctr: (args, o = {}) => runTool('ctr', address, namespace, args, o),
    ctrRemote: (args, o = {}) => runTool('ctr-remote', address, namespace, args, o),
    stop,
    logs,
  };
}
