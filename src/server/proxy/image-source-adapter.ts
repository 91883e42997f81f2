import { InvalidArgumentError } from '../../errors/index.js';
import { openSource } from '../../places/index.js';
import type { RegistryClient } from '../../registry/index.js';
import { parsePlace } from '../../source/index.js';
import type { ProxySource, SourceManifest } from './proxy-image.js';

/*
 * The one place the proxy reaches into the image-source API (places: registry, OCI
 * layout, archives, the store). Everything else in the proxy sees a ProxySource.
 */

/** Transports an IMAGE may name, as `TRANSPORT:REF` (skopeo's spelling; `store:` is ours). */
const TRANSPORTS = new Set(['docker', 'oci', 'oci-archive', 'docker-archive', 'store']);

/** Options of {@link openProxySource}. */
export interface OpenProxySourceOptions {
  client: RegistryClient;
  /** The store folder for `store:` images. */
  storeDir?: string;
  signal?: AbortSignal;
}

/**
 * Check that `image` names its transport, as skopeo's proxy requires (a bare reference is
 * refused with skopeo's words).
 */
export function checkImageName(image: string): void {
  const colon = image.indexOf(':');
  if (colon < 0) {
    throw new InvalidArgumentError(
      `Invalid image name "${image}", expected colon-separated transport:reference`,
    );
  }
  const transport = image.slice(0, colon);
  if (!TRANSPORTS.has(transport)) {
    throw new InvalidArgumentError(
      `Invalid image name "${image}", unknown transport "${transport}"`,
    );
  }
  if (transport === 'docker' && !image.startsWith('docker://')) {
    throw new InvalidArgumentError(
      `Invalid image name "${image}": docker: image reference ${image.slice(colon + 1)} does not start with //`,
    );
  }
}

/**
 * Open `image` (`TRANSPORT:REF`) and read its manifest (an image that is not there fails
 * here, as in skopeo's `OpenImage`); the manifest read is kept for the first use.
 */
export async function openProxySource(
  image: string,
  options: OpenProxySourceOptions,
): Promise<ProxySource> {
  checkImageName(image);
  const source = await openSource(parsePlace(image), {
    client: options.client,
    storeDir: options.storeDir,
    signal: options.signal,
  });
  let root: SourceManifest;
  try {
    root = await source.root({ signal: options.signal });
  } catch (err) {
    await source.close();
    throw err;
  }
  return {
    description: source.description,
    root: async () => root,
    manifest: (desc, o) => source.manifest(desc, o),
    openBlob: (desc, o) => source.openBlob(desc, o),
    close: () => source.close(),
  };
}
