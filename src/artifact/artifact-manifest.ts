import { digestOf } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { type Descriptor, type ImageManifest, MediaType } from '../media/index.js';

export { TITLE_ANNOTATION } from '../media/index.js';

/** When the artifact was made (image-spec's pre-defined annotation). */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** The empty JSON blob `{}` image-spec 1.1 names for unused configs and layers. */
export const EMPTY_JSON = Buffer.from('{}');

/** The descriptor of {@link EMPTY_JSON}. */
export const EMPTY_DESCRIPTOR: Readonly<Descriptor> = {
  mediaType: MediaType.ociEmpty,
  digest: digestOf(EMPTY_JSON, 'sha256'),
  size: EMPTY_JSON.length,
};

/** What an artifact manifest is made of. */
export interface ArtifactParts {
  /** The manifest's `artifactType` (required: the config is the empty blob). */
  artifactType: string;
  /** The file blobs, in order; none gives the one empty layer the spec asks for. */
  layers: Descriptor[];
  /** The manifest this artifact is about (signatures, SBOMs, attestations). */
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/**
 * An OCI 1.1 artifact manifest as image-spec's guidance writes it: an image manifest with
 * `artifactType`, the empty config, the files as layers (or the empty layer when there is
 * none), and the subject descriptor cut to what a descriptor of it needs.
 */
export function buildArtifactManifest(parts: ArtifactParts): {
  manifest: ImageManifest;
  bytes: Buffer;
  digest: string;
} {
  if (!/^[a-z0-9][\w.+-]*\/[\w.+-]+$/i.test(parts.artifactType)) {
    throw new InvalidArgumentError(
      `artifact type "${parts.artifactType}" is not a media type (type/subtype)`,
    );
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: parts.artifactType,
    config: { ...EMPTY_DESCRIPTOR },
    layers: parts.layers.length > 0 ? parts.layers : [{ ...EMPTY_DESCRIPTOR }],
  };
  if (parts.subject) {
    const { mediaType, digest, size } = parts.subject;
    manifest.subject = { mediaType, digest, size };
  }
  if (parts.annotations && Object.keys(parts.annotations).length > 0) {
    manifest.annotations = parts.annotations;
  }
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { manifest, bytes, digest: digestOf(bytes, 'sha256') };
}
