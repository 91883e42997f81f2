import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { parseReference } from '../../ref/index.js';
import { type PullPolicy, pullImage, Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines } from '../format.js';
import { parseCount } from '../parse-count.js';
import { createPullProgress } from '../pull-progress.js';

const POLICIES: PullPolicy[] = ['always', 'missing', 'newer', 'never'];

/** `ocipeek pull REF`: store an image (manifests, config, layers) in the local store. */
export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download an image into the local store (every blob verified)')
    .argument('<ref>', 'image reference, e.g. 127.0.0.1:5000/app:1.0')
    .option('--all-platforms', 'keep every platform of a multi-platform image')
    .option('--concurrency <n>', 'blobs downloaded at once (default 4)', parseCount)
    .option(
      '--policy <policy>',
      'always | missing | newer (default: check the tag with one HEAD) | never',
      'newer',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: { allPlatforms?: boolean; concurrency?: number; policy: string; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        if (!POLICIES.includes(opts.policy as PullPolicy)) {
          throw new InvalidArgumentError(`--policy must be one of ${POLICIES.join(', ')}`);
        }
        if (opts.allPlatforms && ctx.platform) {
          throw new InvalidArgumentError('--platform and --all-platforms exclude each other');
        }
        const ref = parseReference(refArg);
        const store = await Store.open(ctx.options.store);
        const progress = await createPullProgress();
        let result: Awaited<ReturnType<typeof pullImage>>;
        try {
          result = await pullImage(ctx.client, store, ref, {
            platform: ctx.platform,
            allPlatforms: opts.allPlatforms,
            concurrency: opts.concurrency,
            policy: opts.policy as PullPolicy,
            onProgress: progress?.onProgress,
            signal: ctx.signal,
          });
        } finally {
          progress?.stop();
        }
        if (opts.json || ctx.options.json) {
          const { reference, digest, layersFetched, layersReused, bytesFetched } = result;
          printJson({ reference, digest, layersFetched, layersReused, bytesFetched });
          return;
        }
        const how = result.upToDate
          ? 'up to date'
          : `${result.layersFetched.length} layer(s) fetched, ${result.layersReused.length} reused, ${formatBytes(result.bytesFetched)}`;
        printLines(`${result.reference}: ${how}`, `digest: ${result.digest}`);
      },
    );
}
