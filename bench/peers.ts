import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Cmd } from './measure.js';

const run = promisify(execFile);

/** First line of `CMD ARGS` output, or `missing`. */
function versionOf(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return 'missing';
  const line = (r.stdout || r.stderr).trim().split('\n')[0]!;
  return /v?(\d+\.\d+[^\s,]*)/.exec(line)?.[1] ?? line;
}

/** Versions of the peers, for the report. */
export function peerVersions(): Record<string, string> {
  return {
    skopeo: versionOf('skopeo', ['--version']),
    umoci: versionOf('umoci', ['--version']),
    'docker-registry': versionOf('docker-registry', ['--version']),
    tar: versionOf('tar', ['--version']),
    gzip: versionOf('gzip', ['--version']),
    zstd: versionOf('zstd', ['--version']),
  };
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** `skopeo copy docker://HOST/bench/NAME:latest oci:DIR:NAME` (plain HTTP, no creds). */
export function skopeoPull(host: string, name: string, dir: string): Cmd {
  return {
    file: 'skopeo',
    args: [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://${host}/bench/${name}:latest`,
      `oci:${dir}:${name}`,
    ],
    timeoutMs: 600_000,
  };
}

/** Single-quote `s` for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `sh -c SCRIPT`, for peers that are pipelines of several tools. */
export function shell(script: string, timeoutMs = 600_000): Cmd {
  return { file: 'sh', args: ['-ec', script], timeoutMs };
}

/** The shell text of {@link skopeoPull}. */
export function skopeoPullScript(host: string, name: string, dir: string): string {
  return ['skopeo', ...skopeoPull(host, name, dir).args.map(shq)].join(' ');
}

/** The directory the JavaScript peer is installed into (outside the project's deps). */
export function jsPeerDir(cache: string): string {
  return path.join(cache, 'js-peer');
}

/** The JavaScript peer and its pinned version. */
export const JS_PEER = '@snyk/docker-registry-v2-client@4.0.5';

/**
 * `npm install` the JavaScript peer into `cache/js-peer` once (not a project dependency:
 * the bench is its only user). Resolves to false when npm cannot get it.
 */
export async function ensureJsPeer(cache: string, log: (s: string) => void): Promise<boolean> {
  const dir = jsPeerDir(cache);
  const marker = path.join(dir, 'node_modules', '@snyk', 'docker-registry-v2-client');
  if (existsSync(marker)) return true;
  log(`  npm install ${JS_PEER} into ${dir}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), '{"name":"js-peer","private":true}');
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', JS_PEER], {
      cwd: dir,
      timeout: 300_000,
    });
    return existsSync(marker);
  } catch (err) {
    log(`  could not install ${JS_PEER}: ${(err as Error).message.split('\n')[0]}`);
    return false;
  }
}
