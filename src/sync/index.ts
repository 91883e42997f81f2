export {
  expandSyncSource,
  type SyncedImage,
  type SyncOptions,
  syncImages,
  syncTarget,
} from './sync-images.js';
