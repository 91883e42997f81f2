/**
 * `ocipeek/image`: what an image is, wherever it is: resolution and platform choice,
 * inspection, history, and opening its layers (from the store, else the registry).
 *
 * @packageDocumentation
 */

// Each from its own file, not the image/ barrel, which would load the filesystem view.
export { type HistoryStep, historySteps } from '../image/history.js';
export {
  type ImageInspection,
  inspectImage,
  type LayerSummary,
  type PlatformEntry,
} from '../image/inspect-image.js';
export {
  type ImageLayer,
  type LayerOpenOptions,
  type OpenedImage,
  type OpenImageOptions,
  openImage,
} from '../image/open-image.js';
export {
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
} from '../image/resolve-image.js';
