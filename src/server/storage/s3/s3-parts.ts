import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { BodySink } from '../../../transport/body-sink.js';
import { isMissing, type S3Objects } from './s3-objects.js';

/**
 * Bytes per part of a multipart upload. S3 wants at least 5 MiB in every part but the
 * last; 8 MiB keeps the requests few and the memory an upload holds small.
 */
export const PART_BYTES = 8 * 1024 * 1024;

/** Largest object a single CopyObject makes (S3's limit); larger ones copy in parts. */
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const COPY_PART_BYTES = 1024 * 1024 * 1024;

/** A part written to a multipart upload. */
export interface UploadedPart {
  number: number;
  etag: string;
  size: number;
}

/**
 * A multipart upload of one key, written part by part in order; created by the first part.
 * Nothing of it is visible until {@link complete}; {@link abort} drops it.
 */
export class MultipartObject {
  constructor(
    private readonly objects: S3Objects,
    readonly key: string,
    /** The upload id, once created (kept in an upload's state to continue elsewhere). */
    public uploadId?: string,
    readonly parts: UploadedPart[] = [],
  ) {}

  async uploadPart(body: Buffer, signal?: AbortSignal): Promise<void> {
    const { client, bucket } = this.objects;
    const Key = this.objects.full(this.key);
    if (!this.uploadId) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }), {
        abortSignal: signal,
      });
      this.uploadId = created.UploadId;
    }
    const number = this.parts.length + 1;
    const out = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key,
        UploadId: this.uploadId,
        PartNumber: number,
        Body: body,
        ContentLength: body.length,
      }),
      { abortSignal: signal },
    );
    this.parts.push({ number, etag: out.ETag ?? '', size: body.length });
  }

  async complete(signal?: AbortSignal): Promise<void> {
    await this.objects.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.objects.bucket,
        Key: this.objects.full(this.key),
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
      }),
      { abortSignal: signal },
    );
  }

  async abort(): Promise<void> {
    if (!this.uploadId) return;
    await abortMultipart(this.objects, this.key, this.uploadId);
  }
}

/** Drop multipart upload `uploadId` of `key` (gone already is fine). */
export async function abortMultipart(objects: S3Objects, key: string, uploadId: string) {
  try {
    await objects.client.send(
      new AbortMultipartUploadCommand({
        Bucket: objects.bucket,
        Key: objects.full(key),
        UploadId: uploadId,
      }),
    );
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Multipart uploads below `keyPrefix` started before `beforeMs`. */
export async function staleMultiparts(
  objects: S3Objects,
  keyPrefix: string,
  beforeMs: number,
  signal?: AbortSignal,
): Promise<Array<{ key: string; uploadId: string }>> {
  const out: Array<{ key: string; uploadId: string }> = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const page = await objects.client.send(
      new ListMultipartUploadsCommand({
        Bucket: objects.bucket,
        Prefix: objects.full(keyPrefix),
        KeyMarker: keyMarker,
        UploadIdMarker: idMarker,
      }),
      { abortSignal: signal },
    );
    for (const u of page.Uploads ?? []) {
      if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) >= beforeMs) continue;
      out.push({ key: u.Key.slice(objects.prefix.length), uploadId: u.UploadId });
    }
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    idMarker = page.NextUploadIdMarker;
  }
}

/**
 * Copy object `from` (of `size` bytes) to `to` inside the bucket, on the S3 side: one
 * CopyObject up to 5 GiB, a multipart copy past it.
 */
export async function copyObject(
  objects: S3Objects,
  from: string,
  to: string,
  size: number,
  signal?: AbortSignal,
): Promise<void> {
  const { client, bucket } = objects;
  const source = `${bucket}/${objects.full(from)}`;
  if (size <= MAX_SINGLE_COPY) {
    await client.send(
      new CopyObjectCommand({ Bucket: bucket, Key: objects.full(to), CopySource: source }),
      { abortSignal: signal },
    );
    return;
  }
  const target = new MultipartObject(objects, to);
  try {
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: objects.full(to) }),
      { abortSignal: signal },
    );
    target.uploadId = created.UploadId;
    for (let start = 0, number = 1; start < size; start += COPY_PART_BYTES, number++) {
      const end = Math.min(size, start + COPY_PART_BYTES) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: objects.full(to),
          UploadId: target.uploadId,
          PartNumber: number,
          CopySource: source,
          CopySourceRange: `bytes=${start}-${end}`,
        }),
        { abortSignal: signal },
      );
      target.parts.push({ number, etag: out.CopyPartResult?.ETag ?? '', size: end - start + 1 });
    }
    await target.complete(signal);
  } catch (err) {
    await target.abort().catch(() => {});
    throw err;
  }
}

/**
 * A body sink that keeps the pieces it is given: `feedSink` reuses a piece's memory once
 * the sink's promise settled and hands on up to four pieces at once, while the S3 writers
 * gather pieces into parts and upload them in order. Each piece is copied and `handle`d
 * one after another.
 */
export function keepingSink(handle: (piece: Buffer) => Promise<void>): BodySink {
  let chain: Promise<void> = Promise.resolve();
  return (piece) => {
    const own = Buffer.from(piece);
    chain = chain.then(() => handle(own));
    return chain;
  };
}
