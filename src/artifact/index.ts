export {
  type ArtifactParts,
  buildArtifactManifest,
  CREATED_ANNOTATION,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  TITLE_ANNOTATION,
} from './artifact-manifest.js';
export { type PullArtifactOptions, type PulledArtifact, pullArtifact } from './pull-artifact.js';
export {
  type ArtifactFile,
  DEFAULT_FILE_MEDIA_TYPE,
  type PushArtifactOptions,
  type PushedArtifact,
  pushArtifact,
} from './push-artifact.js';
export { addToReferrersTag, publishReferrer } from './referrers-tag.js';
