import { join } from 'node:path';
import type { FaultProxy } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/*
 * What the seek-index test files share. They are two files so that each ends well inside
 * the runner's per-file timeout on a busy machine (as one file it ran past 300 s at load 24).
 */

/** Big enough for several 4 MiB spans: the last file lies after all of them. */
export const BIG = 20 * 1024 * 1024;

/** The CLI with its store `STORE` under `workPath` (each test names its own store). */
export const storeCli = (workPath: string) => (args: string[], store: string) =>
  runCli([...args, '--store', join(workPath, store)], { timeoutMs: 300_000 });

/** The requests `proxy` logged for any of the blobs `layers`. */
export const layerBlobs = (proxy: FaultProxy, layers: string[]) =>
  proxy.log.filter((l) => layers.some((d) => l.url.endsWith(`/blobs/${d}`)));

/** The requests `proxy` logged that look for referrers (the API or the fallback tag). */
export const referrerRequests = (proxy: FaultProxy) =>
  proxy.log.filter((l) => /\/referrers\/|\/manifests\/sha256-/.test(l.url));
