import { isDigest } from '../../digest/index.js';
import { parseManifest } from '../../media/index.js';
import { referrerDescriptor } from '../../media/referrer-descriptor.js';
import type { RegistryClient } from '../../registry/index.js';
import type { StoredManifest } from '../storage/registry-storage.js';
import type { CacheParts } from './cache-parts.js';
import type { CachePolicy } from './cache-policy.js';
import type { CacheUsage } from './cache-usage.js';
import { remember } from './remember.js';
import { SingleFlight } from './single-flight.js';
import { isUpstreamNotFound, isUpstreamUnavailable, upstreamHttpError } from './upstream-errors.js';
import { UpstreamMap, type UpstreamRoute } from './upstream-map.js';

/** What {@link CachedManifests} works with (the cache's parts). */
export interface CachedManifestsParts extends CacheParts {
  /** How long a tag is served without asking upstream (ms). */
  tagTtlMs: number;
  /** Told each tag served, for least recently used eviction. */
  usage: CacheUsage;
  /** Whether policy.json lets a manifest be served (and stored). */
  policy: CachePolicy;
}

/** Tags whose freshness is remembered at most; the oldest are forgotten first. */
const MAX_CHECKED_TAGS = 100_000;

/**
 * The manifest side of the pull-through cache. A manifest by digest never changes: once
 * cached it is served forever. A tag is served from the cache for `tagTtlMs` after
 * upstream last confirmed it; then one HEAD upstream revalidates it (same digest: served
 * from the cache; another: fetched). When upstream cannot be asked (down, 429, 5xx), the
 * cached tag is served all the same, marked stale. Concurrent requests for one manifest
 * share one upstream request.
 *
 * When a tag was confirmed lives in memory only: after a restart every tag is revalidated
 * once, which costs a HEAD and never serves an old tag as fresh.
 */
export class CachedManifests {
  private readonly checked = new Map<string, { digest: string; at: number }>();
  private readonly flights = new SingleFlight();

  constructor(private readonly parts: CachedManifestsParts) {}

  /** Manifest `reference` (tag or digest) of cache repository `name`, or undefined. */
  async get(
    name: string,
    reference: string,
    route: UpstreamRoute | undefined,
    signal?: AbortSignal,
  ): Promise<StoredManifest | undefined> {
    const tag = !isDigest(reference);
    const found = tag
      ? await this.byTag(name, reference, route, signal)
      : await this.byDigest(name, reference, route, signal);
    if (!found) return undefined;
    // Used now, before the next await: the maintenance timer may run while the policy is
    // asked, and a stored tag with no use recorded looks the oldest to eviction.
    if (tag) this.parts.usage.touch(name, reference);
    await this.parts.policy.check(name, reference, route, found);
    return found;
  }

  private async byDigest(
    name: string,
    digest: string,
    route: UpstreamRoute | undefined,
    signal?: AbortSignal,
  ): Promise<StoredManifest | undefined> {
    const { counters, health } = this.parts;
    const local = await this.local(name, digest, signal);
    if (local) {
      counters.result('manifest', 'hit');
      health.noteIfDown(route?.upstream);
      return local;
    }
    if (!route) return undefined;
    const fetched = await this.fetch(name, route, digest);
    if (fetched) counters.result('manifest', 'miss');
    return fetched;
  }

  private async byTag(
    name: string,
    tag: string,
    route: UpstreamRoute | undefined,
    signal?: AbortSignal,
  ): Promise<StoredManifest | undefined> {
    const { counters, health, storage, client } = this.parts;
    const key = `${name}:${tag}`;
    const confirmed = this.checked.get(key);
    if (confirmed && Date.now() - confirmed.at < this.parts.tagTtlMs) {
      const local = await this.local(name, confirmed.digest, signal);
      if (local) {
        counters.result('manifest', 'hit');
        return local;
      }
    }
    const cached = await storage.getManifest(name, tag, { signal });
    if (!route) {
      if (cached) counters.result('manifest', 'hit');
      return cached;
    }
    if (cached) {
      try {
        const head = await this.flights.run(`head ${key}`, () =>
          client.headManifest(UpstreamMap.referenceOf(route, tag)),
        );
        health.ok(route.upstream);
        if (head.digest === cached.descriptor.digest) {
          this.confirm(key, head.digest);
          counters.result('manifest', 'revalidated');
          return cached;
        }
      } catch (err) {
        if (isUpstreamNotFound(err)) {
          // The tag is gone upstream: so it goes here too (the manifest stays by digest).
          this.checked.delete(key);
          await storage.deleteTag(name, tag, { signal });
          return undefined;
        }
        if (!isUpstreamUnavailable(err)) throw upstreamHttpError(err, route.upstream.registry);
        health.failed(route.upstream, (err as Error).message);
        counters.result('manifest', 'stale');
        health.noteIfDown(route.upstream);
        return cached;
      }
    }
    try {
      const fetched = await this.fetch(name, route, tag);
      if (fetched) counters.result('manifest', 'miss');
      return fetched;
    } catch (err) {
      if (!cached) throw err;
      counters.result('manifest', 'stale');
      health.noteIfDown(route.upstream);
      return cached;
    }
  }

  /** Manifest `digest` of `name` from the memory tier or the storage. */
  private async local(
    name: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<StoredManifest | undefined> {
    const { memory, storage, sizes } = this.parts;
    const key = `manifest ${name}@${digest}`;
    const held = memory.get(key);
    if (held) {
      const mediaType = held.mediaType ?? '';
      return { descriptor: { mediaType, digest, size: held.bytes.length }, bytes: held.bytes };
    }
    const stored = await storage.getManifest(name, digest, { signal });
    if (stored) {
      memory.set(key, { bytes: stored.bytes, mediaType: stored.descriptor.mediaType });
      sizes.learn(name, parseManifest(stored.bytes, stored.descriptor.mediaType));
    }
    return stored;
  }

  private confirm(key: string, digest: string): void {
    remember(this.checked, key, { digest, at: Date.now() }, MAX_CHECKED_TAGS);
  }

  /**
   * GET `reference` upstream (one request however many clients ask), store it (tagged
   * when `reference` is a tag) and return it; undefined when upstream does not have it.
   * Not tied to one client's signal: the others wait on the same request.
   */
  private fetch(
    name: string,
    route: UpstreamRoute,
    reference: string,
  ): Promise<StoredManifest | undefined> {
    return this.flights.run(`get ${name}:${reference}`, async () => {
      const { client, storage, memory, sizes, health } = this.parts;
      const { upstream } = route;
      let fetched: Awaited<ReturnType<RegistryClient['getManifest']>>;
      try {
        fetched = await client.getManifest(UpstreamMap.referenceOf(route, reference));
        health.ok(upstream);
      } catch (err) {
        if (isUpstreamNotFound(err)) return undefined;
        if (isUpstreamUnavailable(err)) health.failed(upstream, (err as Error).message);
        throw upstreamHttpError(err, upstream.registry);
      }
      const { bytes, digest, manifest, mediaType } = fetched;
      const descriptor = referrerDescriptor(manifest, digest, bytes.length, mediaType);
      // A refused image is not kept.
      await this.parts.policy.check(name, reference, route, { descriptor, bytes });
      const tags = isDigest(reference) ? [] : [reference];
      // Its first use is recorded before it is stored, so eviction never sees the tag
      // without one (no use recorded sorts as the oldest).
      if (tags.length > 0) this.parts.usage.touch(name, reference);
      // Stored before its blobs (`requires` empty): they come when clients ask for them.
      await storage.putManifest(name, {
        bytes,
        descriptor,
        tags,
        requires: [],
        subject: manifest.subject?.digest,
      });
      if (tags.length > 0) this.confirm(`${name}:${reference}`, digest);
      memory.set(`manifest ${name}@${digest}`, { bytes, mediaType });
      sizes.learn(name, manifest);
      return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
    });
  }
}
