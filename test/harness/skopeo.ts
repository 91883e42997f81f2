import { execFile } from 'node:child_process';
import type { RunningRegistry } from './registry-process.js';

/** Options for {@link skopeo}. */
export interface SkopeoOptions {
  /** Kill skopeo when aborted. */
  signal?: AbortSignal;
  /** Kill skopeo after this many ms. Default 120000. */
  timeoutMs?: number;
  /** Extra environment variables (e.g. `GNUPGHOME` for `--sign-by`). */
  env?: Record<string, string>;
}

/** skopeo failed: carries its exit code and stderr. */
export class SkopeoError extends Error {
  /** skopeo's exit code (undefined when killed). */
  readonly exitCode: number | undefined;
  readonly stderr: string;
  constructor(args: string[], exitCode: number | undefined, stderr: string) {
    super(`skopeo ${args.join(' ')} failed (${exitCode ?? 'killed'}): ${stderr.trim()}`);
    this.name = 'SkopeoError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Run `skopeo ARGS...` and resolve to its stdout bytes; reject with {@link SkopeoError}. */
export function skopeoRaw(args: string[], options: SkopeoOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'skopeo',
      args,
      {
        encoding: 'buffer',
        maxBuffer: 256 << 20,
        timeout: options.timeoutMs ?? 120_000,
        signal: options.signal,
        env: options.env ? { ...process.env, ...options.env } : undefined,
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : undefined;
          reject(new SkopeoError(args, code, stderr.toString('utf8')));
        } else resolve(stdout);
      },
    );
  });
}

/** Run `skopeo ARGS...` and resolve to its stdout as text. */
export async function skopeo(args: string[], options: SkopeoOptions = {}): Promise<string> {
  return (await skopeoRaw(args, options)).toString('utf8');
}

/**
 * The skopeo flags that reach `registry`: `--tls-verify=false` for plain HTTP, the CA and
 * client certificate folder (`--cert-dir`) for TLS, `--creds` when it has a user.
 * `side` picks the `--src-` / `--dest-` form used by `copy`; omit it for `inspect`.
 */
export function registryFlags(
  registry: RunningRegistry,
  side?: 'src' | 'dest',
  options: { anonymous?: boolean } = {},
): string[] {
  const p = side ? `--${side}-` : '--';
  const flags: string[] = [];
  if (registry.tls === 'none') flags.push(`${p}tls-verify=false`);
  else flags.push(`${p}cert-dir=${registry.certDir}`, `${p}tls-verify=true`);
  if (registry.username !== undefined && !options.anonymous) {
    flags.push(`${p}creds=${registry.username}:${registry.password}`);
  } else if (side) {
    // Never pick up credentials of whoever runs the tests.
    flags.push(`${p}no-creds`);
  } else {
    flags.push('--no-creds');
  }
  return flags;
}

/** Options for {@link skopeoPush} and {@link pullToLayout}. */
export interface SkopeoCopyOptions extends SkopeoOptions {
  /** Copy every instance of an index (`--all`). Default true. */
  all?: boolean;
  /** Keep digests (`--preserve-digests`), so the registry holds the bytes we wrote. Default true. */
  preserveDigests?: boolean;
  /** Push without credentials even if the registry has users. */
  anonymous?: boolean;
  /** Extra skopeo copy flags. */
  extraArgs?: string[];
}

/**
 * `skopeo copy [--all] [--preserve-digests] oci:LAYOUTDIR:REFNAME docker://HOST/TARGETREF`,
 * keeping the manifest bytes as written. skopeo 1.9.3 only reads OCI media types from
 * `index.json` and cannot push sha512 blobs; see `pushLayout` for the fallback.
 */
export async function skopeoPush(
  layoutDir: string,
  refName: string,
  registry: RunningRegistry,
  targetRef: string,
  options: SkopeoCopyOptions = {},
): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--quiet'];
  if (options.all ?? true) args.push('--all');
  if (options.preserveDigests ?? true) args.push('--preserve-digests');
  args.push(...registryFlags(registry, 'dest', { anonymous: options.anonymous }));
  args.push(...(options.extraArgs ?? []));
  args.push(`oci:${layoutDir}:${refName}`, `docker://${registry.host}/${targetRef}`);
  await skopeo(args, options);
}

/** `skopeo inspect --raw` of `ref` (`repo:tag` or `repo@digest`): the exact manifest bytes. */
export function inspectRaw(
  registry: RunningRegistry,
  ref: string,
  options: SkopeoOptions & { anonymous?: boolean } = {},
): Promise<Buffer> {
  return skopeoRaw(
    [
      'inspect',
      '--raw',
      ...registryFlags(registry, undefined, options),
      `docker://${registry.host}/${ref}`,
    ],
    options,
  );
}

/** Copy `ref` from `registry` into the OCI layout `layoutDir` under `refName`. */
export async function pullToLayout(
  registry: RunningRegistry,
  ref: string,
  layoutDir: string,
  refName: string,
  options: SkopeoCopyOptions = {},
): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--quiet'];
  if (options.all ?? true) args.push('--all');
  if (options.preserveDigests ?? true) args.push('--preserve-digests');
  args.push(...registryFlags(registry, 'src', { anonymous: options.anonymous }));
  args.push(...(options.extraArgs ?? []));
  args.push(`docker://${registry.host}/${ref}`, `oci:${layoutDir}:${refName}`);
  await skopeo(args, options);
}

/**
 * Copy `docker://HOST/REF` from a plain-HTTP registry such as `ocipeek serve` (no
 * credentials, no policy) into the OCI layout `layoutDir` under `refName`.
 */
export async function pullFromHost(
  host: string,
  ref: string,
  layoutDir: string,
  refName: string,
): Promise<void> {
  await skopeo([
    '--insecure-policy',
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    '--src-no-creds',
    `docker://${host}/${ref}`,
    `oci:${layoutDir}:${refName}`,
  ]);
}

/**
 * Recompress image `refName` of OCI layout `fromDir` as zstd:chunked (skopeo writes the
 * TOC and footer as containers/storage does) into the layout `toDir`, named `toRef`.
 */
export async function convertToZstdChunked(
  fromDir: string,
  refName: string,
  toDir: string,
  toRef: string,
): Promise<void> {
  await skopeo([
    '--insecure-policy',
    'copy',
    '--quiet',
    '--dest-compress-format',
    'zstd:chunked',
    `oci:${fromDir}:${refName}`,
    `oci:${toDir}:${toRef}`,
  ]);
}
