import { Readable } from 'node:stream';
import { isOcipeekError, NotFoundError } from '../../errors/index.js';
import { BlobDownload } from '../../registry/blob-download.js';
import { readCapped } from '../../transport/read-capped.js';
import { RegistryHttpError } from '../registry/http-errors.js';
import type { BackendBlob, BackendBlobOptions } from '../storage/registry-storage.js';
import { BufferBlob } from './buffer-blob.js';
import type { CacheParts } from './cache-parts.js';
import { SingleFlight } from './single-flight.js';
import { isUpstreamNotFound, isUpstreamUnavailable, upstreamHttpError } from './upstream-errors.js';
import { UpstreamMap, type UpstreamRoute } from './upstream-map.js';

/** What {@link CachedBlobs} works with (the cache's parts). */
export interface CachedBlobsParts extends CacheParts {
  spoolDir: string;
  maxResumes?: number;
  log?: (line: string) => void;
}

/** A cached blob whose reads count the bytes they save upstream. */
class SavingBlob implements BackendBlob {
  constructor(
    private readonly inner: BackendBlob,
    private readonly onRead: (bytes: number) => void,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  read(options: BackendBlobOptions = {}): Promise<Readable> {
    const { range } = options;
    this.onRead(range ? range.end - range.start + 1 : this.inner.size);
    return this.inner.read(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A blob the cache does not hold yet: its size is known (a manifest said, or upstream
 * answered a HEAD), and reading it starts, or joins, the one upstream download. A HEAD
 * request never reads, so it never starts a download.
 */
class UpstreamBlob implements BackendBlob {
  constructor(
    readonly size: number,
    private readonly download: () => Promise<BlobDownload>,
  ) {}

  async read(options: BackendBlobOptions = {}): Promise<Readable> {
    return (await this.download()).reader(options.range);
  }

  async close(): Promise<void> {}
}

/**
 * The blob side of the pull-through cache: the memory tier, then the storage, then one
 * shared upstream download per blob and repository ({@link BlobDownload}), stored once it
 * verified.
 */
export class CachedBlobs {
  private readonly downloads = new Map<string, Promise<BlobDownload>>();
  private readonly heads = new SingleFlight();
  /** Downloads finished so far (see the second storage check in {@link open}). */
  private finishedDownloads = 0;

  constructor(private readonly parts: CachedBlobsParts) {}

  /** Downloads running now. */
  get inFlight(): number {
    return this.downloads.size;
  }

  /**
   * Blob `digest` of cache repository `name`: from a tier, or (through `route`) from
   * upstream; undefined when neither has it.
   */
  async open(
    name: string,
    digest: string,
    route: UpstreamRoute | undefined,
    signal?: AbortSignal,
  ): Promise<BackendBlob | undefined> {
    const { memory, counters, health } = this.parts;
    const held = memory.get(`blob ${name}@${digest}`);
    if (held) {
      counters.result('blob', 'hit', 'memory');
      health.noteIfDown(route?.upstream);
      return new SavingBlob(new BufferBlob(held.bytes), (n) => counters.saved(n, 'memory'));
    }
    const finishedBefore = this.finishedDownloads;
    const stored = await this.fromStorage(name, digest, signal);
    if (stored) {
      health.noteIfDown(route?.upstream);
      return stored;
    }
    if (!route) return undefined;
    const key = `${name}@${digest}`;
    const running = this.downloads.get(key);
    if (running) {
      counters.result('blob', 'miss');
      return new UpstreamBlob((await running).size, () => running);
    }
    // A download may have stored it and left while the storage was being asked.
    if (this.finishedDownloads !== finishedBefore) {
      const justStored = await this.fromStorage(name, digest, signal);
      if (justStored) return justStored;
    }
    const size = await this.upstreamSize(name, digest, route, signal);
    if (size === undefined) return undefined;
    // Upstream has it in this repository; when the cache holds it for another one, link it.
    if (await this.parts.storage.mountBlob(name, digest, undefined, { signal })) {
      const linked = await this.fromStorage(name, digest, signal);
      if (linked) return linked;
    }
    counters.result('blob', 'miss');
    return new UpstreamBlob(size, () => this.download(name, digest, size, route));
  }

  /** Stop every download and wait until each settled. */
  async close(): Promise<void> {
    const all = [...this.downloads.values()];
    await Promise.all(
      all.map((p) =>
        p.then(
          (d) => {
            d.cancel(new Error('the cache is closing'));
            return d.finished;
          },
          () => undefined,
        ),
      ),
    );
  }

  private async fromStorage(
    name: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<BackendBlob | undefined> {
    const { storage, memory, counters } = this.parts;
    let blob: BackendBlob | undefined;
    try {
      blob = await storage.openBlob(name, digest, { signal });
    } catch (err) {
      if (isOcipeekError(err, NotFoundError.code)) return undefined;
      throw err;
    }
    if (!blob) return undefined;
    if (memory.fits(blob.size)) {
      // Small: read it whole (verified as it streams) into the memory tier.
      const bytes = await readCapped(await blob.read({ signal }), blob.size, `blob ${digest}`);
      memory.set(`blob ${name}@${digest}`, { bytes });
      counters.result('blob', 'hit', 'storage');
      return new SavingBlob(new BufferBlob(bytes), (n) => counters.saved(n, 'storage'));
    }
    counters.result('blob', 'hit', 'storage');
    return new SavingBlob(blob, (n) => counters.saved(n, 'storage'));
  }

  /** The blob's size from a manifest the cache served, or from a HEAD upstream. */
  private async upstreamSize(
    name: string,
    digest: string,
    route: UpstreamRoute,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const hinted = this.parts.sizes.of(name, digest);
    if (hinted !== undefined) return hinted;
    const { client, health } = this.parts;
    try {
      // One HEAD for every client asking meanwhile, not tied to one client's signal.
      const size = await this.heads.run(`${name}@${digest}`, () =>
        client.hasBlob(UpstreamMap.referenceOf(route, digest), digest),
      );
      signal?.throwIfAborted();
      health.ok(route.upstream);
      return size;
    } catch (err) {
      if (isUpstreamNotFound(err)) return undefined;
      if (isUpstreamUnavailable(err)) health.failed(route.upstream, (err as Error).message);
      throw upstreamHttpError(err, route.upstream.registry);
    }
  }

  /** The download of `digest` into `name`: the running one, or a new one. */
  private download(
    name: string,
    digest: string,
    size: number,
    route: UpstreamRoute,
  ): Promise<BlobDownload> {
    const key = `${name}@${digest}`;
    const running = this.downloads.get(key);
    if (running) return running;
    const { client, spoolDir, maxResumes, health, counters, log } = this.parts;
    const { upstream } = route;
    const ref = UpstreamMap.referenceOf(route, digest);
    const started = BlobDownload.start({
      open: (signal) => client.openBlob(ref, { digest, size }, { maxResumes, signal }),
      digest,
      size,
      spoolDir,
      onVerified: (body) => this.store(name, digest, size, body),
    }).catch((err: unknown) => {
      this.downloads.delete(key);
      if (isUpstreamNotFound(err)) {
        throw new RegistryHttpError(404, 'BLOB_UNKNOWN', `blob unknown upstream: ${digest}`);
      }
      if (isUpstreamUnavailable(err)) health.failed(upstream, (err as Error).message);
      throw upstreamHttpError(err, upstream.registry);
    });
    this.downloads.set(key, started);
    void started.then(
      async (d) => {
        health.ok(upstream);
        await d.finished;
        this.finishedDownloads++;
        this.downloads.delete(key);
        counters.fetched(d.received, upstream.registry);
        if (d.failure) {
          if (isUpstreamUnavailable(d.failure)) health.failed(upstream, d.failure.message);
          log?.(
            `cache: download of ${digest} from ${upstream.registry} failed: ${d.failure.message}`,
          );
        }
        if (d.storeFailure) {
          log?.(`cache: storing ${digest} failed: ${d.storeFailure.message}`);
        }
      },
      () => undefined,
    );
    return started;
  }

  /** Put a verified blob into the storage (and a small one into the memory tier). */
  private async store(name: string, digest: string, size: number, body: Readable): Promise<void> {
    const { storage, memory } = this.parts;
    if (memory.fits(size)) {
      const bytes = await readCapped(body, size, `blob ${digest}`);
      memory.set(`blob ${name}@${digest}`, { bytes });
      await storage.putBlob(name, digest, Readable.from([bytes]), { size });
      return;
    }
    await storage.putBlob(name, digest, body, { size });
  }
}
