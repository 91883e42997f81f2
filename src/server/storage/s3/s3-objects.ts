import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TooLargeError } from '../../../errors/index.js';
import { MAX_MANIFEST_BYTES } from '../../../media/index.js';

/** What a HEAD or a listing says about an object. */
export interface ObjectInfo {
  /** The key below the storage's prefix. */
  key: string;
  size: number;
  /** Last write, for grace periods and expiry. */
  mtimeMs: number;
  etag?: string;
}

/** An object's bytes and when it was written. */
export interface ObjectBytes {
  bytes: Buffer;
  mtimeMs: number;
}

/** True for the SDK's answers that mean "no such object". */
export function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * The objects of one bucket below one prefix, as the S3 storage uses them: small JSON
 * records, whole small objects, HEADs and listings. Keys given and returned are relative
 * to the prefix; a missing object is `undefined`, never an error.
 */
export class S3Objects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** `''` or a prefix ending in `/`. */
    readonly prefix: string,
  ) {}

  /** The full key of `key`. */
  full(key: string): string {
    return this.prefix + key;
  }

  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }),
        { abortSignal: signal },
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        mtimeMs: out.LastModified?.getTime() ?? 0,
        etag: out.ETag,
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The object as a stream (optionally a byte range of it, of the version `etag`). */
  async stream(
    key: string,
    options: { range?: { start: number; end: number }; etag?: string; signal?: AbortSignal } = {},
  ): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          Range: options.range && `bytes=${options.range.start}-${options.range.end}`,
          IfMatch: options.etag,
        }),
        { abortSignal: options.signal },
      );
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The whole object, refused past `maxBytes`. */
  async get(
    key: string,
    options: { signal?: AbortSignal; maxBytes?: number } = {},
  ): Promise<ObjectBytes | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key) }),
        { abortSignal: options.signal },
      );
      const body = out.Body as Readable & { transformToByteArray(): Promise<Uint8Array> };
      if (options.maxBytes !== undefined && (out.ContentLength ?? 0) > options.maxBytes) {
        body.destroy();
        throw new TooLargeError(`object ${key}`, options.maxBytes);
      }
      const bytes = Buffer.from(await body.transformToByteArray());
      return { bytes, mtimeMs: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.full(key),
        Body: body,
        ContentLength: body.length,
      }),
      { abortSignal: signal },
    );
  }

  /**
   * A JSON record and when it was written; `undefined` when missing or not JSON. Records
   * are small, but a manifest's carries its annotations (a manifest is at most 4 MiB).
   */
  async getJson<T>(
    key: string,
    signal?: AbortSignal,
  ): Promise<{ value: T; mtimeMs: number } | undefined> {
    const found = await this.get(key, { signal, maxBytes: MAX_MANIFEST_BYTES + (64 << 10) });
    if (!found) return undefined;
    try {
      return { value: JSON.parse(found.bytes.toString('utf8')) as T, mtimeMs: found.mtimeMs };
    } catch {
      return undefined;
    }
  }

  putJson(key: string, value: unknown, signal?: AbortSignal): Promise<void> {
    return this.put(key, Buffer.from(JSON.stringify(value)), signal);
  }

  /** Delete `key` (S3 answers the same whether it was there or not). */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }), {
      abortSignal: signal,
    });
  }

  /** Delete `key`; false when it was not there. */
  async deleteIfPresent(key: string, signal?: AbortSignal): Promise<boolean> {
    if (!(await this.head(key, signal))) return false;
    await this.delete(key, signal);
    return true;
  }

  /** Every object below `keyPrefix`, in key order. */
  async *list(keyPrefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.full(keyPrefix),
          ContinuationToken: token,
        }),
        { abortSignal: signal },
      );
      for (const o of out.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key.slice(this.prefix.length),
          size: o.Size ?? 0,
          mtimeMs: o.LastModified?.getTime() ?? 0,
          etag: o.ETag,
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /** The next path components below `keyPrefix` (which ends in `/`), each ending in `/`. */
  async folders(keyPrefix: string, signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.full(keyPrefix),
          Delimiter: '/',
          ContinuationToken: token,
        }),
        { abortSignal: signal },
      );
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix) out.push(p.Prefix.slice(this.full(keyPrefix).length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** True when any object's key starts with `keyPrefix`. */
  async any(keyPrefix: string, signal?: AbortSignal): Promise<boolean> {
    const out = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.full(keyPrefix), MaxKeys: 1 }),
      { abortSignal: signal },
    );
    return (out.KeyCount ?? out.Contents?.length ?? 0) > 0;
  }
}
