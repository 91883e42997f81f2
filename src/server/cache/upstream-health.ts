import { noteResponseHeader } from '../registry/response-notes.js';
import type { CacheCounters } from './cache-counters.js';
import type { Upstream } from './upstream-map.js';

/**
 * Which upstreams failed their last request (unreachable, 429, 5xx) and have not
 * answered since. Answers the cache serves from what it holds while its upstream is down
 * say so in `X-Ocipeek-Upstream: unreachable`, blobs included (a blob is never stale, but
 * the client learns why a pull that needs something new will fail).
 */
export class UpstreamHealth {
  private readonly down = new Map<Upstream, string>();

  constructor(private readonly counters: CacheCounters) {}

  /** `upstream` answered. */
  ok(upstream: Upstream): void {
    this.down.delete(upstream);
  }

  /** `upstream` could not be asked (`why`: the error's message). */
  failed(upstream: Upstream, why: string): void {
    this.down.set(upstream, why);
    this.counters.upstreamError(upstream.registry);
  }

  /** Mark the current answer when `upstream` is down. */
  noteIfDown(upstream: Upstream | undefined): void {
    if (upstream && this.down.has(upstream))
      noteResponseHeader('X-Ocipeek-Upstream', 'unreachable');
  }

  /** How many upstreams are down now. */
  get downCount(): number {
    return this.down.size;
  }
}
