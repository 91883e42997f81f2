export {
  type LayoutReferrersOptions,
  layoutReferrers,
} from './layout-referrers.js';
export {
  IMAGE_NAME_ANNOTATION,
  LayoutSource,
  type LayoutSourceOptions,
} from './layout-source.js';
export { manifestByDigest } from './manifest-by-digest.js';
export {
  type LayoutRef,
  OciLayout,
  type OpenBlobOptions,
  type OpenLayoutOptions,
  type ReadBlobOptions,
} from './oci-layout.js';
export { REF_NAME_ANNOTATION, tagOfRefName } from './ref-name.js';
export { type LayoutManifest, type WalkManifestsOptions, walkManifests } from './walk-manifests.js';
