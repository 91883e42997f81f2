import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Contender, measureAlternating, type RunResult } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { shell, shq, skopeoPullScript } from '../peers.js';
import { ALL_VARIANTS } from '../variants.js';
import { freshDir, sideOf } from './compare.js';
import { type BenchCase, type CaseContext, refOf, Skip } from './types.js';

function expectOutput(who: string, want: string) {
  return (run: RunResult) => {
    if (run.code === 0 && run.stdout !== want) {
      throw new Error(
        `${who} printed ${JSON.stringify(run.stdout.slice(0, 80))}, not ${JSON.stringify(want)}`,
      );
    }
  };
}

/** `ocipeek cat REF PATH` with a fresh, absent store (nothing cached). */
function ocipeekCat(ctx: CaseContext, file: string, want: string): Contender {
  const store = freshDir(ctx.dir, 'store-cat');
  const check = expectOutput('ocipeek cat', want);
  return {
    name: 'ocipeek cat',
    before: store.remove,
    command: (host) => ocipeek(ctx, ['--store', store.dir, 'cat', refOf(ctx, 'app', host), file]),
    after: async (run) => {
      await store.remove();
      check(run);
    },
  };
}

/**
 * skopeo copy to an oci: dir, umoci unpack the image (both on the variant's medium), cat each
 * file: one pipeline serves every row, as its cost does not depend on the file.
 */
function umociCat(ctx: CaseContext, files: string[], want: string): Contender {
  const oci = freshDir(ctx.dir, 'oci-cat');
  const bundle = freshDir(ctx.dir, 'bundle-cat');
  const check = expectOutput('skopeo + umoci + cat', want);
  return {
    name: 'skopeo + umoci unpack + cat',
    before: async () => {
      await oci.make();
      await bundle.remove();
    },
    command: (host) =>
      shell(
        [
          `${skopeoPullScript(host, 'app', oci.dir)} >&2`,
          `umoci unpack --rootless --image ${shq(`${oci.dir}:app`)} ${shq(bundle.dir)} >&2`,
          ...files.map((f) => `cat ${shq(path.join(bundle.dir, 'rootfs', f))}`),
        ].join('\n'),
      ),
    after: async (run) => {
      await oci.remove();
      await bundle.remove();
      check(run);
    },
  };
}

/** Read one file of the app image from the registry. */
export const catFile: BenchCase = {
  id: 'cat',
  title: 'read one file from the top layer / from the base (remote)',
  peer: 'skopeo copy + umoci unpack + cat',
  target: 'bytes fetched reported; time ≤ 0.3×',
  variants: ALL_VARIANTS.filter((v) => v.env === 'user'),
  needs: ['app'],
  async run(ctx) {
    if (!hasCommand('cat')) throw new Skip('`ocipeek cat` not available yet');
    const rootfs = ctx.corpus.synthetic ? 'synthetic' : 'debian';
    const baseText = await readFile(
      path.join(ctx.cache, 'rootfs', rootfs, 'etc/debian_version'),
      'utf8',
    );
    const files = [
      { label: 'top layer: /app/VERSION', file: '/app/VERSION', want: '1.2.3\n' },
      { label: 'base: /etc/debian_version', file: '/etc/debian_version', want: baseText },
    ];
    const mine = files.map((f) => ({
      ...ocipeekCat(ctx, f.file, f.want),
      name: `ocipeek cat ${f.file}`,
    }));
    const peer = umociCat(
      ctx,
      files.map((f) => f.file),
      files.map((f) => f.want).join(''),
    );
    ctx.log('  app: ocipeek cat of each file, one skopeo + umoci pipeline for both');
    const measured = await measureAlternating([...mine, peer], {
      host: ctx.host,
      env: ctx.variant.env,
      warmup: ctx.warmup,
      runs: ctx.runs,
      log: ctx.log,
    });
    const peerSide = sideOf(measured[files.length]!);
    const blobs = ctx.corpus.images.app!.layers.reduce((n, l) => n + l.size, 0);
    peerSide.bytesFetched = blobs;
    return files.map((f, i) => {
      const side = sideOf(measured[i]!);
      const ratio = side.medianS / peerSide.medianS;
      return {
        label: f.label,
        ocipeek: side,
        peer: peerSide,
        ratio,
        target: '≤ 0.3×',
        met: ratio <= 0.3,
        notes: [
          `peer bytes = the image's layer blobs (skopeo copies all of them); the peer pipeline cats both files`,
        ],
      };
    });
  },
};
