import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GOOD_REALM } from './cca-token.js';
import { installExitHook, spawnDaemon } from './process-guard.js';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('./go/ratls-server/', import.meta.url));

/** Reference values the server lets in (hex), as its JSON file holds them. */
export interface RealmReference {
  rim: string;
  rems: string[];
  'hash-algo': string;
}

/** The reference values of {@link GOOD_REALM}. */
export const GOOD_REFERENCE: RealmReference = {
  rim: GOOD_REALM.rim.toString('hex'),
  rems: GOOD_REALM.rems.map((r) => r.toString('hex')),
  'hash-algo': GOOD_REALM.hashAlgorithm,
};

/** A running RA-TLS registry front (test/harness/go/ratls-server). */
export interface RatlsServer {
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** What the server logged: `attestation accepted` / `attestation refused: REASON`. */
  logs(): string;
  stop(): Promise<void>;
}

let built: Promise<string> | undefined;

/**
 * Build the server with Debian's `go` (standard library only, no network), once per
 * process, into a folder named by the sources' hash so later runs reuse it.
 */
export function buildRatlsServer(): Promise<string> {
  built ??= (async () => {
    const names = (await readdir(SOURCE)).filter((n) => n.endsWith('.go') || n === 'go.mod').sort();
    const hash = createHash('sha256');
    for (const name of names) hash.update(name).update(await readFile(path.join(SOURCE, name)));
    const dir = path.join(os.tmpdir(), `ocipeek-ratls-server-${hash.digest('hex').slice(0, 16)}`);
    const binary = path.join(dir, 'ratls-server');
    if (existsSync(binary)) return binary;
    await mkdir(dir, { recursive: true });
    await run('go', ['build', '-o', `${binary}.tmp`, '.'], {
      cwd: SOURCE,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', CGO_ENABLED: '0' },
    });
    await run('mv', [`${binary}.tmp`, binary]);
    return binary;
  })();
  return built;
}

/**
 * Start the RA-TLS front on a free loopback port, proxying to `upstream`
 * (`http://127.0.0.1:PORT`), with the server certificate and key files given.
 */
export async function startRatlsServer(options: {
  upstream: string;
  certFile: string;
  keyFile: string;
  reference?: RealmReference;
  dir: string;
}): Promise<RatlsServer> {
  installExitHook();
  const binary = await buildRatlsServer();
  const referenceFile = path.join(options.dir, `reference-${Date.now()}.json`);
  await writeFile(referenceFile, JSON.stringify(options.reference ?? GOOD_REFERENCE));
  const daemon = spawnDaemon(binary, [
    '-cert',
    options.certFile,
    '-key',
    options.keyFile,
    '-upstream',
    options.upstream,
    '-reference',
    referenceFile,
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /LISTENING 127\.0\.0\.1:(\d+)/.exec(daemon.logs());
      if (match) {
        clearInterval(timer);
        resolve(Number(match[1]));
      } else if (daemon.child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`ratls-server exited: ${daemon.logs()}`));
      }
    }, 20);
  });
  return {
    host: `127.0.0.1:${port}`,
    port,
    logs: daemon.logs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (daemon.child.exitCode !== null) return resolve();
        daemon.child.once('exit', () => resolve());
        daemon.child.ref(); // keep the loop alive until the exit is seen
        daemon.child.kill('SIGKILL');
      }),
  };
}
