import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/**
 * The load generator of the `load` case: N concurrent registry clients in the bench
 * process, each a bounded loop of plain distribution-API requests over loopback (keep-alive
 * connections, one per client). The same code drives every server, so what differs
 * between two runs is the server.
 */

/** Manifest media types a client accepts (what skopeo and containerd send). */
const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A blob of an image: digest and size, from its manifest. */
interface Blob {
  digest: string;
  size: number;
}

/** What a load run measured. */
export interface LoadResult {
  clients: number;
  requests: number;
  /** Requests that failed (status, wrong size or digest, connection error). */
  failed: number;
  /** The first failure, for the log. */
  firstFailure?: string;
  /** Body bytes received (pulls) or sent (pushes). */
  bytes: number;
  seconds: number;
  /** Milliseconds from sending a request to the last byte of its answer, sorted. */
  latencies: number[];
  /** Every request of at least {@link FAIR_SHARE_MIN_BYTES}: its body bytes and milliseconds. */
  large: { bytes: number; ms: number }[];
}

/** Requests this big or bigger count in {@link fairShareP99} (small ones are all latency). */
export const FAIR_SHARE_MIN_BYTES = 1_000_000;

/**
 * How fairly a server shares its bandwidth: for each large request, its time over the
 * time it would take at a fair share of the run's throughput (its bytes ÷ (all bytes ÷
 * seconds ÷ clients)); the 99th percentile of that. 1.0 is perfectly fair whatever the
 * machine's speed, so it means something on a busy machine where MB/s does not.
 */
export function fairShareP99(r: LoadResult): number {
  const perClientBytesPerMs = r.bytes / (r.seconds * 1000) / r.clients;
  const ratios = r.large.map((x) => x.ms / (x.bytes / perClientBytesPerMs)).sort((a, b) => a - b);
  return percentile(ratios, 0.99);
}

/** The `p`-th percentile (0..1) of sorted `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  return values[Math.min(values.length - 1, Math.ceil(p * values.length) - 1)]!;
}

/** One request's answer: status, headers, body bytes (kept only when asked) and its time. */
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  size: number;
  body?: Buffer;
  digest?: string;
}

/** A client's connection and the bookkeeping its requests share. */
class LoadClient {
  constructor(
    private readonly base: URL,
    private readonly agent: http.Agent,
    private readonly result: LoadResult,
  ) {}

  /** Count one finished request of `bytes` that took `ms`. */
  private record(bytes: number, ms: number): void {
    this.result.requests++;
    this.result.bytes += bytes;
    this.result.latencies.push(ms);
    if (bytes >= FAIR_SHARE_MIN_BYTES) this.result.large.push({ bytes, ms });
  }

  /** Send one request; the body is hashed with sha256 when `hash`, kept when `keep`. */
  request(
    method: string,
    target: string,
    options: {
      headers?: http.OutgoingHttpHeaders;
      body?: Buffer | string;
      keep?: boolean;
      hash?: boolean;
    } = {},
  ): Promise<Answer> {
    const started = performance.now();
    return new Promise<Answer>((resolve, reject) => {
      const url = new URL(target, this.base);
      const req = http.request(
        url,
        { method, agent: this.agent, headers: options.headers },
        (res) => {
          const hash = options.hash ? createHash('sha256') : undefined;
          const kept: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            hash?.update(chunk);
            if (options.keep) kept.push(chunk);
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error(`${method} ${url.pathname}: answer cut`)));
          res.on('end', () => {
            this.record(size, performance.now() - started);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              size,
              ...(options.keep ? { body: Buffer.concat(kept) } : {}),
              ...(hash ? { digest: `sha256:${hash.digest('hex')}` } : {}),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  }

  /** Pull `repo:tag` whole: manifest, config and layers, each checked. */
  async pull(repo: string, tag: string, verifyLayers: boolean): Promise<void> {
    const manifest = await this.request('GET', `/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: ACCEPT },
      keep: true,
    });
    expectStatus(manifest, 200, `manifest ${repo}:${tag}`);
    const parsed = JSON.parse(manifest.body!.toString('utf8')) as {
      config: Blob;
      layers: Blob[];
    };
    for (const blob of [parsed.config, ...parsed.layers]) {
      // Configs always, layers when asked: hashing every layer on 64 clients would measure
      // the bench's own CPU more than the server's.
      const hash = blob === parsed.config || verifyLayers;
      const got = await this.request('GET', `/v2/${repo}/blobs/${blob.digest}`, { hash });
      expectStatus(got, 200, `blob ${blob.digest}`);
      if (got.size !== blob.size) {
        throw new Error(`blob ${blob.digest}: ${got.size} bytes, expected ${blob.size}`);
      }
      if (hash && got.digest !== blob.digest) {
        throw new Error(`blob ${blob.digest}: the body hashes to ${got.digest}`);
      }
    }
  }

  /** Push the image of `manifest` (its blobs read from `layoutDir`) to `repo:tag`. */
  async push(repo: string, tag: string, layoutDir: string, manifest: PushImage): Promise<void> {
    for (const blob of manifest.blobs) {
      const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, {
        headers: { 'Content-Length': 0 },
      });
      expectStatus(start, 202, `upload of ${blob.digest}`);
      const location = new URL(String(start.headers.location), this.base);
      location.searchParams.set('digest', blob.digest);
      const file = path.join(layoutDir, 'blobs', 'sha256', blob.digest.slice('sha256:'.length));
      const done = await this.putFile(location, file, blob.size);
      expectStatus(done, 201, `upload of ${blob.digest}`);
    }
    const put = await this.request('PUT', `/v2/${repo}/manifests/${tag}`, {
      headers: { 'Content-Type': manifest.mediaType },
      body: manifest.bytes,
    });
    expectStatus(put, 201, `manifest ${repo}:${tag}`);
  }

  /** `PUT` the file as the request body, streamed. */
  private putFile(url: URL, file: string, size: number): Promise<Answer> {
    const started = performance.now();
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'PUT',
          agent: this.agent,
          headers: { 'Content-Length': size, 'Content-Type': 'application/octet-stream' },
        },
        (res) => {
          res.resume();
          res.on('error', reject);
          res.on('end', () => {
            this.record(size, performance.now() - started);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, size: 0 });
          });
        },
      );
      req.on('error', reject);
      createReadStream(file).on('error', reject).pipe(req);
    });
  }
}

function expectStatus(answer: Answer, want: number, what: string): void {
  if (answer.status !== want) throw new Error(`${what}: HTTP ${answer.status}, expected ${want}`);
}

/** An image to push: its manifest bytes and media type, and the blobs it names. */
export interface PushImage {
  bytes: Buffer;
  mediaType: string;
  blobs: Blob[];
}

/** What one client does in one round. */
export type LoadStep = (client: LoadClient, clientIndex: number, round: number) => Promise<void>;

/**
 * Run `clients` clients at once against `url`, each doing `step` `rounds` times in a row.
 * A failed step counts as failed and its client goes on with its next round.
 */
export async function runLoad(
  url: string,
  clients: number,
  rounds: number,
  step: LoadStep,
): Promise<LoadResult> {
  const result: LoadResult = {
    clients,
    requests: 0,
    failed: 0,
    bytes: 0,
    seconds: 0,
    latencies: [],
    large: [],
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const base = new URL(url);
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        const client = new LoadClient(base, agent, result);
        for (let round = 0; round < rounds; round++) {
          try {
            await step(client, index, round);
          } catch (err) {
            result.failed++;
            result.firstFailure ??= (err as Error).message;
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  result.seconds = (performance.now() - started) / 1000;
  result.latencies.sort((a, b) => a - b);
  return result;
}

/** Each client pulls every image of `images` (`repo:tag`), verifying layers on round 0 of client 0. */
export function pullStep(images: string[]): LoadStep {
  return async (client, index, round) => {
    for (const image of images) {
      const [repo, tag] = image.split(':') as [string, string];
      await client.pull(repo, tag, index === 0 && round === 0);
    }
  };
}

/**
 * Each client pushes `image` to a repository of its own (`load/PREFIX/pushN`), then pulls
 * nothing. A fresh `prefix` per run keeps every run's pushes to new repositories.
 */
export function pushStep(layoutDir: string, image: PushImage, prefix: string): LoadStep {
  return (client, index, round) =>
    client.push(`load/${prefix}/push${index}`, `r${round}`, layoutDir, image);
}
