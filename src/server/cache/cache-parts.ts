import type { RegistryClient } from '../../registry/index.js';
import type { MemoryTier } from '../../util/memory-tier.js';
import type { RegistryStorage } from '../storage/registry-storage.js';
import type { CacheCounters } from './cache-counters.js';
import type { SizeHints } from './size-hints.js';
import type { UpstreamHealth } from './upstream-health.js';

/** What the manifest and blob sides of the cache share (made by `PullThroughCache`). */
export interface CacheParts {
  /** The persistent tier. */
  storage: RegistryStorage;
  /** Upstream requests go through it. */
  client: RegistryClient;
  memory: MemoryTier;
  counters: CacheCounters;
  health: UpstreamHealth;
  sizes: SizeHints;
}
