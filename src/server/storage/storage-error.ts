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

/** The refusal of uploaded bytes that hash to `actual` (hex, in `algorithm`) instead of `digest`. */
export function digestInvalid(
  digest: string,
  algorithm: string,
  actual: string,
): RegistryStorageError {
  return new RegistryStorageError(
    'digest-invalid',
    `uploaded bytes hash to ${algorithm}:${actual}, not ${digest}`,
  );
}

/** The refusal of a manifest that names content repository `name` lacks (`missing`). */
export function manifestBlobsUnknown(name: string, missing: string[]): RegistryStorageError {
  return new RegistryStorageError(
    'manifest-blob-unknown',
    `manifest references content unknown to ${name}: ${missing.join(', ')}`,
    { digests: missing },
  );
}

/** The refusal to delete a blob that an image tagged in `name` still names. */
export function blobReferenced(name: string, digest: string): RegistryStorageError {
  return new RegistryStorageError(
    'referenced',
    `blob ${digest} is part of an image tagged in ${name}; delete that tag first`,
  );
}

/** The refusal to delete an untagged manifest that an index tagged in `name` still names. */
export function manifestReferenced(name: string, digest: string): RegistryStorageError {
  return new RegistryStorageError(
    'referenced',
    `manifest ${digest} is part of an index tagged in ${name}; delete that first`,
  );
}

/** The refusal of a write to upload `id` while another request writes it (at `offset`). */
export function uploadBusy(id: string, offset: number): RegistryStorageError {
  return new RegistryStorageError('busy', `blob upload ${id} is being written`, { offset });
}

/** The refusal of a chunk that starts at `start` while upload `id` stands at `offset`. */
export function chunkOutOfOrder(id: string, start: number, offset: number): RegistryStorageError {
  return new RegistryStorageError(
    'range',
    `chunk starts at ${start}, upload ${id} is at ${offset}`,
    {
      offset,
    },
  );
}

/** The refusal of a chunk longer than the `length` its request declared (upload at `offset`). */
export function chunkTooLong(length: number, offset: number): RegistryStorageError {
  return new RegistryStorageError('range', `chunk longer than its ${length} bytes`, { offset });
}

/** The refusal of a blob past the configured cap of `cap` bytes. */
export function blobTooLarge(cap: number): RegistryStorageError {
  return new RegistryStorageError('too-large', `blob exceeds the limit of ${cap} bytes`);
}
