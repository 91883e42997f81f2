import { createHash } from 'node:crypto';
import type { FsEntry } from '../../fs/index.js';
import { type DiffSide, type LayerIndexCache, scanLayer } from '../../image/index.js';
import type { OpenedImage } from '../../source/index.js';
import { mapPool } from '../../util/task-pool.js';
import type { FilesystemView } from './image-views.js';

/**
 * Bytes the explorer's diff may fetch from a registry, per image, to compare same-size
 * files the layers cannot tell apart unread. Local images (the store, layouts, archives)
 * have no limit: reading them costs disk and CPU, no download.
 */
export const REMOTE_COMPARE_BUDGET = 16 * 1024 * 1024;
/** Files of a lazy image read at once when comparing. */
const READ_CONCURRENCY = 4;

/**
 * One image of the explorer's diff, for {@link diffImages}: digests a TOC records are
 * known; a lazy image's other files are read chunk by chunk (a file costs about its
 * compressed size); a plain image's layer is hashed whole once (its listing with content
 * digests goes to the listing cache, where `ocipeek diff` finds it too). A registry image
 * stops reading at {@link REMOTE_COMPARE_BUDGET}; what is left stays uncompared.
 */
export function viewDiffSide(
  image: OpenedImage,
  view: FilesystemView,
  cache: LayerIndexCache | undefined,
): DiffSide {
  const budget = image.location === 'registry' ? REMOTE_COMPARE_BUDGET : Number.POSITIVE_INFINITY;
  const { lazy } = view;
  if (lazy) {
    return {
      fs: view.fs,
      knownDigest: (e) => lazy.layers[e.layer]?.list()[e.headerOffset]?.digest,
      async hashFiles(entries, signal) {
        const start = lazy.bytesRead();
        const out = new Map<FsEntry, string>();
        await mapPool(
          entries,
          async (e, poolSignal) => {
            if (lazy.bytesRead() - start + e.size > budget) return;
            out.set(e, await hashStream(lazy.openFile(e.path, { signal: poolSignal })));
          },
          { concurrency: READ_CONCURRENCY, ...(signal ? { signal } : {}) },
        );
        return out;
      },
    };
  }
  return {
    fs: view.fs,
    async hashFiles(entries, signal) {
      let left = budget;
      const out = new Map<FsEntry, string>();
      const byLayer = new Map<number, FsEntry[]>();
      for (const e of entries) {
        const files = byLayer.get(e.layer);
        if (files) files.push(e);
        else byLayer.set(e.layer, [e]);
      }
      for (const [index, files] of byLayer) {
        const layer = image.layers[index]!;
        const digest = layer.descriptor.digest;
        let listing = await cache?.get(digest, { contentDigests: true });
        if (!listing) {
          if (layer.descriptor.size > left) continue;
          left -= layer.descriptor.size;
          listing = await scanLayer(layer, { contentDigests: true, signal });
          await cache?.put(digest, listing);
        }
        const at = new Map<number, string>();
        listing.entries.forEach((t, i) => {
          const d = listing.contentDigests?.[i];
          if (d) at.set(t.headerOffset, d);
        });
        for (const e of files) {
          const d = at.get(e.headerOffset);
          if (d !== undefined) out.set(e, d);
        }
      }
      return out;
    },
  };
}

async function hashStream(stream: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}
