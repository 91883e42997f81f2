export {
  DockerArchiveDestination,
  familiarTag,
} from './docker-archive-destination.js';
export {
  type DockerArchiveEntry,
  dockerArchiveFromDir,
  openDockerArchiveSource,
  pickEntry,
} from './docker-archive-source.js';
export {
  DEFAULT_MAX_ARCHIVE_ENTRIES,
  defaultMaxExtractedBytes,
  type ExtractArchiveOptions,
  type ExtractedArchive,
  extractArchive,
  safeEntryPath,
} from './extract-archive.js';
export {
  OciArchiveDestination,
  type OpenArchiveOptions,
  ociArchiveFromDir,
  openOciArchiveSource,
} from './oci-archive.js';
export {
  type ArchiveFormat,
  type OpenArchiveSourceOptions,
  openArchiveSource,
} from './open-archive.js';
export { type PackDirectoryOptions, packDirectory } from './pack-directory.js';
