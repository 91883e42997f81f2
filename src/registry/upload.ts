import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestOf, parseDigest, VerifyingStream } from '../digest/index.js';
import {
  DigestMismatchError,
  InvalidArgumentError,
  RegistryError,
  SizeMismatchError,
} from '../errors/index.js';
import { type Descriptor, MAX_MANIFEST_BYTES } from '../media/index.js';
import { type Reference, referenceInMessage } from '../ref/index.js';
import {
  discardBody,
  headerValue,
  type RegistryResponse,
  type RegistryTransport,
} from '../transport/index.js';
import { blobPath, manifestPath, readRequest } from './read-request.js';
import { errorFromResponse, registryNotFound } from './response-errors.js';
import { pullScope, pushScope } from './scopes.js';

/** An upload session the registry opened: where to send bytes and the token scope to use. */
export interface UploadSession {
  /** Absolute URL of the session (the latest `Location`). */
  url: URL;
  /** Token scope the session was opened with; streaming requests reuse its cached token. */
  scope: string;
}

/** What a mount attempt did. */
export type MountResult =
  | { mounted: true }
  /** The registry could not mount and opened an upload session instead (202). */
  | { mounted: false; session: UploadSession };

/** Options for {@link uploadBlob}. */
export interface UploadBlobOptions {
  /**
   * Send the blob in `PATCH` chunks of this many bytes (each buffered, so each can be
   * retried) and finish with an empty `PUT`. Omit for one streaming `PUT`.
   */
  chunkSize?: number;
  /** Continue this session (from a failed mount) instead of opening a new one. */
  session?: UploadSession;
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

/** Options for the small upload-side requests. */
export interface UploadRequestOptions {
  signal?: AbortSignal;
}

/** `Location` of an upload answer, resolved against the URL that answered. */
function sessionFrom(res: RegistryResponse, scope: string, what: string): UploadSession {
  const location = headerValue(res.headers, 'location');
  if (!location) {
    throw new RegistryError(`registry sent no upload Location for ${what}`, res.status);
  }
  return { url: new URL(location, res.url), scope };
}

/** The session URL with `digest` added to its query (the URL may already carry state). */
function withDigest(url: URL, digest: string): string {
  const out = new URL(url);
  out.searchParams.set('digest', digest);
  return out.toString();
}

/** Check a `Docker-Content-Digest` answer against the digest we sent, when present. */
function checkAnsweredDigest(res: RegistryResponse, expected: string, what: string): void {
  const answered = headerValue(res.headers, 'docker-content-digest');
  // Registries store sha512 uploads under their sha256 (distribution 2.8 does); only an
  // answer in the same algorithm can be compared.
  if (answered && answered.split(':')[0] === expected.split(':')[0] && answered !== expected) {
    throw new DigestMismatchError(expected, answered, what);
  }
}

/** HEAD a blob: its size when the repository has it, `undefined` when not. */
export async function hasBlob(
  transport: RegistryTransport,
  ref: Reference,
  digest: string,
  options: UploadRequestOptions = {},
): Promise<number | undefined> {
  parseDigest(digest);
  const res = await transport.send(
    readRequest(ref, 'HEAD', blobPath(ref, digest), {}, options.signal),
  );
  const what = `blob ${digest} in ${referenceInMessage(ref, 'name')}`;
  if (res.status === 404) {
    // Absent, when the 404 is the registry's: a proxy's would otherwise send the blob up.
    await registryNotFound(res, what, {
      transport,
      registry: ref.registry,
      signal: options.signal,
    });
    return undefined;
  }
  if (res.status !== 200) throw await errorFromResponse(res, what);
  await discardBody(res.body);
  const length = headerValue(res.headers, 'content-length');
  return length === undefined ? 0 : Number(length);
}

/** Open an upload session (`POST /v2/NAME/blobs/uploads/`). */
export async function startUpload(
  transport: RegistryTransport,
  ref: Reference,
  options: UploadRequestOptions = {},
): Promise<UploadSession> {
  const scope = pushScope(ref.repository);
  const res = await transport.send({
    registry: ref.registry,
    repository: ref.repository,
    scope,
    method: 'POST',
    path: `/v2/${ref.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    signal: options.signal,
  });
  await discardBody(res.body);
  if (res.status !== 202) throw await errorFromResponse(res, `upload to ${ref.name}`);
  return sessionFrom(res, scope, `upload to ${ref.name}`);
}

/**
 * Ask the registry to mount blob `digest` from repository `fromRepository` of the same
 * registry (`POST ?mount=&from=`). 201 means mounted, no bytes move; 202 means the
 * registry could not (no access, unknown blob) and opened an upload session instead,
 * which {@link uploadBlob} can continue.
 */
export async function mountBlob(
  transport: RegistryTransport,
  ref: Reference,
  digest: string,
  fromRepository: string,
  options: UploadRequestOptions = {},
): Promise<MountResult> {
  parseDigest(digest);
  // The token must also allow reading the source repository; a registry that says no
  // answers 202 and we upload instead.
  const scope = `${pushScope(ref.repository)} ${pullScope(fromRepository)}`;
  const query = new URLSearchParams({ mount: digest, from: fromRepository });
  const res = await transport.send({
    registry: ref.registry,
    repository: ref.repository,
    scope,
    method: 'POST',
    path: `/v2/${ref.repository}/blobs/uploads/?${query}`,
    headers: { 'content-length': '0' },
    signal: options.signal,
  });
  await discardBody(res.body);
  if (res.status === 201) {
    checkAnsweredDigest(res, digest, `mounted blob in ${ref.name}`);
    return { mounted: true };
  }
  if (res.status === 202) {
    return { mounted: false, session: sessionFrom(res, scope, `upload to ${ref.name}`) };
  }
  throw await errorFromResponse(res, `mount of ${digest} into ${ref.name}`);
}

/**
 * Upload a blob and verify it: the bytes are hashed as they are sent and must match
 * `desc.digest` and `desc.size`, the closing `PUT ?digest=` makes the registry check the
 * digest too (so corrupt bytes are never stored under it), and the registry's
 * `Docker-Content-Digest` answer must agree.
 *
 * Monolithic (default): one `PUT` streaming the body. Chunked (`chunkSize`): `PATCH`es
 * with `Content-Range`, following the `Location` the registry returns after each, then an
 * empty `PUT`; the digest is checked before that final `PUT`, so a mismatch leaves
 * nothing behind.
 */
export async function uploadBlob(
  transport: RegistryTransport,
  ref: Reference,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  source: Readable | Buffer,
  options: UploadBlobOptions = {},
): Promise<void> {
  parseDigest(desc.digest);
  if (options.chunkSize !== undefined && !(options.chunkSize > 0)) {
    throw new InvalidArgumentError(`chunk size must be positive, got ${options.chunkSize}`);
  }
  if (Buffer.isBuffer(source)) {
    if (source.length !== desc.size) {
      throw new SizeMismatchError(desc.digest, desc.size, source.length);
    }
    const actual = digestOf(source, parseDigest(desc.digest).algorithm);
    if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, 'blob');
  }
  const session = options.session ?? (await startUpload(transport, ref, options));
  if (options.chunkSize !== undefined) {
    await uploadChunked(transport, ref, desc, source, session, options.chunkSize, options);
  } else {
    await uploadMonolithic(transport, ref, desc, source, session, options);
  }
}

async function uploadMonolithic(
  transport: RegistryTransport,
  ref: Reference,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  source: Readable | Buffer,
  session: UploadSession,
  options: UploadBlobOptions,
): Promise<void> {
  let body: Buffer | Readable = source;
  let verifier: VerifyingStream | undefined;
  if (!Buffer.isBuffer(source)) {
    verifier = new VerifyingStream({ digest: desc.digest, size: desc.size });
    const counter = progressCounter(options.onProgress);
    source.on('error', (err) => verifier?.destroy(err));
    verifier.on('error', (err) => counter.destroy(err));
    body = source.pipe(verifier).pipe(counter);
  }
  let res: RegistryResponse;
  try {
    res = await transport.send({
      registry: ref.registry,
      repository: ref.repository,
      scope: session.scope,
      method: 'PUT',
      path: withDigest(session.url, desc.digest),
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(desc.size),
      },
      body,
      signal: options.signal,
    });
  } catch (err) {
    // The body's own failure (a digest or size mismatch) explains more than "request aborted".
    throw verifier?.errored ?? (Buffer.isBuffer(source) ? undefined : source.errored) ?? err;
  }
  if (verifier?.errored) {
    await discardBody(res.body);
    throw verifier.errored;
  }
  if (res.status !== 201) throw await errorFromResponse(res, `upload of ${desc.digest}`);
  await discardBody(res.body);
  if (Buffer.isBuffer(source)) options.onProgress?.(source.length);
  checkAnsweredDigest(res, desc.digest, `uploaded blob in ${ref.name}`);
}

/** A pass-through that reports the running byte count. */
function progressCounter(onProgress: ((bytes: number) => void) | undefined): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      onProgress?.(sent);
      done(null, chunk);
    },
  });
}

/** Cut a stream into buffers of `size` bytes (the last may be shorter). */
async function* chunksOf(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (rest.length > 0) {
      const take = Math.min(size - length, rest.length);
      parts.push(rest.subarray(0, take));
      length += take;
      rest = rest.subarray(take);
      if (length === size) {
        yield Buffer.concat(parts, length);
        parts = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

async function uploadChunked(
  transport: RegistryTransport,
  ref: Reference,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  source: Readable | Buffer,
  first: UploadSession,
  chunkSize: number,
  options: UploadBlobOptions,
): Promise<void> {
  const verifier = new VerifyingStream({ digest: desc.digest, size: desc.size });
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const feeding = pipeline(input, verifier).catch((err: unknown) => {
    verifier.destroy(err as Error);
  });
  let session = first;
  let offset = 0;
  try {
    for await (const chunk of chunksOf(verifier, chunkSize)) {
      const res = await transport.send({
        registry: ref.registry,
        repository: ref.repository,
        scope: session.scope,
        method: 'PATCH',
        path: session.url.toString(),
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
        signal: options.signal,
      });
      await discardBody(res.body);
      if (res.status !== 202) throw await errorFromResponse(res, `chunk upload of ${desc.digest}`);
      session = sessionFrom(res, session.scope, `chunk upload of ${desc.digest}`);
      offset += chunk.length;
      options.onProgress?.(offset);
    }
  } finally {
    await feeding;
  }
  // The verifier only ends after checking size and digest; a mismatch throws above, so
  // the session is never closed with bad bytes.
  if (verifier.errored) throw verifier.errored;
  const res = await transport.send({
    registry: ref.registry,
    repository: ref.repository,
    scope: session.scope,
    method: 'PUT',
    path: withDigest(session.url, desc.digest),
    headers: { 'content-length': '0' },
    signal: options.signal,
  });
  if (res.status !== 201) throw await errorFromResponse(res, `upload of ${desc.digest}`);
  await discardBody(res.body);
  checkAnsweredDigest(res, desc.digest, `uploaded blob in ${ref.name}`);
}

/**
 * PUT a manifest or index under `ref`'s tag (or digest) and return its digest. The
 * registry's `Docker-Content-Digest` answer must match the bytes sent, and a digest
 * reference must be the bytes' digest.
 */
export async function putManifest(
  transport: RegistryTransport,
  ref: Reference,
  bytes: Buffer,
  mediaType: string,
  options: UploadRequestOptions = {},
): Promise<string> {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new InvalidArgumentError(
      `manifest of ${bytes.length} bytes is over the ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB limit`,
    );
  }
  const algorithm = ref.digest ? parseDigest(ref.digest).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (ref.digest && ref.digest !== digest) {
    throw new DigestMismatchError(ref.digest, digest, 'manifest');
  }
  const res = await transport.send({
    registry: ref.registry,
    repository: ref.repository,
    scope: pushScope(ref.repository),
    method: 'PUT',
    path: manifestPath(ref, ref.digest ?? ref.tag ?? digest),
    headers: { 'content-type': mediaType },
    body: bytes,
    signal: options.signal,
  });
  if (res.status !== 201 && res.status !== 200) {
    throw await errorFromResponse(res, `manifest ${ref}`);
  }
  await discardBody(res.body);
  checkAnsweredDigest(res, digest, `manifest ${ref}`);
  return digest;
}
