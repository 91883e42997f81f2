export {
  type BuildFilesystemOptions,
  type BuiltFilesystem,
  buildFilesystem,
  scanLayer,
} from './build-filesystem.js';
export {
  type CheckImageOptions,
  type CheckImageResult,
  checkImage,
  type ImageProblem,
} from './check-image.js';
export { type ExportFilesystemOptions, exportFilesystem } from './export-filesystem.js';
export { type HistoryStep, historySteps } from './history.js';
export { type DiffSide, diffImages, sameContentKnown } from './image-diff.js';
export {
  type ImageInspection,
  inspectImage,
  type LayerSummary,
  type PlatformEntry,
} from './inspect-image.js';
export { LayerIndexCache, type LayerListing } from './layer-index-cache.js';
export { type LayerReport, type LayerReportEntry, layerReport } from './layer-report.js';
export { type OpenImageFileOptions, openImageFile } from './read-file.js';
