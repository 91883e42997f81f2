export { normalizeTarPath } from './fields.js';
export {
  decodeName,
  encodeName,
  escapeName,
  fsPath,
  hasEscapedBytes,
  unescapeName,
} from './name-codec.js';
export { readTar, readTarEntries, scanTarEntries } from './read-tar.js';
export type { ReadTarOptions, TarEntry, TarEntryType, TarRecord } from './types.js';
export { TYPE_LETTERS } from './types.js';
