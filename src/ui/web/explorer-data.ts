import { parseDigestTag } from '../../digest/index.js';
import { InvalidArgumentError, isOcipeekError, PathNotFoundError } from '../../errors/index.js';
import { type FsEntry, toEntryJson } from '../../fs/index.js';
import { diffImages, historySteps, inspectImage, layerReport } from '../../image/index.js';
import { cleanPath } from '../../layer-rules/index.js';
import { lazyFormatOf } from '../../lazy/lazy-layer.js';
import type { Platform } from '../../media/index.js';
import { parseReference } from '../../ref/index.js';
import { type RegistryClient, RegistrySource } from '../../registry/index.js';
import { resolveImage } from '../../source/index.js';
import type { Store } from '../../store/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { mapPool } from '../../util/task-pool.js';
import type {
  CatalogResponse,
  DiffResponse,
  DirEntry,
  DirResponse,
  FileDiffResponse,
  ImageResponse,
  LayersResponse,
  SearchResponse,
  StatResponse,
  StatsResponse,
  StoreResponse,
  TagInfo,
  TagsResponse,
} from './api-types.js';
import { type FileDiffSide, textDiff } from './file-diff.js';
import { previewFile } from './file-preview.js';
import type { ImageViews } from './image-views.js';
import { imageUrl } from './web-paths.js';

/** Most matches a name search returns. */
const SEARCH_LIMIT = 500;
/** Tags whose digest is asked at once (one HEAD each). */
const TAG_CONCURRENCY = 4;
/** Tags a page shows (each costs its manifest and config): the default and the most. */
export const TAGS_PER_PAGE = 50;
const MAX_TAGS_PER_PAGE = 500;

/** Which page of a tag list to show. */
export interface TagPage {
  /** Tags on the page (default {@link TAGS_PER_PAGE}, at most 500). */
  n?: number;
  /** Start after this tag. */
  last?: string;
}

/** What a digest-named tag holds, by its suffix (cosign's names; none: the referrers index). */
const DIGEST_TAG_KINDS: Record<string, string> = {
  '': 'referrers',
  sig: 'signature',
  att: 'attestation',
  sbom: 'sbom',
};

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
    private readonly store?: Store,
  ) {}

  async catalog(registry: string, signal?: AbortSignal): Promise<CatalogResponse> {
    return { registry, repositories: await this.client.listCatalog(registry, { signal }) };
  }

  /**
   * A page of the tags of `repository` (`host/name`), each with its digest and the date
   * its config gives (of this host's platform, for an index): its manifests and config
   * are read, so a repository of thousands of tags is shown a page at a time. Pages are
   * asked with `n` and `last` and follow `Link`; a registry that ignores them (Debian's
   * docker-registry 2.8) sends the whole list, cut here to the page.
   */
  async tags(repository: string, page: TagPage = {}, signal?: AbortSignal): Promise<TagsResponse> {
    const repo = parseReference(repository, { defaultTag: null });
    const n = Math.min(Math.max(1, Math.floor(page.n ?? TAGS_PER_PAGE)), MAX_TAGS_PER_PAGE);
    if (!Number.isFinite(n)) throw new InvalidArgumentError('n: the number of tags a page shows');
    // One more than shown says whether there is a next page.
    const listed = await this.client.listTags(repo, { limit: n + 1, last: page.last, signal });
    const names = listed.slice(0, n);
    const about = names.map((tag) => ({ tag, named: parseDigestTag(tag) }));
    const tags = await mapPool(
      about.filter((t) => !t.named).map((t) => t.tag),
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
    const digestTags = about.flatMap(({ tag, named }) =>
      named
        ? [
            {
              tag,
              subject: named.subject,
              kind: DIGEST_TAG_KINDS[named.suffix ?? ''] ?? named.suffix!,
              subjectTags: tags.filter((t) => t.digest === named.subject).map((t) => t.tag),
            },
          ]
        : [],
    );
    const result: TagsResponse = { repository: repo.name, tags, digestTags, pageSize: n };
    if (page.last !== undefined) result.last = page.last;
    if (listed.length > n) result.next = names[names.length - 1]!;
    return result;
  }

  /** The images in the local store, as `ocipeek images` lists them. */
  async stored(signal?: AbortSignal): Promise<StoreResponse> {
    const store = this.store;
    if (!store) return { path: null, images: [] };
    return { path: store.dir, images: await store.listImages({ signal }) };
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

  /**
   * What changed from `a` to `b`: type, size, mode, owner, link target, and content by the
   * rule `ocipeek diff` follows ({@link diffImages}); same-size files whose reading the
   * budget refused are listed as not compared.
   */
  async diff(a: string, b: string): Promise<DiffResponse> {
    const [sa, sb] = await Promise.all([this.views.diffSide(a), this.views.diffSide(b)]);
    const d = await diffImages(sa, sb);
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
      uncompared: d.unknownContent.map((p) => p.path),
    };
  }

  /**
   * How the file at `path` differs from image `a` to image `b`: the first 64 KiB of each
   * side (links followed) compared as text lines. A side where the path is absent is
   * empty; a path that is no regular file is an error.
   */
  async fileDiff(a: string, b: string, path: string): Promise<FileDiffResponse> {
    const side = async (ref: string) => {
      let entry: FsEntry;
      try {
        entry = await this.views.fileEntry(ref, path);
      } catch (err) {
        if (isOcipeekError(err, 'ERR_PATH_NOT_FOUND')) return undefined;
        throw err;
      }
      return { entry, preview: await previewFile(await this.views.openFile(ref, path)) };
    };
    const [before, after] = await Promise.all([side(a), side(b)]);
    if (!before && !after) throw new PathNotFoundError(path, 'in neither image');
    const facts = (s: typeof before): FileDiffSide | null =>
      s ? { size: s.entry.size, kind: s.preview.kind, truncated: s.preview.truncated } : null;
    return {
      a,
      b,
      path: `/${cleanPath(path).segs.join('/')}`,
      before: facts(before),
      after: facts(after),
      ...textDiff(before?.preview, after?.preview),
    };
  }

  stats(): StatsResponse {
    const { requests, bytesFetched } = this.client.stats;
    return { requests, bytesFetched };
  }
}
