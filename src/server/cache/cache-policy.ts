import { isOcipeekError, PolicyRejectedError } from '../../errors/index.js';
import { isIndex, parseManifest } from '../../media/index.js';
import type { ImageTrust, RegistryClient } from '../../registry/index.js';
import { RegistryHttpError } from '../registry/http-errors.js';
import type { StoredManifest } from '../storage/registry-storage.js';
import { remember } from './remember.js';
import { SingleFlight } from './single-flight.js';
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
 * client asks for by digest next, as containers/image checks only the top level); they
 * live in memory, so after a restart cached images are checked again on their first pull,
 * under the policy of now. Blobs are not checked, as `ocipeek blob` and `skopeo inspect`
 * do not check them: without its manifest a client cannot pull the image.
 */
export class CachePolicy {
  private readonly accepted = new Map<string, true>();
  private readonly flights = new SingleFlight();

  constructor(
    private readonly trust: ImageTrust | undefined,
    private readonly client: RegistryClient,
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
    const key = `${name}@${digest}`;
    if (this.accepted.has(key)) return;
    const ref = UpstreamMap.referenceOf(route, reference);
    // Not tied to one client's signal: every client asking meanwhile waits on this check.
    await this.flights.run(`${key} ${reference}`, async () => {
      try {
        await trust.verify(
          { ref, served: ref, rootDigest: digest, rootBytes: found.bytes },
          this.client,
          {},
        );
      } catch (err) {
        if (!isOcipeekError(err, PolicyRejectedError.code)) throw err;
        throw new RegistryHttpError(403, 'DENIED', (err as Error).message);
      }
      remember(this.accepted, key, true, MAX_ACCEPTED);
      const manifest = parseManifest(found.bytes, found.descriptor.mediaType);
      if (isIndex(manifest)) {
        for (const child of manifest.manifests) {
          remember(this.accepted, `${name}@${child.digest}`, true, MAX_ACCEPTED);
        }
      }
    });
  }
}
