export {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  isAttestationEntry,
  listPlatforms,
  normalizePlatform,
  parsePlatform,
  platformEquals,
} from './platform.js';
export { requirePlatform } from './require-platform.js';
