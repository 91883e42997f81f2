import { fileURLToPath } from 'node:url';
import type { Contender } from '../measure.js';
import { hasCommand } from '../ocipeek.js';
import { ensureJsPeer, JS_PEER, jsPeerDir } from '../peers.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, freshDir } from './compare.js';
import { ocipeekPull } from './pull.js';
import { type BenchCase, Skip } from './types.js';

const SCRIPT = fileURLToPath(new URL('../scripts/snyk-pull.mjs', import.meta.url));

/** Pull all layers of the app image with ocipeek and with the JavaScript peer. */
export const jsPeerPull: BenchCase = {
  id: 'js-peer',
  title: 'the JavaScript peer: pull all layers of the app image',
  peer: `${JS_PEER} (OCI Accept types sent; layers in parallel, to files, unverified)`,
  target: '≤ 1.0×',
  variants: ALL_VARIANTS.filter((v) => v.env === 'user'),
  needs: ['app'],
  async run(ctx) {
    if (!hasCommand('pull')) throw new Skip('`ocipeek pull` not available yet');
    if (!(await ensureJsPeer(ctx.cache, ctx.log))) throw new Skip(`${JS_PEER} not installable`);
    const out = freshDir(ctx.dir, 'snyk');
    const peer: Contender = {
      name: 'snyk docker-registry-v2-client',
      before: out.make,
      command: (host) => ({
        file: process.execPath,
        args: [SCRIPT, jsPeerDir(ctx.cache), host, 'bench/app', 'latest', out.dir],
        timeoutMs: 600_000,
      }),
      after: async (run) => {
        await out.remove();
        if (run.code === 0 && run.stdout.trim() !== '3') {
          throw new Error(`snyk peer fetched ${run.stdout.trim()} layers, not 3`);
        }
      },
    };
    return compare(ctx, {
      label: 'app (3 layers)',
      ocipeek: ocipeekPull(ctx, 'app'),
      peers: [{ contender: peer, target: 1.0 }],
    });
  },
};
