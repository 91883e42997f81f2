import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Contender, runOnce } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, freshDir } from './compare.js';
import { type BenchCase, type CaseContext, refOf, Skip } from './types.js';

/**
 * What the merged app filesystem must look like: the top layer's file is there, its
 * whiteouts removed a base file and a whole package, its opaque directory hid the rest.
 */
export async function checkAppTree(root: string): Promise<string[]> {
  const problems: string[] = [];
  const has = (p: string) => existsSync(path.join(root, p));
  if (!has('app/VERSION')) problems.push('app/VERSION missing');
  if (!has('etc/debian_version')) problems.push('etc/debian_version missing');
  if (!has('app/node_modules/lodash/package.json')) problems.push('lodash missing');
  if (has('etc/motd')) problems.push('etc/motd present (whiteout ignored)');
  if (has('app/node_modules/lodash-es')) problems.push('lodash-es present (whiteout ignored)');
  const ramda = await readdir(path.join(root, 'app/node_modules/ramda')).catch(() => []);
  if (ramda.join() !== 'index.js') problems.push(`ramda/ holds ${ramda.length} entries (opaque)`);
  return problems;
}

/** A contender unpacking into a not-yet-existing folder under `base`, checked afterwards. */
function unpacker(
  name: string,
  base: string,
  command: (dir: string, host: string) => ReturnType<Contender['command']>,
  problems: Set<string>,
): Contender {
  const target = freshDir(base, 'unpack');
  return {
    name,
    before: target.remove,
    command: (host) => command(target.dir, host),
    after: async (run) => {
      if (run.code === 0) for (const p of await checkAppTree(target.dir)) problems.add(p);
      await rm(target.dir, { recursive: true, force: true });
      // ocipeek --rootless records owners beside the tree.
      await rm(`${target.dir}.ownership.json`, { force: true });
    },
  };
}

/** Where ocipeek reads the image from: arguments before `unpack` and the image argument. */
interface Source {
  label: string;
  globals: string[];
  image: string;
}

let chosen: Source | undefined;

/**
 * Pick how ocipeek reads the image, local first like umoci: the same oci: layout, else its
 * store (pulled once, untimed), else the registry. Found once, for every variant.
 */
async function ocipeekSource(ctx: CaseContext): Promise<Source> {
  if (chosen) return chosen;
  const store = `${ctx.scratch}/store-unpack`;
  const candidates: (Source & { prepare?: () => Promise<void> })[] = [
    {
      label: 'the oci: layout',
      globals: [],
      image: `oci:${ctx.corpus.images.app!.layoutDir}:app`,
    },
    {
      label: 'its store (pulled before timing)',
      globals: ['--store', store],
      image: refOf(ctx, 'app'),
      prepare: async () => {
        const r = await runOnce(ocipeek(ctx, ['--store', store, 'pull', refOf(ctx, 'app')]));
        if (r.code !== 0) throw new Error(`pull for unpack failed: ${r.stderr.trim()}`);
      },
    },
    { label: 'the registry', globals: [], image: refOf(ctx, 'app') },
  ];
  const probe = freshDir(ctx.dir, 'probe');
  for (const c of candidates) {
    await c.prepare?.();
    const r = await runOnce(
      ocipeek(ctx, [...c.globals, 'unpack', c.image, probe.dir, '--rootless']),
    );
    await probe.remove();
    await rm(`${probe.dir}.ownership.json`, { force: true });
    if (r.code === 0) {
      chosen = c;
      return c;
    }
    ctx.log(`    ocipeek unpack from ${c.label} failed: ${r.stderr.trim().split('\n')[0]}`);
  }
  throw new Error('ocipeek unpack failed from the oci: layout, the store and the registry');
}

/** The target applies to unpacking into tmpfs; the disk figures are reported beside it. */
const TARGET = 0.25;

/** Unpack the app image into a directory on the variant's medium. */
export const unpackApp: BenchCase = {
  id: 'unpack',
  title: 'unpack the app image into a directory',
  peer: 'umoci raw unpack --rootless (same image, oci: layout) into the same medium',
  target: `≤ ${TARGET}× umoci on tmpfs (disk reported)`,
  variants: ALL_VARIANTS,
  needs: ['app'],
  async run(ctx) {
    if (!hasCommand('unpack')) throw new Skip('`ocipeek unpack` not available yet');
    const source = await ocipeekSource(ctx);
    const mineProblems = new Set<string>();
    const peerProblems = new Set<string>();
    const mine = unpacker(
      'ocipeek unpack --rootless',
      ctx.dir,
      (dir) =>
        ocipeek(ctx, [...source.globals, 'unpack', source.image, dir, '--rootless'], {
          timeoutMs: 600_000,
        }),
      mineProblems,
    );
    const layout = ctx.corpus.images.app!.layoutDir;
    const peer = unpacker(
      'umoci raw unpack --rootless',
      ctx.dir,
      (dir) => ({
        file: 'umoci',
        args: ['raw', 'unpack', '--rootless', '--image', `${layout}:app`, dir],
        timeoutMs: 600_000,
      }),
      peerProblems,
    );
    const rows = await compare(ctx, {
      label: `app from ${source.label.replace(/ \(.*/, '')}`,
      ocipeek: mine,
      peers: [{ contender: peer, target: TARGET, countBytes: false }],
    });
    const row = rows[0]!;
    if (ctx.variant.medium !== 'tmpfs') {
      row.target = 'reported (the target is on tmpfs)';
      row.met = undefined;
    }
    row.notes.push(`ocipeek read ${source.label}; umoci read the oci: layout`);
    if (mineProblems.size) row.notes.push(`ocipeek output wrong: ${[...mineProblems].join('; ')}`);
    if (peerProblems.size) row.notes.push(`umoci output: ${[...peerProblems].join('; ')}`);
    if (mineProblems.size) row.met = false;
    return rows;
  },
};
