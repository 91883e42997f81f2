export { normalizeTarPath } from './fields.js';
export {
  decodeName,
  encodeName,
  escapeName,
  fsPath,
  hasEscapedBytes,
  unescapeName,
} from './name-codec.js';
export { readTar, readTarEntries, scanTarEntries, scanTarRecords } from './read-tar.js';
export type { ReadTarOptions, TarEntry, TarEntryType, TarRecord } from './types.js';
export { TAR_ENTRY_TYPE_CODES, TAR_ENTRY_TYPES, TYPE_LETTERS, TYPE_MODE_BITS } from './types.js';
export { encodeTarHeader, TAR_END, type TarHeaderFields, tarPadding } from './write-header.js';
export {
  type PackTarOptions,
  packTar,
  packTarBuffer,
  type TarWriteEntry,
} from './write-tar.js';
