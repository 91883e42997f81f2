import { createHash } from 'node:crypto';
import { isOcipeekError, PolicyRejectedError } from '../../errors/index.js';
import { isIndex, parseManifest } from '../../media/index.js';
import { referenceInMessage } from '../../ref/index.js';
import type { ImageTrust, RegistryClient } from '../../registry/index.js';
import { RegistryHttpError } from '../registry/http-errors.js';
import { isDigestReference } from '../registry/names.js';
import type { StoredDocument, StoredManifest } from '../storage/registry-storage.js';
import { remember } from './remember.js';
import { SingleFlight } from './single-flight.js';
import { isUpstreamUnavailable, upstreamHttpError } from './upstream-errors.js';
import { UpstreamMap, type UpstreamRoute } from './upstream-map.js';

/** Accepted manifests remembered at most; the oldest are asked about again. */
const MAX_ACCEPTED = 100_000;

/**
 * policy.json for what the pull-through cache serves from an upstream: the trust every
 * other command obeys (`RegistryClient.trust`, from `--signature-policy` or the usual
 * files; `PolicyTrust`), asked about each manifest a client asks for, with the upstream
 * reference as asked (`docker.io/library/alpine:3.19`) as the image's identity and
 * signatures read from the upstream. A refused image answers 403 `DENIED` with the
 * policy's reason, and a refused manifest fetched from upstream is not stored.
 *
 * Verdicts are remembered (an accepted index accepts its child manifests, which a
 * client asks for by digest next, as containers/image checks only the top level): in
 * memory, and each acceptance also as a small document of the storage
 * (`cache/verdicts/<hash>`, see {@link verdictDocumentName}) keyed by the repository, the
 * tag asked for (a signature's identity names it), the manifest digest and the trust's
 * fingerprint (the policy and the keys it names). So after
 * a restart a cached image is served without asking upstream for its signatures again
 * (with upstream down it is still served), while a changed policy or key finds no
 * verdict and checks again. Blobs are not checked, as `ocipeek blob` and `skopeo
 * inspect` do not check them: without its manifest a client cannot pull the image.
 */
export class CachePolicy {
  private readonly accepted = new Map<string, true>();
  private readonly flights = new SingleFlight();
  private fingerprint: Promise<string | undefined> | undefined;

  /** `document` names the storage's documents, when it keeps any. */
  constructor(
    private readonly trust: ImageTrust | undefined,
    private readonly client: RegistryClient,
    private readonly document?: (name: string) => StoredDocument,
  ) {}

  /**
   * Throw 403 `DENIED` unless the policy accepts manifest `found`, asked for as
   * `reference` (a tag or a digest) of cache repository `name` routed by `route`.
   */
  async check(
    name: string,
    reference: string,
    route: UpstreamRoute | undefined,
    found: StoredManifest,
  ): Promise<void> {
    const { trust } = this;
    if (!trust || !route) return;
    const { digest } = found.descriptor;
    // A tag is part of the identity a signature names (matchExact, matchRepoDigestOrExact):
    // an image accepted as repo:1 is not thereby accepted as repo:2, even with one digest.
    const key = isDigestReference(reference)
      ? `${name}@${digest}`
      : `${name}:${reference}@${digest}`;
    if (this.accepted.has(key)) return;
    const ref = UpstreamMap.referenceOf(route, reference);
    // Not tied to one client's signal: every client asking meanwhile waits on this check.
    await this.flights.run(key, async () => {
      const kept = await this.keptVerdict(key);
      if (kept?.found) return this.accept(name, key, found);
      try {
        await trust.verify(
          { ref, served: ref, rootDigest: digest, rootBytes: found.bytes },
          this.client,
          {},
        );
      } catch (err) {
        if (isUpstreamUnavailable(err)) {
          // Its signatures cannot be read now: say so as the cache says upstream trouble.
          const why = upstreamHttpError(err, ref.registry).message;
          throw new RegistryHttpError(
            502,
            'UNAVAILABLE',
            `cannot check ${referenceInMessage(ref)} against policy.json: ${why}`,
          );
        }
        if (!isOcipeekError(err, PolicyRejectedError.code)) throw err;
        throw new RegistryHttpError(403, 'DENIED', (err as Error).message);
      }
      this.accept(name, key, found);
      // Losing it only costs a check after a restart: a failed write fails no pull.
      await kept?.document.write({ key, fingerprint: kept.fingerprint }).catch(() => {});
    });
  }

  /**
   * Remember `key` accepted, and so the child manifests of an accepted index (clients ask
   * for them by digest of repository `name`).
   */
  private accept(name: string, key: string, found: StoredManifest): void {
    remember(this.accepted, key, true, MAX_ACCEPTED);
    const manifest = parseManifest(found.bytes, found.descriptor.mediaType);
    if (isIndex(manifest)) {
      for (const child of manifest.manifests) {
        remember(this.accepted, `${name}@${child.digest}`, true, MAX_ACCEPTED);
      }
    }
  }

  /**
   * The storage document that keeps `key`'s acceptance under the trust's fingerprint, and
   * whether it holds one; undefined when verdicts cannot be kept (no documents, a trust
   * without a fingerprint).
   */
  private async keptVerdict(
    key: string,
  ): Promise<{ document: StoredDocument; fingerprint: string; found: boolean } | undefined> {
    const { trust, document } = this;
    if (!document || !trust?.fingerprint) return undefined;
    this.fingerprint ??= trust.fingerprint().catch(() => undefined);
    const fingerprint = await this.fingerprint;
    if (!fingerprint) return undefined;
    const doc = document(verdictDocumentName(key, fingerprint));
    const value = (await doc.read().catch(() => undefined)) as
      | { key?: unknown; fingerprint?: unknown }
      | undefined;
    const found = value?.key === key && value.fingerprint === fingerprint;
    return { document: doc, fingerprint, found };
  }
}

/**
 * The storage document keeping one acceptance: one small document a verdict (written once,
 * never rewritten, so servers sharing a storage cannot lose each other's), named by a hash
 * of the repository, manifest digest and trust fingerprint.
 */
export function verdictDocumentName(key: string, fingerprint: string): string {
  const hash = createHash('sha256').update(`${fingerprint}\n${key}`).digest('hex');
  return `cache/verdicts/${hash}`;
}
