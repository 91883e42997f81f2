import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { testCerts } from './certs.js';
import { freePort } from './ports.js';
import { installExitHook, liveDirs, spawnDaemon, spawnWatchdog } from './process-guard.js';
import {
  startTokenServer,
  type TestUser,
  type TokenKeyMode,
  type TokenServer,
} from './token-server.js';

const run = promisify(execFile);

/** How the registry authenticates clients. */
export type RegistryAuthMode = 'none' | 'htpasswd' | 'token';
/** How the registry speaks on the wire: plain HTTP, TLS, or TLS requiring a client cert. */
export type RegistryTlsMode = 'none' | 'tls' | 'mtls';

/** Options for {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Default `'none'`. */
  auth?: RegistryAuthMode;
  /** Default `'none'`. */
  tls?: RegistryTlsMode;
  /** Accounts for htpasswd and token modes. Default one user `tester` / `s3cret-pass`. */
  users?: TestUser[];
  /** Allow `DELETE` of manifests and blobs (`storage.delete.enabled`). Default false. */
  deleteEnabled?: boolean;
  /** Token mode: anonymous clients get pull tokens. Default false. */
  allowAnonymousPull?: boolean;
  /** Token mode: token lifetime in seconds. Default 300. */
  tokenExpiresIn?: number;
  /** Token mode: how JWTs name their signing key. Default `'x5c'`. */
  tokenKeyMode?: TokenKeyMode;
  /**
   * Run as a pull-through cache of this registry (`proxy.remoteurl`, distribution's proxy
   * mode): pushes are refused, pulls are fetched from there once and kept.
   */
  proxyRemoteUrl?: string;
  /** Log errors only and no access log (the load bench: logging is not what it measures). */
  quiet?: boolean;
  /** Give up waiting for the registry to answer after this many ms. Default 15000. */
  startTimeoutMs?: number;
  /** Abort start-up. */
  signal?: AbortSignal;
}

/** A `docker-registry` process on loopback (see {@link startRegistry}). */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Whether the registry speaks TLS. */
  tls: RegistryTlsMode;
  auth: RegistryAuthMode;
  /** The temp folder holding config, htpasswd and `storage/` (the filesystem driver root). */
  rootDir: string;
  /** The filesystem storage root (`rootDir/storage`). */
  storageDir: string;
  /** The registry's process id (its peak RSS is read from `/proc/PID/status`). */
  pid?: number;
  /** CA certificate file that signed the server certificate (TLS modes). */
  caFile?: string;
  /** Client certificate and key files accepted by the registry (TLS modes). */
  clientCert?: string;
  clientKey?: string;
  /** containers/image cert dir for skopeo (`ca.crt`, `client.cert`, `client.key`; TLS modes). */
  certDir?: string;
  /** First configured user (htpasswd and token modes). */
  username?: string;
  password?: string;
  /** All configured users. */
  users: TestUser[];
  /** The token server (token mode). Stopped by `stop()`. */
  tokenServer?: TokenServer;
  /** Kill the process, wait for it to exit, stop the token server, remove `rootDir`. */
  stop(): Promise<void>;
  /** The registry's stdout and stderr so far (last 256 KiB). */
  logs(): string;
}

const DEFAULT_USERS: TestUser[] = [{ username: 'tester', password: 's3cret-pass' }];

function q(value: string): string {
  return JSON.stringify(value);
}

function configYaml(o: {
  port: number;
  storageDir: string;
  deleteEnabled: boolean;
  auth: RegistryAuthMode;
  htpasswdFile: string;
  token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
  tls: RegistryTlsMode;
  serverCert?: string;
  serverKey?: string;
  caFile?: string;
  proxyRemoteUrl?: string;
  quiet?: boolean;
}): string {
  const lines = [
    'version: 0.1',
    'log:',
    ...(o.quiet ? ['  accesslog:', '    disabled: true', '  level: error'] : ['  level: info']),
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(o.storageDir)}`,
    '  delete:',
    `    enabled: ${o.deleteEnabled}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${o.port}`)}`,
    '  secret: ocipeek-test-secret',
  ];
  if (o.tls !== 'none') {
    lines.push('  tls:', `    certificate: ${q(o.serverCert!)}`, `    key: ${q(o.serverKey!)}`);
    if (o.tls === 'mtls') lines.push('    clientcas:', `      - ${q(o.caFile!)}`);
  }
  if (o.auth === 'htpasswd') {
    lines.push('auth:', '  htpasswd:', '    realm: ocipeek-test', `    path: ${q(o.htpasswdFile)}`);
  } else if (o.auth === 'token' && o.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(o.token.realm)}`,
      `    service: ${q(o.token.service)}`,
      `    issuer: ${q(o.token.issuer)}`,
      `    rootcertbundle: ${q(o.token.rootcertbundle)}`,
    );
  }
  if (o.proxyRemoteUrl) lines.push('proxy:', `  remoteurl: ${q(o.proxyRemoteUrl)}`);
  return `${lines.join('\n')}\n`;
}

/** GET /v2/ once; resolves to the status, or undefined if nothing answered. */
function probe(url: string, tlsOptions: https.RequestOptions): Promise<number | undefined> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(`${url}/v2/`, { ...tlsOptions, timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

async function htpasswdFile(file: string, users: TestUser[]): Promise<void> {
  const lines: string[] = [];
  for (const u of users) {
    const { stdout } = await run('htpasswd', ['-Bbn', u.username, u.password]);
    lines.push(stdout.trim());
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}

/**
 * Start a real distribution 2.8 registry (`docker-registry serve CONFIG`) on a free
 * 127.0.0.1 port, with filesystem storage in a temp folder, and wait until `GET /v2/`
 * answers (401 counts as up). Token mode also starts a {@link startTokenServer} whose
 * signing certificate is the registry's `rootcertbundle`.
 *
 * The process dies with the test process even if the test forgets `stop()`.
 *
 * @example
 * const reg = await startRegistry({ auth: 'htpasswd', tls: 'tls' });
 * try { await pushLayout(dir, 'v1', reg, 'demo/app:v1'); } finally { await reg.stop(); }
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const auth = options.auth ?? 'none';
  const tls = options.tls ?? 'none';
  const users = options.users ?? DEFAULT_USERS;
  const certs = tls !== 'none' || auth === 'token' ? await testCerts() : undefined;
  installExitHook();
  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'ocipeek-registry-'));
  liveDirs.add(rootDir);
  const storageDir = path.join(rootDir, 'storage');
  await mkdir(storageDir);
  const htpasswd = path.join(rootDir, 'htpasswd');
  if (auth === 'htpasswd') await htpasswdFile(htpasswd, users);

  let tokenServer: TokenServer | undefined;
  if (auth === 'token') {
    tokenServer = await startTokenServer({
      issuer: 'ocipeek-test-issuer',
      service: 'ocipeek-test-registry',
      signingKeyPem: certs!.jwt.key.pem,
      signingCertPem: certs!.jwt.cert.pem,
      users,
      allowAnonymousPull: options.allowAnonymousPull,
      expiresIn: options.tokenExpiresIn,
      keyMode: options.tokenKeyMode,
    });
  }
  const tlsOptions: https.RequestOptions =
    certs && tls !== 'none'
      ? { ca: certs.ca.cert.pem, cert: certs.client.cert.pem, key: certs.client.key.pem }
      : {};
  const timeout = options.startTimeoutMs ?? 15000;

  try {
    // A free port can be taken between freePort() and the bind: retry with another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configFile = path.join(rootDir, 'config.yml');
      await writeFile(
        configFile,
        configYaml({
          port,
          storageDir,
          deleteEnabled: options.deleteEnabled ?? false,
          auth,
          htpasswdFile: htpasswd,
          token: tokenServer && {
            realm: tokenServer.realm,
            service: tokenServer.service,
            issuer: tokenServer.issuer,
            rootcertbundle: certs!.jwt.cert.path,
          },
          tls,
          serverCert: certs?.server.cert.path,
          serverKey: certs?.server.key.path,
          caFile: certs?.ca.cert.path,
          proxyRemoteUrl: options.proxyRemoteUrl,
          quiet: options.quiet,
        }),
      );
      const started = await launch(
        rootDir,
        configFile,
        port,
        tls,
        tlsOptions,
        timeout,
        options.signal,
      );
      if ('error' in started) {
        if (attempt < 3 && /address already in use/.test(started.logs)) continue;
        throw new Error(`docker-registry did not start: ${started.error}\n${started.logs}`);
      }
      const scheme = tls === 'none' ? 'http' : 'https';
      const registry: RunningRegistry = {
        host: `127.0.0.1:${port}`,
        url: `${scheme}://127.0.0.1:${port}`,
        port,
        tls,
        auth,
        rootDir,
        storageDir,
        pid: started.pid,
        users,
        stop: async () => {
          await started.stop();
          await tokenServer?.close();
          await rm(rootDir, { recursive: true, force: true });
          liveDirs.delete(rootDir);
        },
        logs: started.logs,
      };
      if (certs && tls !== 'none') {
        registry.caFile = certs.ca.cert.path;
        registry.clientCert = certs.client.cert.path;
        registry.clientKey = certs.client.key.path;
        registry.certDir = certs.certDir;
      }
      if (auth !== 'none') {
        registry.username = users[0]?.username;
        registry.password = users[0]?.password;
      }
      if (tokenServer) registry.tokenServer = tokenServer;
      return registry;
    }
  } catch (err) {
    await tokenServer?.close();
    await rm(rootDir, { recursive: true, force: true });
    liveDirs.delete(rootDir);
    throw err;
  }
}

type Launched =
  | { stop: () => Promise<void>; logs: () => string; pid?: number }
  | { error: string; logs: string };

async function launch(
  rootDir: string,
  configFile: string,
  port: number,
  tls: RegistryTlsMode,
  tlsOptions: https.RequestOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Launched> {
  const { child, logs } = spawnDaemon('docker-registry', ['serve', configFile]);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const watchdog = child.pid === undefined ? undefined : spawnWatchdog(child.pid, rootDir);

  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    watchdog?.stdin?.end('cancel\n');
  };

  const url = `${tls === 'none' ? 'http' : 'https'}://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let spawnFailed: Error | undefined;
  void spawnError.then((e) => {
    spawnFailed = e;
  });
  while (true) {
    if (spawnFailed) return { error: spawnFailed.message, logs: logs() };
    if (hasExited) {
      watchdog?.stdin?.end('cancel\n');
      return { error: `exited with code ${child.exitCode}`, logs: logs() };
    }
    if (signal?.aborted || Date.now() > deadline) {
      await stop();
      return { error: signal?.aborted ? 'aborted' : `not up after ${timeoutMs} ms`, logs: logs() };
    }
    const status = await probe(url, tlsOptions);
    if (status === 200 || status === 401) return { stop, logs, pid: child.pid };
    await new Promise((r) => setTimeout(r, 25));
  }
}
