import type { Readable } from 'node:stream';
import { parseDigest } from '../digest/index.js';
import { RegistryError } from '../errors/index.js';
import { type Reference, referenceInMessage } from '../ref/index.js';
import type { SinkSource } from '../transport/body-sink.js';
import { headerValue, type RegistryResponse, type RegistryTransport } from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';
import { blobPath, readRequest } from './read-request.js';
import { errorFromResponse } from './response-errors.js';
import { VerifiedBlobStream } from './verified-blob-stream.js';

/** What a blob is: its digest and, when known, its exact size. */
export interface BlobTarget {
  digest: string;
  size?: number;
}

/**
 * A verified blob: read it as a stream, or hand it to a sink with `pipeTo` (views of the
 * connection's read buffers when the registry speaks plain HTTP; see
 * {@link VerifiedBlobStream}).
 */
export type BlobStream = Readable & SinkSource;

/** Options for whole-blob reads. */
export interface BlobRequestOptions {
  signal?: AbortSignal;
  /** Times a broken connection is resumed with a `Range` request (default 5). */
  maxResumes?: number;
  /** Start at this offset (a partial download resuming); those bytes are not hashed here. */
  offset?: number;
}

/** A byte range of a blob as the registry answered it. */
export interface BlobRange {
  /** The body; when `rangeIgnored` it is the whole blob from byte 0. */
  body: Readable;
  /** First byte of `body` within the blob. */
  start: number;
  /** The blob's total size, when the server said (`Content-Range` or `Content-Length`). */
  total?: number;
  /** True when the server ignored `Range` and sent the whole blob with 200. */
  rangeIgnored: boolean;
}

async function requestBlob(
  transport: RegistryTransport,
  ref: Reference,
  digest: string,
  range: string | undefined,
  signal: AbortSignal | undefined,
): Promise<RegistryResponse> {
  const res = await transport.send(
    readRequest(ref, 'GET', blobPath(ref, digest), range ? { range } : {}, signal),
  );
  if (res.status !== 200 && res.status !== 206) {
    throw await errorFromResponse(res, `blob ${digest} in ${referenceInMessage(ref, 'name')}`, {
      transport,
      registry: ref.registry,
      signal,
    });
  }
  return res;
}

/** Parse `Content-Range: bytes a-b/total`. */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total?: number } | undefined {
  const m = value ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  return {
    start: Number(m[1]),
    end: Number(m[2]),
    total: m[3] === '*' ? undefined : Number(m[3]),
  };
}

/**
 * Stream a blob, limited to its declared size and verified against its digest (sha256 or
 * sha512): the stream errors before it ends when either does not match, so a consumer
 * that sees the end has good bytes. A connection that breaks mid-blob is resumed with a
 * `Range` request from the last byte received.
 */
export async function openBlob(
  transport: RegistryTransport,
  ref: Reference,
  target: BlobTarget,
  options: BlobRequestOptions = {},
): Promise<BlobStream> {
  parseDigest(target.digest);
  const offset = options.offset ?? 0;
  const first = await requestBlob(
    transport,
    ref,
    target.digest,
    offset > 0 ? `bytes=${offset}-` : undefined,
    options.signal,
  );
  const firstSkip = offset > 0 && first.status === 200 ? offset : 0;
  return new VerifiedBlobStream(first, firstSkip, {
    digest: target.digest,
    size: target.size,
    offset,
    maxResumes: options.maxResumes ?? 5,
    host: ref.apiHost,
    signal: options.signal,
    reopen: (position) =>
      requestBlob(transport, ref, target.digest, `bytes=${position}-`, options.signal),
    skipOf: (res, position) => {
      if (res.status === 200) return position; // the server ignored Range: drop what we have
      const range = parseContentRange(headerValue(res.headers, 'content-range'));
      if (!range || range.start !== position) {
        res.body.destroy();
        throw new RegistryError(
          `resuming blob ${target.digest}: asked for byte ${position}, got ${headerValue(res.headers, 'content-range') ?? 'no Content-Range'}`,
          res.status,
        );
      }
      return 0;
    },
  });
}

/**
 * Read bytes `start..end` (inclusive; `end` omitted = to the end, negative `start` = the
 * last `-start` bytes) of a blob with one `Range` request. The `Content-Range` answer is
 * checked; a server that ignores `Range` is reported through `rangeIgnored` rather than
 * hidden. Range bytes cannot be digest-verified on their own: callers verify what they
 * can (TOC digests, chunk digests).
 */
export async function openBlobRange(
  transport: RegistryTransport,
  ref: Reference,
  digest: string,
  start: number,
  end?: number,
  options: { signal?: AbortSignal } = {},
): Promise<BlobRange> {
  parseDigest(digest);
  const header = start < 0 ? `bytes=${start}` : `bytes=${start}-${end ?? ''}`;
  const res = await requestBlob(transport, ref, digest, header, options.signal);
  if (res.status === 200) {
    const length = headerValue(res.headers, 'content-length');
    return {
      body: res.body,
      start: 0,
      total: length ? Number(length) : undefined,
      rangeIgnored: true,
    };
  }
  const range = parseContentRange(headerValue(res.headers, 'content-range'));
  const expectedStart = start < 0 ? undefined : start;
  if (
    !range ||
    (expectedStart !== undefined && range.start !== expectedStart) ||
    (end !== undefined && range.end > end)
  ) {
    res.body.destroy();
    throw new RegistryError(
      `blob ${digest}: asked for ${header}, got Content-Range ${headerValue(res.headers, 'content-range') ?? 'missing'}`,
      res.status,
    );
  }
  return { body: res.body, start: range.start, total: range.total, rangeIgnored: false };
}

/** Read a small blob (a config) whole, capped and verified. */
export async function readBlob(
  transport: RegistryTransport,
  ref: Reference,
  target: BlobTarget,
  options: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<Buffer> {
  const stream = await openBlob(transport, ref, target, options);
  return readCapped(stream, options.maxBytes ?? 64 * 1024 * 1024, `blob ${target.digest}`);
}
