import { OcipeekError } from '../../errors/index.js';

/**
 * Why a storage refused a write, each answered with its own distribution-spec error:
 * - `upload-unknown`: no such upload session (`BLOB_UPLOAD_UNKNOWN`, 404);
 * - `range`: a chunk that does not start where the upload stands (416);
 * - `blob-unknown`: no such blob in the repository (`BLOB_UNKNOWN`, 404);
 * - `manifest-blob-unknown`: a manifest names content the repository lacks (400);
 * - `too-large`: past a configured size cap (`SIZE_INVALID`, 413);
 * - `digest-invalid`: uploaded bytes that do not hash to the digest given (400);
 * - `denied`: refused by the storage's own rules (`DENIED`, 403);
 * - `busy`: another request is writing the same upload right now (416 with its state);
 * - `referenced`: a delete of content that a manifest of the repository still needs (409).
 */
export type StorageProblem =
  | 'upload-unknown'
  | 'range'
  | 'blob-unknown'
  | 'manifest-blob-unknown'
  | 'too-large'
  | 'digest-invalid'
  | 'denied'
  | 'busy'
  | 'referenced';

/** A write a registry storage refused; `problem` says why (see {@link StorageProblem}). */
export class RegistryStorageError extends OcipeekError {
  static readonly code = 'ERR_REGISTRY_STORAGE';
  constructor(
    readonly problem: StorageProblem,
    message: string,
    /** For `range` and `busy`: the upload's offset; for `manifest-blob-unknown`: digests. */
    readonly detail?: { offset?: number; digests?: string[] },
  ) {
    super(RegistryStorageError.code, message);
  }
}

/** The refusal for an upload session that does not exist (or not in this repository). */
export function uploadUnknown(id: string): RegistryStorageError {
  return new RegistryStorageError('upload-unknown', `blob upload ${id} unknown`);
}
