export {
  appendLayers,
  type EditOptions,
  flattenImage,
  mutateImage,
  rebaseImage,
} from './edit-image.js';
export { type ConfigChanges, mutateConfig } from './mutate-config.js';
export { directoryTar, layerFromPath, layerFromTar, type NewLayerOptions } from './new-layer.js';
export {
  historyStep,
  type ImageToWrite,
  type LayerToWrite,
  layersOf,
  type WrittenImage,
  writeImage,
} from './write-image.js';
