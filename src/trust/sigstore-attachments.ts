import { digestOf } from '../digest/index.js';
import { NotFoundError } from '../errors/index.js';
import { type Descriptor, type ImageManifest, isIndex, MediaType } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import {
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MEDIA_TYPE,
} from './signature-payload.js';

/** One sigstore signature as stored: the payload and the layer's annotations. */
export interface SigstoreSignature {
  payload: Buffer;
  /** `dev.cosignproject.cosign/signature`, base64; undefined when the layer lacks it. */
  signature: string | undefined;
  annotations: Record<string, string>;
}

/** Signature payloads are small; containers/image reads at most 4 MiB of one. */
const MAX_PAYLOAD_BYTES = 4 << 20;

/** The tag holding the signatures of `manifestDigest` (`sha256:abc` → `sha256-abc.sig`). */
export function sigstoreAttachmentTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.sig`;
}

/** The attachment manifest of `manifestDigest` in `repo`, or undefined when there is none. */
async function attachmentManifest(
  client: RegistryClient,
  repo: Reference,
  manifestDigest: string,
  signal: AbortSignal | undefined,
): Promise<ImageManifest | undefined> {
  try {
    const m = await client.getManifest(repo.withTag(sigstoreAttachmentTag(manifestDigest)), {
      signal,
    });
    return isIndex(m.manifest) ? undefined : m.manifest;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * The sigstore signatures of `manifestDigest` stored as containers/image and cosign store
 * them: layers of the `sha256-<hex>.sig` tag's manifest in the same repository, each a
 * payload blob (verified against its digest) with the signature in an annotation. Layers
 * of other media types are skipped.
 */
export async function readSigstoreSignatures(
  client: RegistryClient,
  repo: Reference,
  manifestDigest: string,
  options: { signal?: AbortSignal } = {},
): Promise<SigstoreSignature[]> {
  const manifest = await attachmentManifest(client, repo, manifestDigest, options.signal);
  const signatures: SigstoreSignature[] = [];
  for (const layer of manifest?.layers ?? []) {
    if (layer.mediaType !== SIGSTORE_SIGNATURE_MEDIA_TYPE) continue;
    const payload = await client.readBlob(repo, layer, {
      signal: options.signal,
      maxBytes: MAX_PAYLOAD_BYTES,
    });
    const annotations = layer.annotations ?? {};
    signatures.push({
      payload,
      signature: annotations[SIGSTORE_SIGNATURE_ANNOTATION],
      annotations,
    });
  }
  return signatures;
}

/**
 * Add a signature to the `sha256-<hex>.sig` tag of `manifestDigest` in `repo`, keeping the
 * ones already there (one already present is not added twice), the way containers/image
 * writes them: the payload as a layer with the signature annotation, an OCI config listing
 * the payloads as diff_ids.
 */
export async function writeSigstoreSignature(
  client: RegistryClient,
  repo: Reference,
  manifestDigest: string,
  signature: { payload: Buffer; signature: string },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  const existing = await attachmentManifest(client, repo, manifestDigest, signal);
  const layers: Descriptor[] = [...(existing?.layers ?? [])];
  const payloadDigest = digestOf(signature.payload);
  const present = layers.some(
    (l) =>
      l.digest === payloadDigest &&
      l.annotations?.[SIGSTORE_SIGNATURE_ANNOTATION] === signature.signature,
  );
  if (present) return;
  await putBlobIfMissing(client, repo, signature.payload, signal);
  layers.push({
    mediaType: SIGSTORE_SIGNATURE_MEDIA_TYPE,
    digest: payloadDigest,
    size: signature.payload.length,
    annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signature.signature },
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  await putBlobIfMissing(client, repo, config, signal);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
    layers,
  };
  await client.putManifest(
    repo.withTag(sigstoreAttachmentTag(manifestDigest)),
    Buffer.from(JSON.stringify(manifest)),
    MediaType.ociManifest,
    { signal },
  );
}

async function putBlobIfMissing(
  client: RegistryClient,
  repo: Reference,
  bytes: Buffer,
  signal: AbortSignal | undefined,
): Promise<void> {
  const digest = digestOf(bytes);
  if ((await client.hasBlob(repo, digest, { signal })) !== undefined) return;
  await client.uploadBlob(repo, { digest, size: bytes.length }, bytes, { signal });
}
