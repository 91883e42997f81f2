import { type RunResult, runOnce } from '../measure.js';
import { hasCommand, ocipeek, statsOf } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { freshDir } from './compare.js';
import { type BenchCase, bigOf, type CaseContext, type Row, refOf, Skip } from './types.js';

/** The last file of the big layer (after the one huge file). */
const BIG_LAST = '/data/small/file-0199.txt';

/** Run ocipeek once with a fresh store (nothing cached) and give time, bytes, requests. */
async function once(
  ctx: CaseContext,
  args: string[],
): Promise<RunResult & { bytes: number; requests: number }> {
  const store = freshDir(ctx.dir, 'store-seek-index');
  const r = await runOnce(
    ocipeek(ctx, ['--store', store.dir, ...args], { timeoutMs: 3_600_000 }),
    ctx.variant.env,
  );
  await store.remove();
  if (r.code !== 0) throw new Error(`ocipeek ${args.join(' ')}: ${r.stderr.trim().slice(-400)}`);
  const stats = statsOf(r);
  return {
    ...r,
    bytes: stats?.bytesFetched ?? Number.NaN,
    requests: stats?.requests ?? Number.NaN,
  };
}

const seconds = (r: RunResult) => Number((r.ms / 1000).toFixed(3));

/**
 * Seek indexes (issue 23): for each image, build and push the index (timed), convert a copy
 * to eStargz, then `ls -R` and `cat` of a base-layer file and of the big layer's last file,
 * each through the index, without it (`--no-index`), and from the eStargz copy: bytes
 * fetched, requests and time. A count more than a race: one run of each.
 */
export const seekIndex: BenchCase = {
  id: 'seek-index',
  title: 'seek index of gzip images: ls -R and cat with the index, without, and eStargz',
  peer: '—',
  target: 'cat ≤ 2 requests/layer and ≤ 1% of the layer; ls -R ≤ 2% of the image; build ≤ listing',
  variants: ALL_VARIANTS.filter((v) => v.medium === 'disk' && v.env === 'user'),
  needs: ['debian', 'app', 'big'],
  async run(ctx) {
    if (!hasCommand('index')) throw new Skip('`ocipeek index` not available yet');
    const rows: Row[] = [];
    const images = [
      { name: 'debian', file: '/etc/debian_version' },
      { name: 'app', file: '/etc/debian_version' },
      { name: bigOf(ctx).name, file: BIG_LAST },
    ];
    for (const { name, file } of images) {
      const ref = refOf(ctx, name);
      const imageBytes = ctx.corpus.images[name]!.layers.reduce((n, l) => n + l.size, 0);
      const built = await once(ctx, ['index', ref, '--push', '--json']);
      const report = JSON.parse(built.stdout) as { indexBytes: number; seconds: number };
      const estargz = refOf(ctx, `${name}-estargz`);
      await once(ctx, ['convert', ref, estargz, '--estargz']);
      const listing = await once(ctx, ['ls', '-R', ref, '--no-index']);
      ctx.log(
        `    ${name}: index ${report.indexBytes} bytes (${((100 * report.indexBytes) / imageBytes).toFixed(2)}%), built in ${seconds(built)} s; listing without it ${seconds(listing)} s`,
      );
      rows.push({
        label: `${name}: build the index`,
        figures: {
          'image bytes': imageBytes,
          'index bytes': report.indexBytes,
          'index share %': Number(((100 * report.indexBytes) / imageBytes).toFixed(3)),
          'build (s)': seconds(built),
          'ls -R without index (s)': seconds(listing),
          'build / listing': Number((built.ms / listing.ms).toFixed(2)),
        },
        notes: [],
      });
      const ways: Array<[string, string, string[]]> = [
        ['index', ref, []],
        ['no index', ref, ['--no-index']],
        ['eStargz', estargz, []],
      ];
      for (const [what, args] of [
        ['ls -R', ['ls', '-R']],
        [`cat ${file}`, ['cat']],
      ] as const) {
        for (const [way, target, extra] of ways) {
          const r = await once(ctx, [
            ...args,
            target,
            ...(args[0] === 'cat' ? [file] : []),
            ...extra,
          ]);
          ctx.log(
            `    ${name}: ${what} (${way}): ${r.bytes} bytes in ${r.requests} requests, ${seconds(r)} s`,
          );
          rows.push({
            label: `${name}: ${what} (${way})`,
            figures: {
              'bytes fetched': r.bytes,
              requests: r.requests,
              'share of image %': Number(((100 * r.bytes) / imageBytes).toFixed(3)),
              'run (s)': seconds(r),
            },
            notes: [],
          });
        }
      }
    }
    return rows;
  },
};
