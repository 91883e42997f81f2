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
