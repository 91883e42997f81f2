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

/**
 * Where sigstore attachments are kept: a registry repository, or an OCI layout (the
 * `sha256-<hex>.sig` name in its `index.json`, as cosign and newer containers/image keep
 * them there).
 */
export interface AttachmentRepository {
  /** The manifest named `tag`, or undefined when there is none. */
  manifest(tag: string): Promise<ImageManifest | undefined>;
  /** A small blob, whole and verified. */
  readBlob(descriptor: Descriptor, maxBytes: number): Promise<Buffer>;
  /** Store `bytes` as a blob unless it is there. */
  putBlob(bytes: Buffer): Promise<void>;
  /** Store `bytes` as an OCI image manifest named `tag`, replacing what had that name. */
  putManifest(tag: string, bytes: Buffer): Promise<void>;
}

/** The attachments of `repo` in a registry, through `client`. */
export function registryAttachments(
  client: RegistryClient,
  repo: Reference,
  signal?: AbortSignal,
): AttachmentRepository {
  return {
    async manifest(tag) {
      try {
        const m = await client.getManifest(repo.withTag(tag), { signal });
        return isIndex(m.manifest) ? undefined : m.manifest;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    readBlob: (descriptor, maxBytes) => client.readBlob(repo, descriptor, { signal, maxBytes }),
    async putBlob(bytes) {
      const digest = digestOf(bytes);
      if ((await client.hasBlob(repo, digest, { signal })) !== undefined) return;
      await client.uploadBlob(repo, { digest, size: bytes.length }, bytes, { signal });
    },
    async putManifest(tag, bytes) {
      await client.putManifest(repo.withTag(tag), bytes, MediaType.ociManifest, { signal });
    },
  };
}

/**
 * The sigstore signatures of `manifestDigest` stored as containers/image and cosign store
 * them: layers of the `sha256-<hex>.sig` tag's manifest in the same repository, each a
 * payload blob (verified against its digest) with the signature in an annotation. Layers
 * of other media types are skipped.
 */
export function readSigstoreSignatures(
  client: RegistryClient,
  repo: Reference,
  manifestDigest: string,
  options: { signal?: AbortSignal } = {},
): Promise<SigstoreSignature[]> {
  return readAttachedSignatures(registryAttachments(client, repo, options.signal), manifestDigest);
}

/** {@link readSigstoreSignatures} from any {@link AttachmentRepository}. */
export async function readAttachedSignatures(
  repo: AttachmentRepository,
  manifestDigest: string,
): Promise<SigstoreSignature[]> {
  const manifest = await repo.manifest(sigstoreAttachmentTag(manifestDigest));
  const signatures: SigstoreSignature[] = [];
  for (const layer of manifest?.layers ?? []) {
    if (layer.mediaType !== SIGSTORE_SIGNATURE_MEDIA_TYPE) continue;
    const payload = await repo.readBlob(layer, MAX_PAYLOAD_BYTES);
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
export function writeSigstoreSignature(
  client: RegistryClient,
  repo: Reference,
  manifestDigest: string,
  signature: { payload: Buffer; signature: string },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  return attachSignatures(registryAttachments(client, repo, options.signal), manifestDigest, [
    { payload: signature.payload, signature: signature.signature, annotations: {} },
  ]);
}

/**
 * {@link writeSigstoreSignature} for several signatures (copied ones keep their other
 * annotations: certificates, bundles), into any {@link AttachmentRepository}; one manifest
 * write for all.
 */
export async function attachSignatures(
  repo: AttachmentRepository,
  manifestDigest: string,
  signatures: readonly SigstoreSignature[],
): Promise<void> {
  const tag = sigstoreAttachmentTag(manifestDigest);
  const existing = await repo.manifest(tag);
  const layers: Descriptor[] = [...(existing?.layers ?? [])];
  let added = 0;
  for (const sig of signatures) {
    if (sig.signature === undefined) continue; // nothing to check it by
    const payloadDigest = digestOf(sig.payload);
    const present = layers.some(
      (l) =>
        l.digest === payloadDigest &&
        l.annotations?.[SIGSTORE_SIGNATURE_ANNOTATION] === sig.signature,
    );
    if (present) continue;
    await repo.putBlob(sig.payload);
    layers.push({
      mediaType: SIGSTORE_SIGNATURE_MEDIA_TYPE,
      digest: payloadDigest,
      size: sig.payload.length,
      annotations: { ...sig.annotations, [SIGSTORE_SIGNATURE_ANNOTATION]: sig.signature },
    });
    added++;
  }
  if (added === 0) return;
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  await repo.putBlob(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
    layers,
  };
  await repo.putManifest(tag, Buffer.from(JSON.stringify(manifest)));
}
