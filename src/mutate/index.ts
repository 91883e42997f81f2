export {
  appending,
  appendLayers,
  type EditOptions,
  editImage,
  flattenImage,
  flattening,
  type ImageEdit,
  mutateImage,
  mutation,
  rebaseImage,
  rebasing,
} from './edit-image.js';
export { editEachPlatform, type WrittenIndex } from './edit-index.js';
export { type ConfigChanges, mutateConfig } from './mutate-config.js';
export { directoryTar, layerFromPath, layerFromTar, type NewLayerOptions } from './new-layer.js';
export {
  historyStep,
  type ImageToWrite,
  type LayerToWrite,
  layersOf,
  putImage,
  type WrittenImage,
  writeImage,
} from './write-image.js';
