import { pushLayout } from '../test/harness/push-layout.js';
import { type RunningRegistry, startRegistry } from '../test/harness/registry-process.js';
import type { Corpus } from './corpus/index.js';
import { type CountingProxy, startCountingProxy } from './counting-proxy.js';

/** The registry the cases pull from, with the counting proxy in front of it. */
export interface BenchRegistry {
  registry: RunningRegistry;
  /** `127.0.0.1:PORT` of the registry (timed runs go here). */
  host: string;
  proxy: CountingProxy;
  /** Stop the proxy and the registry and remove its storage. */
  stop(): Promise<void>;
}

/**
 * Start the Debian `docker-registry` on a free loopback port, push every image of the
 * corpus as `bench/NAME:latest` with skopeo (`--preserve-digests`), and start the counting
 * proxy in front of it.
 */
export async function startBenchRegistry(
  corpus: Corpus,
  names: string[],
  log: (s: string) => void,
  signal?: AbortSignal,
): Promise<BenchRegistry> {
  const registry = await startRegistry({ signal });
  let proxy: CountingProxy | undefined;
  try {
    for (const name of names) {
      const img = corpus.images[name]!;
      const t = performance.now();
      await pushLayout(img.layoutDir, name, registry, `bench/${name}:latest`, {
        method: 'skopeo',
        all: false,
        timeoutMs: 900_000,
        signal,
      });
      log(`  pushed bench/${name}:latest in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    proxy = await startCountingProxy(registry.host);
  } catch (err) {
    await registry.stop();
    throw err;
  }
  const p = proxy;
  return {
    registry,
    host: registry.host,
    proxy: p,
    stop: async () => {
      await p.close().catch(() => {});
      await registry.stop();
    },
  };
}
