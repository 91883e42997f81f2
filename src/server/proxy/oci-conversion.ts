import { digestOf } from '../../digest/index.js';
import { UnsupportedError } from '../../errors/index.js';
import { type Descriptor, type ImageManifest, MediaType } from '../../media/index.js';
import { goArray, goObject, goString } from './go-json.js';

/*
 * A Docker schema 2 manifest converted to an OCI manifest the way containers/image does
 * it for skopeo's proxy (`convertToManifestOCI1`), so clients see the same bytes from
 * ocipeek: the config is the OCI `Image` re-encoded by Go (go-image-config.ts) and is
 * referenced by the digest of those bytes, layer media types are mapped to their OCI
 * names, `urls` are kept, nothing else is.
 */

const LAYER_TYPES: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
  [MediaType.dockerLayerForeignGzip]: MediaType.ociLayerNondistributableGzip,
  'application/vnd.docker.image.rootfs.foreign.diff.tar': MediaType.ociLayerNondistributable,
};

/** A descriptor as image-spec's `Descriptor` struct writes it (no annotations here). */
function descriptorJson(d: Pick<Descriptor, 'mediaType' | 'digest' | 'size' | 'urls'>): string {
  return goObject([
    ['mediaType', d.mediaType ? goString(d.mediaType) : undefined],
    ['digest', goString(d.digest)],
    ['size', String(d.size)],
    ['urls', d.urls?.length ? goArray(d.urls, goString) : undefined],
  ]);
}

/**
 * The OCI manifest for Docker schema 2 `manifest` whose config, re-encoded as an OCI
 * `Image`, is `ociConfig`.
 */
export function ociManifestFromSchema2(manifest: ImageManifest, ociConfig: Buffer): Buffer {
  const layers = manifest.layers.map((layer) => {
    const mediaType = LAYER_TYPES[layer.mediaType];
    if (!mediaType) {
      throw new UnsupportedError(
        `Unknown media type during manifest conversion: ${goString(layer.mediaType)}`,
      );
    }
    return { ...layer, mediaType };
  });
  const config = {
    mediaType: MediaType.ociConfig,
    digest: digestOf(ociConfig),
    size: ociConfig.length,
  };
  return Buffer.from(
    goObject([
      ['schemaVersion', '2'],
      ['mediaType', goString(MediaType.ociManifest)],
      ['config', descriptorJson(config)],
      ['layers', goArray(layers, descriptorJson)],
    ]),
  );
}
