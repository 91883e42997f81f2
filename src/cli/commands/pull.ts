import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { openSource, resolvePlaceReference } from '../../places/index.js';
import { type Place, parsePlace } from '../../source/index.js';
import { type PullPolicy, pullImage, Store, storeSource } from '../../store/index.js';
import { type CliContext, contextFor } from '../context.js';
import { runCopy } from '../copy-runner.js';
import { formatBytes, printJson, printLines } from '../format.js';
import { SIGNATURE_POLICY_HINT } from '../global-options.js';
import { parseCount } from '../parse-count.js';
import { createPullProgress } from '../pull-progress.js';

const POLICIES: PullPolicy[] = ['always', 'missing', 'newer', 'never'];

/** `ocipeek pull REF`: store an image (manifests, config, layers) in the local store. */
export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download an image into the local store (every blob verified)')
    .argument(
      '<image>',
      'image reference, e.g. 127.0.0.1:5000/app:1.0, or a place (oci:DIR[:TAG], oci-archive:FILE, …)',
    )
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
          throw new InvalidArgumentError(
            `--policy is the pull policy, one of ${POLICIES.join(', ')} (got "${opts.policy}"); ${SIGNATURE_POLICY_HINT}`,
          );
        }
        if (opts.allPlatforms && ctx.platform) {
          throw new InvalidArgumentError('--platform and --all-platforms exclude each other');
        }
        const place = parsePlace(refArg);
        const store = await Store.open(ctx.options.store);
        if (place.kind !== 'registry' && place.kind !== 'store') {
          await pullLocal(ctx, place, store, opts);
          return;
        }
        const ref =
          place.kind === 'registry'
            ? await resolvePlaceReference(place, ctx.client, { signal: ctx.signal })
            : place.ref;
        const progress = await createPullProgress();
        let result: Awaited<ReturnType<typeof pullImage>>;
        try {
          result = await pullImage(ref, {
            client: ctx.client,
            store,
            platform: ctx.platform,
            allPlatforms: opts.allPlatforms,
            concurrency: opts.concurrency,
            // `store:REF` names what the store holds: it is checked, never fetched.
            policy: place.kind === 'store' ? 'never' : (opts.policy as PullPolicy),
            checkStored: place.kind !== 'store',
            onProgress: progress?.onProgress,
            signal: ctx.signal,
          });
        } finally {
          progress?.stop();
        }
        // An image the store already held was not read from the registry, so the registry's
        // islet check did not see it: check the stored copy.
        if (ctx.islet && result.upToDate) {
          await ctx.islet.verifySource(storeSource(ref, { store }), ctx.signal);
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

/**
 * `pull oci:DIR[:TAG]` (or an archive): copy the image into the store under the full name
 * the place records for it (`io.containerd.image.name`, a docker archive's RepoTag).
 */
async function pullLocal(
  ctx: CliContext,
  place: Place,
  store: Store,
  opts: { allPlatforms?: boolean; concurrency?: number; json?: boolean },
): Promise<void> {
  // Archives are extracted into the store's temp area, where prune removes what a kill leaves.
  const source = await openSource(place, {
    client: ctx.client, // its trust policy checks the place
    signal: ctx.signal,
    tmpDir: store.tmpDir,
  });
  if (!source.imageName) {
    await source.close();
    throw new InvalidArgumentError(
      `${source.description} records no image name; name it: ocipeek copy ${source.description} store:NAME:TAG`,
    );
  }
  await runCopy(ctx, source, `store:${source.imageName}`, {
    open: { storeDir: store.dir },
    platform: ctx.platform,
    allPlatforms: opts.allPlatforms,
    concurrency: opts.concurrency,
    json: opts.json,
    verb: 'pulled',
  });
}
