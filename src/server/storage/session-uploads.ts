import type { Readable } from 'node:stream';
import type { BackendCallOptions, UploadChunkOptions, UploadState } from './registry-storage.js';

/**
 * The chunked-upload sessions a storage keeps: files under the store's `.ocipeek/uploads/`
 * (`StoreUploads`), multipart objects in a bucket (`S3Uploads`).
 */
export interface UploadSessions {
  /** Start a session for repository `name`. */
  start(name: string, signal?: AbortSignal): Promise<UploadState>;
  /** Where session `id` of `name` stands, or `undefined` when there is none. */
  state(name: string, id: string, signal?: AbortSignal): Promise<UploadState | undefined>;
  /** Append `chunk` to session `id`. */
  append(
    name: string,
    id: string,
    chunk: Readable,
    options?: UploadChunkOptions,
  ): Promise<UploadState>;
  /** Drop session `id` and what it received; false when there was none. */
  cancel(name: string, id: string, signal?: AbortSignal): Promise<boolean>;
}

/**
 * The upload calls of a `RegistryStorage` that only hand over to its {@link UploadSessions}
 * (start, state, append, cancel), written once for the store and S3 storages; finishing
 * an upload is each storage's own (where the verified bytes go differs).
 */
export abstract class SessionUploads {
  /** The storage's upload sessions. */
  protected abstract readonly uploads: UploadSessions;

  /** Start a chunked upload into `name`. */
  startUpload(name: string, options: BackendCallOptions = {}): Promise<UploadState> {
    return this.uploads.start(name, options.signal);
  }

  /** Where upload `id` of `name` stands, or `undefined` when there is no such session. */
  uploadState(
    name: string,
    id: string,
    options: BackendCallOptions = {},
  ): Promise<UploadState | undefined> {
    return this.uploads.state(name, id, options.signal);
  }

  /** Append a chunk to upload `id`; resolves with the new state. */
  appendUpload(
    name: string,
    id: string,
    chunk: Readable,
    options: UploadChunkOptions = {},
  ): Promise<UploadState> {
    return this.uploads.append(name, id, chunk, options);
  }

  /** Cancel upload `id`: its bytes are dropped; false when there was no such session. */
  cancelUpload(name: string, id: string, options: BackendCallOptions = {}): Promise<boolean> {
    return this.uploads.cancel(name, id, options.signal);
  }
}
