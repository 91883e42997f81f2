import { diffTrees, type FsEntry, toEntryJson } from '../../fs/index.js';
import { historySteps, inspectImage, layerReport } from '../../image/index.js';
import { lazyFormatOf } from '../../lazy/lazy-layer.js';
import type { Platform } from '../../media/index.js';
import { parseReference } from '../../ref/index.js';
import { type RegistryClient, RegistrySource } from '../../registry/index.js';
import { resolveImage } from '../../source/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { mapPool } from '../../util/task-pool.js';
import type {
  CatalogResponse,
  DiffResponse,
  DirEntry,
  DirResponse,
  ImageResponse,
  LayersResponse,
  SearchResponse,
  StatResponse,
  StatsResponse,
  TagInfo,
  TagsResponse,
} from './api-types.js';
import type { ImageViews } from './image-views.js';
import { imageUrl } from './web-paths.js';

/** Most matches a name search returns. */
const SEARCH_LIMIT = 500;
/** Tags whose digest is asked at once (one HEAD each). */
const TAG_CONCURRENCY = 4;

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * The explorer's answers, as data: every route of the API and every page is one of these
 * calls over the images opened so far ({@link ImageViews}) and the registry client.
 */
export class ExplorerData {
  constructor(
    readonly views: ImageViews,
    private readonly client: RegistryClient,
    private readonly platform?: Platform,
  ) {}

  async catalog(registry: string, signal?: AbortSignal): Promise<CatalogResponse> {
    return { registry, repositories: await this.client.listCatalog(registry, { signal }) };
  }

  /**
   * The tags of `repository` (`host/name`), each with its digest and the date its config
   * gives (of this host's platform, for an index): its manifests and config are read.
   */
  async tags(repository: string, signal?: AbortSignal): Promise<TagsResponse> {
    const repo = parseReference(repository, { defaultTag: null });
    const names = await this.client.listTags(repo, { signal });
    const tags = await mapPool(
      names,
      async (tag): Promise<TagInfo> => {
        const source = new RegistrySource(parseReference(`${repo.name}:${tag}`), {
          client: this.client,
        });
        try {
          const r = await resolveImage(source, { platform: this.platform, signal });
          const { mediaType, bytes } = r.top;
          const created = r.config?.created ?? null;
          return { tag, digest: r.digest, mediaType, size: bytes.length, created };
        } catch (err) {
          const error = (err as Error).message.split('\n')[0]!;
          return { tag, digest: null, mediaType: null, size: null, created: null, error };
        } finally {
          await source.close();
        }
      },
      { concurrency: TAG_CONCURRENCY },
    );
    return { repository: repo.name, tags };
  }

  async image(ref: string): Promise<ImageResponse> {
    const image = await this.views.image(ref);
    const inspection = await inspectImage(image.source, { platform: this.platform });
    return {
      ...inspection,
      ref,
      location: image.location,
      lazy: image.layers.length > 0 && image.layers.every((l) => lazyFormatOf(l.descriptor)),
      steps: historySteps(image.config, image.manifest),
    };
  }

  /** The directory at `path` (links in it followed), sorted by name. */
  async dir(ref: string, path: string): Promise<DirResponse> {
    const { fs } = await this.views.view(ref);
    const dir = fs.stat(path, { follow: true });
    const entries = fs.list(dir.path).map((e): DirEntry => {
      const name = baseName(e.path);
      const entry: DirEntry = {
        ...toEntryJson(e),
        name,
        display: escapeName(name),
        url: imageUrl('image', ref, e.path),
      };
      if (e.type === 'dir') entry.api = imageUrl('api/dir', ref, e.path);
      return entry;
    });
    return { ref, path: dir.path, entries };
  }

  async stat(ref: string, path: string): Promise<StatResponse> {
    const { fs } = await this.views.view(ref);
    const entry = fs.lstat(path);
    const result: StatResponse = { ref, entry: toEntryJson(entry) };
    if (entry.type === 'symlink' && fs.exists(path)) result.target = toEntryJson(fs.stat(path));
    return result;
  }

  async layers(ref: string): Promise<LayersResponse> {
    const image = await this.views.image(ref);
    const { fs, tarSizes } = await this.views.view(ref);
    return { ref, ...layerReport(image, fs, tarSizes) };
  }

  /** Paths whose last name contains `query` (case-insensitive), in tree order. */
  async search(ref: string, query: string): Promise<SearchResponse> {
    const { fs } = await this.views.view(ref);
    const needle = query.toLowerCase();
    const matches: FsEntry[] = [];
    let truncated = false;
    if (needle !== '') {
      for (const e of fs.walk('/')) {
        if (!baseName(e.path).toLowerCase().includes(needle)) continue;
        if (matches.length === SEARCH_LIMIT) {
          truncated = true;
          break;
        }
        matches.push(e);
      }
    }
    return { ref, query, matches: matches.map(toEntryJson), truncated };
  }

  /** What changed from `a` to `b`: type, size, mode, owner, link target. */
  async diff(a: string, b: string): Promise<DiffResponse> {
    const [fa, fb] = await Promise.all([this.views.view(a), this.views.view(b)]);
    const d = diffTrees(fa.fs, fb.fs);
    return {
      a,
      b,
      added: d.added.map(toEntryJson),
      removed: d.removed.map(toEntryJson),
      changed: d.changed.map((c) => ({
        path: c.path,
        fields: c.fields,
        before: toEntryJson(c.before),
        after: toEntryJson(c.after),
      })),
    };
  }

  stats(): StatsResponse {
    const { requests, bytesFetched } = this.client.stats;
    return { requests, bytesFetched };
  }
}
