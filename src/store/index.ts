export { createFileIfAbsent, replaceFile } from './atomic-file.js';
export type {
  AdoptBlobOptions,
  BlobSource,
  WriteBlobOptions,
  WriteBlobResult,
} from './blob-writer.js';
export { FileLock, type FileLockOptions, type LockHolder } from './file-lock.js';
export type { ListImagesOptions, StoredImage } from './list-images.js';
export type { PruneOptions, PruneResult } from './prune.js';
export {
  DEFAULT_PULL_CONCURRENCY,
  type PullOptions,
  type PullPolicy,
  type PullProgressEvent,
  type PullResult,
  pullImage,
} from './pull.js';
export type { PlatformSelection } from './pull-plan.js';
export {
  LAYOUT_VERSION,
  type OpenStoreOptions,
  refName,
  STORE_FORMAT_VERSION,
  Store,
  type TagOptions,
} from './store.js';
export {
  type LayoutNaming,
  StoreDestination,
  type StoreDestinationOptions,
} from './store-destination.js';
export { defaultStorePath, isStoreDir, type StorePathOptions } from './store-path.js';
export { type StoreSourceOptions, storeSource } from './store-source.js';
export { lastTagCheck, recordTagCheck } from './tag-checks.js';
export type { StoreProblem, ValidateOptions } from './validate.js';
export { hasWorkArea, removeIdleWorkArea } from './work-area.js';
