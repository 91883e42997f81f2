/**
 * One push load against a running registry, for profiling a server started by hand (under
 * valgrind or perf): `node --import tsx bench/scripts/push-once.ts URL CLIENTS [MB]`.
 * Each client pushes an image of one random layer of MB megabytes (default 49, the corpus's
 * debian layer) to a repository of its own, as the `load` case's push step does.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pushStep, runLoad } from '../load-clients.js';
import { layoutBlobWriter, layoutImage } from './layout-image.js';

const [url, clients = '4', mb = '49'] = process.argv.slice(2);
if (!url) throw new Error('usage: push-once.ts URL CLIENTS [MB]');
const dir = mkdtempSync(path.join(tmpdir(), 'push-once-'));
try {
  const put = layoutBlobWriter(dir);
  const image = layoutImage(put, [put(randomBytes(Math.round(Number(mb) * 1e6)))]);
  const result = await runLoad(url, Number(clients), 1, pushStep(dir, image, `p${Date.now()}`));
  console.log(
    `${result.requests} requests, ${result.failed} failed ${result.firstFailure ?? ''}, ${(result.bytes / 1e6).toFixed(0)} MB in ${result.seconds.toFixed(1)} s`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
