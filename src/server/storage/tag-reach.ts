import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../../media/index.js';
import { referrerDescriptor } from '../../media/referrer-descriptor.js';
import { contentGraph } from '../../store/content-graph.js';
import type { Store } from '../../store/index.js';
import { repositoryOfRefName } from './repository-names.js';

/** What the tags of one repository reach in the store. */
export interface Reach {
  /** Tag → the descriptor `index.json` names. */
  tags: Map<string, Descriptor>;
  /** Every blob the tags reach and the store holds (manifests, configs, layers). */
  blobs: Map<string, number>;
  /** Every manifest and index the tags reach, with its descriptor as stored. */
  manifests: Map<string, Descriptor>;
  /** Subject digest → referrer descriptors among those manifests. */
  referrers: Map<string, Descriptor[]>;
}

/**
 * The store's tags per repository, and what each repository's tags reach: images the CLI
 * pulled have no registry records, so they belong to their repository through their tags.
 *
 * Cached against `index.json`'s identity (inode, size, mtime): one `stat` per lookup
 * while the tags do not change, in this process or another. Reaches are worked out per
 * repository on first use.
 */
export class TagReach {
  private key = '';
  private tagsByRepo = new Map<string, Map<string, Descriptor>>();
  private reaches = new Map<string, Promise<Reach>>();

  constructor(private readonly store: Store) {}

  /** Repository → tags, as `index.json` names them now. */
  async repositories(signal?: AbortSignal): Promise<Map<string, Map<string, Descriptor>>> {
    await this.refresh(signal);
    return this.tagsByRepo;
  }

  /** What the tags of `name` reach. */
  async of(name: string, signal?: AbortSignal): Promise<Reach> {
    await this.refresh(signal);
    let reach = this.reaches.get(name);
    if (!reach) {
      reach = this.compute(this.tagsByRepo.get(name) ?? new Map(), signal);
      this.reaches.set(name, reach);
      reach.catch(() => this.reaches.delete(name));
    }
    return reach;
  }

  private async refresh(signal?: AbortSignal): Promise<void> {
    const info = await stat(join(this.store.dir, 'index.json'), { bigint: true });
    const key = `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    if (key === this.key) return;
    const refs = await this.store.refs({ signal });
    const byRepo = new Map<string, Map<string, Descriptor>>();
    for (const ref of refs) {
      const named = repositoryOfRefName(ref.name);
      if (!named) continue;
      const tags = byRepo.get(named.repository) ?? new Map<string, Descriptor>();
      byRepo.set(named.repository, tags);
      tags.set(named.tag, ref.descriptor);
    }
    this.key = key;
    this.tagsByRepo = byRepo;
    this.reaches = new Map();
  }

  private async compute(tags: Map<string, Descriptor>, signal?: AbortSignal): Promise<Reach> {
    const reach: Reach = { tags, blobs: new Map(), manifests: new Map(), referrers: new Map() };
    for (const root of tags.values()) {
      const graph = await contentGraph(this.store.layout, root, { signal });
      for (const [digest, node] of graph.nodes) {
        if (!node.present) continue;
        reach.blobs.set(digest, node.descriptor.size);
        if (node.role === 'index' || node.role === 'manifest') {
          reach.manifests.set(digest, node.descriptor);
        }
      }
      for (const image of graph.images) {
        const subject = image.manifest.subject?.digest;
        if (!subject) continue;
        const d = image.descriptor;
        const list = reach.referrers.get(subject) ?? [];
        list.push(referrerDescriptor(image.manifest, d.digest, d.size, d.mediaType));
        reach.referrers.set(subject, list);
      }
    }
    return reach;
  }
}
