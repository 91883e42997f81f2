/**
 * `ocipeek/store`: the shared local store (an OCI image layout), verified resumable pulls,
 * and read access to any OCI image layout directory.
 *
 * @packageDocumentation
 */

export {
  IMAGE_NAME_ANNOTATION,
  type LayoutRef,
  LayoutSource,
  type LayoutSourceOptions,
  OciLayout,
} from '../layout/index.js';
export type { OpenBlobOptions, OpenLayoutOptions, ReadBlobOptions } from '../layout/oci-layout.js';
export type {
  AdoptBlobOptions,
  BlobSource,
  WriteBlobOptions,
  WriteBlobResult,
} from '../store/blob-writer.js';
export type { FileLock, FileLockOptions, LockHolder } from '../store/file-lock.js';
export {
  defaultStorePath,
  type LayoutNaming,
  type PullOptions,
  type PullPolicy,
  type PullResult,
  pullImage,
  Store,
  StoreDestination,
  type StoreDestinationOptions,
  type StoredImage,
  type StoreSourceOptions,
  storeSource,
} from '../store/index.js';
export type { ListImagesOptions } from '../store/list-images.js';
export type { PinPlace, StorePin } from '../store/pins.js';
export type { ProcessOwner } from '../store/process-owner.js';
export type { PruneOptions, PruneResult } from '../store/prune.js';
export type { PullProgressEvent } from '../store/pull.js';
export type { PlatformSelection } from '../store/pull-plan.js';
export type { OpenStoreOptions, TagOptions } from '../store/store.js';
export type { StorePathOptions } from '../store/store-path.js';
export type { StoreProblem, ValidateOptions } from '../store/validate.js';
