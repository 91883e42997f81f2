import { isStoreDir } from '../../store/index.js';
import type { RegistryBackend } from '../storage/registry-storage.js';
import { StoreStorage } from '../storage/store-storage.js';
import { type DiscoverLayoutsOptions, discoverLayouts } from './discover-layouts.js';
import { LayoutBackend } from './layout-backend.js';
import { UnionBackend } from './union-backend.js';

/**
 * The read-only backend of `--root`s: each root that is an ocipeek store serves its images
 * under the repositories and tags `ocipeek images` lists (as `--storage` does, without
 * writes); the other roots are layouts or folders of layouts.
 */
export async function openRoots(
  roots: string[],
  options: DiscoverLayoutsOptions = {},
): Promise<RegistryBackend> {
  const stores: string[] = [];
  const others: string[] = [];
  for (const root of roots) ((await isStoreDir(root)) ? stores : others).push(root);
  const parts: RegistryBackend[] = [];
  try {
    for (const dir of stores) {
      parts.push(await StoreStorage.open(dir, { create: false, log: options.log }));
    }
    if (others.length > 0) {
      const layouts = await discoverLayouts(others, {
        name: options.name,
        signal: options.signal,
        log: options.log,
      });
      parts.push(new LayoutBackend(layouts, { log: options.log }));
    }
  } catch (err) {
    await Promise.all(parts.map((part) => part.close?.()));
    throw err;
  }
  return parts.length === 1 && others.length > 0
    ? (parts[0] as RegistryBackend)
    : new UnionBackend(parts);
}
