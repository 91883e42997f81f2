export { type HistoryStep, historySteps } from './history.js';
export {
  type ImageInspection,
  inspectImage,
  type LayerSummary,
  type PlatformEntry,
} from './inspect-image.js';
export { type ResolvedImage, type ResolveImageOptions, resolveImage } from './resolve-image.js';
