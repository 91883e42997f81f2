import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createSHA256, type IHasher } from 'hash-wasm';
import { createDigester, parseDigest } from '../../../digest/index.js';
import { feedSink } from '../../../transport/body-sink.js';
import type { UploadChunkOptions, UploadState } from '../registry-storage.js';
import {
  blobTooLarge,
  chunkOutOfOrder,
  chunkTooLong,
  digestInvalid,
  uploadBusy,
  uploadUnknown,
} from '../storage-error.js';
import type { S3Objects } from './s3-objects.js';
import {
  abortMultipart,
  keepingSink,
  MultipartObject,
  PART_BYTES,
  type UploadedPart,
} from './s3-parts.js';

/**
 * An upload session as an object (`uploads/ID/state.json`): everything another instance
 * needs to take the next chunk. Written once per chunk, after the chunk's bytes are stored.
 */
interface SessionRecord {
  repository: string;
  /** Bytes received so far. */
  offset: number;
  /** hash-wasm's saved sha256 state after `offset` bytes (base64). */
  sha256: string;
  /** The multipart upload of `uploads/ID/data`, once a part was written. */
  multipart?: string;
  parts: UploadedPart[];
  /** Bytes after the last part, as small objects in order, joined into a part later. */
  pending: Array<{ key: string; size: number }>;
}

/** A verified upload, ready to become a blob: in memory, or as a completed object. */
export interface FinishedS3Upload {
  size: number;
  /** The whole blob, when it stayed below one part. */
  bytes?: Buffer;
  /** Otherwise the completed object holding it (`uploads/ID/data`). */
  dataKey?: string;
  /** Remove the session's objects. */
  dispose(): Promise<void>;
}

async function sha256Resumed(saved: string | undefined): Promise<IHasher> {
  const hasher = await createSHA256();
  if (saved === undefined) hasher.init();
  else hasher.load(Buffer.from(saved, 'base64'));
  return hasher;
}

/**
 * Chunked uploads of an S3-backed registry, with all their state in the bucket so that
 * any instance takes the next chunk (`uploads/ID/`):
 *
 * - `state.json` ({@link SessionRecord}): offset, multipart upload id and parts, and the
 *   running sha256 as hash-wasm's saved state. Node's own hash cannot be saved, so the
 *   hash is computed by hash-wasm and its state stored after every chunk: completion
 *   needs no re-read of the data, whichever instance completes.
 * - `data`: a multipart upload, parts of {@link PART_BYTES}; the bytes of a chunk that do
 *   not fill a part are kept as `pending/OFFSET-RANDOM` objects and joined into a part
 *   once enough has arrived (S3 wants 5 MiB in every part but the last).
 *
 * A chunk is all or nothing: the state moves only after its bytes are stored, so a
 * broken chunk leaves the session where it was (parts it wrote are overwritten by the
 * retry, which uses the same part numbers). One writer per session and instance (a
 * second request gets `busy`); two instances writing one session at once is outside the
 * protocol (chunks go in order), and at worst makes completion fail, since the parts'
 * ETags are checked then: it never makes a wrong blob visible.
 */
export class S3Uploads {
  private readonly writing = new Set<string>();

  constructor(
    private readonly objects: S3Objects,
    private readonly maxBlobBytes: number | undefined,
  ) {}

  private stateKey(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw uploadUnknown(id);
    return `uploads/${id}/state.json`;
  }

  private async record(name: string, id: string, signal?: AbortSignal) {
    const found = await this.objects.getJson<SessionRecord>(this.stateKey(id), signal);
    return found && found.value.repository === name ? found.value : undefined;
  }

  async start(name: string, signal?: AbortSignal): Promise<UploadState> {
    const id = randomUUID();
    const hasher = await sha256Resumed(undefined);
    const record: SessionRecord = {
      repository: name,
      offset: 0,
      sha256: Buffer.from(hasher.save()).toString('base64'),
      parts: [],
      pending: [],
    };
    await this.objects.putJson(this.stateKey(id), record, signal);
    return { id, repository: name, offset: 0 };
  }

  async state(name: string, id: string, signal?: AbortSignal): Promise<UploadState | undefined> {
    const record = await this.record(name, id, signal);
    return record && { id, repository: name, offset: record.offset };
  }

  async append(
    name: string,
    id: string,
    chunk: Readable,
    options: UploadChunkOptions = {},
  ): Promise<UploadState> {
    return this.exclusive(name, id, chunk, options, async (record) => {
      const { next, joined } = await this.ingest(id, record, chunk, options, false);
      await this.objects.putJson(this.stateKey(id), next, options.signal);
      await this.removeAll(joined);
      return { id, repository: name, offset: next.offset };
    });
  }

  /**
   * Take the optional last chunk, verify the whole against `digest` and hand back the
   * bytes or the completed object. A mismatch removes the session and rejects with
   * `digest-invalid`.
   */
  finish(
    name: string,
    id: string,
    digest: string,
    chunk: Readable | undefined,
    options: UploadChunkOptions = {},
  ): Promise<FinishedS3Upload> {
    const { algorithm, hex } = parseDigest(digest);
    return this.exclusive(name, id, chunk, options, async (record) => {
      const done = await this.ingest(id, record, chunk, options, true);
      const dispose = () => this.remove(id, done.next);
      try {
        // A final ingest always hashes: only a chunk's ingest leaves sha256 unset.
        let actual = done.sha256 as string;
        if (algorithm !== 'sha256') {
          const hash = createDigester(algorithm);
          if (done.bytes) hash.update(done.bytes);
          else {
            const body = await this.objects.stream(done.dataKey as string, {
              signal: options.signal,
            });
            for await (const piece of body ?? []) hash.update(piece as Buffer);
          }
          actual = hash.digest('hex');
        }
        if (actual !== hex) {
          throw digestInvalid(digest, algorithm, actual);
        }
      } catch (err) {
        await dispose();
        throw err;
      }
      return { size: done.next.offset, bytes: done.bytes, dataKey: done.dataKey, dispose };
    });
  }

  async cancel(name: string, id: string, signal?: AbortSignal): Promise<boolean> {
    const record = await this.record(name, id, signal);
    if (!record) return false;
    await this.remove(id, record);
    return true;
  }

  /**
   * Remove sessions whose state was last written more than `maxIdleMs` ago and that this
   * instance is not writing; returns how many went and their bytes.
   */
  async expire(maxIdleMs: number, dryRun = false, signal?: AbortSignal) {
    const out = { removed: 0, bytes: 0 };
    const before = Date.now() - maxIdleMs;
    for (const folder of await this.objects.folders('uploads/', signal)) {
      const id = folder.slice(0, -1);
      if (!/^[0-9a-f-]{36}$/.test(id) || this.writing.has(id)) continue;
      const state = await this.objects.head(this.stateKey(id), signal);
      if (state && state.mtimeMs >= before) continue;
      const record = (await this.objects.getJson<SessionRecord>(this.stateKey(id), signal))?.value;
      out.removed++;
      out.bytes += record?.offset ?? 0;
      if (!dryRun) await this.remove(id, record);
    }
    return out;
  }

  /** Run `work` on the session's record as its only writer in this instance. */
  private async exclusive<T>(
    name: string,
    id: string,
    chunk: Readable | undefined,
    options: UploadChunkOptions,
    work: (record: SessionRecord) => Promise<T>,
  ): Promise<T> {
    const record = await this.record(name, id, options.signal);
    if (!record) throw uploadUnknown(id);
    if (this.writing.has(id)) {
      chunk?.resume();
      throw uploadBusy(id, record.offset);
    }
    if (options.start !== undefined && options.start !== record.offset) {
      chunk?.resume(); // discard it: nothing of an out-of-order chunk is kept
      throw chunkOutOfOrder(id, options.start, record.offset);
    }
    this.writing.add(id);
    try {
      return await work(record);
    } finally {
      this.writing.delete(id);
    }
  }

  /**
   * Store `chunk` after `record`'s bytes: whole parts as they fill, the rest as a pending
   * object (or, when `final`, as the last part, or in memory when there is no part).
   */
  private async ingest(
    id: string,
    record: SessionRecord,
    chunk: Readable | undefined,
    options: UploadChunkOptions,
    final: boolean,
  ) {
    const { signal } = options;
    const hasher = await sha256Resumed(record.sha256);
    const data = new MultipartObject(this.objects, `uploads/${id}/data`, record.multipart, [
      ...record.parts,
    ]);
    let pending = [...record.pending];
    const joined: string[] = [];
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    let offset = record.offset;
    const pendingBytes = () => pending.reduce((n, p) => n + p.size, 0);
    /** Pending objects and buffered bytes, `size` bytes of them, as one buffer. */
    const take = async (size: number): Promise<Buffer> => {
      const pieces: Buffer[] = [];
      for (const p of pending) {
        const got = await this.objects.get(p.key, { signal });
        if (!got || got.bytes.length !== p.size) throw uploadUnknown(id);
        pieces.push(got.bytes);
        joined.push(p.key);
      }
      pending = [];
      const all = Buffer.concat([...pieces, ...buffered]);
      const rest = all.subarray(size);
      buffered = rest.length > 0 ? [rest] : [];
      bufferedBytes = rest.length;
      return all.subarray(0, size);
    };
    const cap = this.maxBlobBytes;
    if (chunk) {
      await feedSink(
        chunk,
        keepingSink(async (piece) => {
          const end = offset + piece.length;
          if (cap !== undefined && end > cap) {
            throw blobTooLarge(cap);
          }
          if (options.length !== undefined && end - record.offset > options.length) {
            throw chunkTooLong(options.length, record.offset);
          }
          hasher.update(piece);
          buffered.push(piece);
          bufferedBytes += piece.length;
          offset = end;
          while (pendingBytes() + bufferedBytes >= PART_BYTES) {
            await data.uploadPart(await take(PART_BYTES), signal);
          }
        }),
        signal,
      );
    }
    const next = (): SessionRecord => ({
      ...record,
      offset,
      sha256: Buffer.from(hasher.save()).toString('base64'),
      multipart: data.uploadId,
      parts: data.parts,
      pending,
    });
    if (!final) {
      if (bufferedBytes > 0) {
        const at = String(offset - bufferedBytes).padStart(15, '0');
        const key = `uploads/${id}/pending/${at}-${randomUUID().slice(0, 8)}`;
        await this.objects.put(key, Buffer.concat(buffered), signal);
        pending.push({ key, size: bufferedBytes });
      }
      return { next: next(), joined };
    }
    const last = await take(pendingBytes() + bufferedBytes);
    const done = next(); // before digest(), which ends the hash
    const sha256 = hasher.digest('hex');
    if (!data.uploadId) return { next: done, joined, sha256, bytes: last };
    if (last.length > 0) await data.uploadPart(last, signal);
    done.multipart = data.uploadId;
    await data.complete(signal);
    return { next: done, joined, sha256, dataKey: data.key };
  }

  /** Remove session `id`: its multipart upload, data, pending objects and state. */
  private async remove(id: string, record: SessionRecord | undefined): Promise<void> {
    if (record?.multipart) {
      await abortMultipart(this.objects, `uploads/${id}/data`, record.multipart).catch(() => {});
    }
    const keys: string[] = [];
    for await (const o of this.objects.list(`uploads/${id}/`)) keys.push(o.key);
    // The state last: while it exists, the session can still be found and removed.
    keys.sort((a, b) => Number(a.endsWith('state.json')) - Number(b.endsWith('state.json')));
    for (const key of keys) await this.objects.delete(key);
  }

  private async removeAll(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.objects.delete(key).catch(() => {})));
  }
}
