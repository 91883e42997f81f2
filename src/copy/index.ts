export {
  type CopyImageOptions,
  type CopyProgress,
  type CopyResult,
  copyImage,
} from './copy-image.js';
export { rewriteIndex, selectEntries } from './select-platforms.js';
