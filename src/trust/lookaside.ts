import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, UnsupportedError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { createFileIfAbsent } from '../store/atomic-file.js';

/** containers/image reads at most 4 MiB of one signature. */
const MAX_SIGNATURE_BYTES = 4 << 20;

/**
 * The URL of `ref`'s `index`-th (from 0) simple signature of `manifestDigest` under a
 * lookaside `base`, in the layout containers/image reads and writes
 * (containers-registries.d(5)): `BASE/REPO@sha256=HEX/signature-N`, REPO the repository
 * path without the registry, N from 1.
 */
export function lookasideSignatureUrl(
  base: string,
  ref: Reference,
  manifestDigest: string,
  index: number,
): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ConfigError('registries.d', `lookaside "${base}" is not a URL`);
  }
  const at = manifestDigest.replace(':', '=');
  url.pathname = `${url.pathname.replace(/\/$/, '')}/${ref.repository}@${at}/signature-${index + 1}`;
  return url;
}

/**
 * The simple signatures of `manifestDigest` at a lookaside (`file://` or `http(s)://`),
 * as containers/image reads them: `signature-1`, `signature-2`, … until the first one that
 * is missing (ENOENT, HTTP 404). Another failure throws: a signature that cannot be read
 * must not look like an unsigned image.
 */
export async function readLookasideSignatures(
  client: RegistryClient,
  base: string,
  ref: Reference,
  manifestDigest: string,
  options: { signal?: AbortSignal } = {},
): Promise<Buffer[]> {
  const signatures: Buffer[] = [];
  for (let i = 0; ; i++) {
    const url = lookasideSignatureUrl(base, ref, manifestDigest, i);
    const bytes = await readOne(client, url, options.signal);
    if (!bytes) return signatures;
    signatures.push(bytes);
  }
}

async function readOne(
  client: RegistryClient,
  url: URL,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  switch (url.protocol) {
    case 'file:':
      try {
        const bytes = await readFile(fileURLToPath(url));
        if (bytes.length > MAX_SIGNATURE_BYTES) {
          throw new Error(`more than ${MAX_SIGNATURE_BYTES} bytes`);
        }
        return bytes;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`cannot read signature ${url}: ${(err as Error).message}`);
      }
    case 'http:':
    case 'https:': {
      const res = await client.transport.fetchUrl(url, MAX_SIGNATURE_BYTES, signal);
      if (res.status === 404) return undefined;
      if (!res.body) throw new Error(`cannot read signature ${url}: HTTP ${res.status}`);
      return res.body;
    }
    default:
      throw new UnsupportedError(`lookaside ${url.protocol} URLs are not supported`);
  }
}

/**
 * Add `signature` to the simple signatures of `manifestDigest` at a `file://` lookaside
 * (the only kind containers/image writes): as the next free `signature-N`, unless the
 * same bytes are already there. Resolves to the file written (or found).
 */
export async function writeLookasideSignature(
  base: string,
  ref: Reference,
  manifestDigest: string,
  signature: Buffer,
): Promise<string> {
  if (!base.startsWith('file:')) {
    throw new UnsupportedError(
      `signatures are written to file:// lookasides only, not ${base} (set lookaside-staging in registries.d)`,
    );
  }
  for (let i = 0; ; i++) {
    const path = fileURLToPath(lookasideSignatureUrl(base, ref, manifestDigest, i));
    await mkdir(dirname(path), { recursive: true });
    // Never replaces a signature: two signers at once each get their own number.
    if (await createFileIfAbsent(path, signature, { tmpDir: dirname(path) })) return path;
    if ((await readFile(path)).equals(signature)) return path;
  }
}
