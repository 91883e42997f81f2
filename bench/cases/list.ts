import { fileURLToPath } from 'node:url';
import type { Contender } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { shell, shq, skopeoPullScript } from '../peers.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, freshDir } from './compare.js';
import { type BenchCase, bigOf, type CaseContext, refOf, Skip } from './types.js';

const FLOOR = fileURLToPath(new URL('../scripts/gunzip-floor.mjs', import.meta.url));

/**
 * `ocipeek ls REF / -R -l`: every entry of the merged tree, streamed from the registry.
 * Each run gets a fresh, absent store, so no listing cache or stored blob helps it.
 */
export function ocipeekList(ctx: CaseContext, name: string): Contender {
  const store = freshDir(ctx.dir, 'store-ls');
  return {
    name: 'ocipeek ls -R -l',
    before: store.remove,
    command: (host) =>
      ocipeek(ctx, ['--store', store.dir, 'ls', refOf(ctx, name, host), '/', '-R', '-l'], {
        stdout: 'count',
        timeoutMs: 600_000,
      }),
    after: async () => {
      await store.remove();
    },
  };
}

/** Node's zlib over the same blobs fetched over HTTP, output thrown away. */
function floor(ctx: CaseContext, name: string): Contender {
  const digests = ctx.corpus.images[name]!.layers.map((l) => l.digest);
  return {
    name: 'node zlib gunzip (floor)',
    command: (host) => ({
      file: process.execPath,
      args: [FLOOR, `http://${host}`, `bench/${name}`, ...digests],
      timeoutMs: 600_000,
    }),
  };
}

/**
 * `skopeo copy` to a fresh oci: dir, then `tar -tv` of each layer blob (`-z` for gzip,
 * `--zstd` for zstd layers).
 */
export function skopeoTar(ctx: CaseContext, name: string, decompress = '-z'): Contender {
  const dir = freshDir(ctx.dir, 'oci-list');
  const blobs = ctx.corpus.images[name]!.layers.map(
    (l) => `${dir.dir}/blobs/sha256/${l.digest.slice(7)}`,
  );
  return {
    name: decompress === '-z' ? 'skopeo copy + tar -tvzf' : `skopeo copy + tar ${decompress} -tvf`,
    before: dir.make,
    command: (host) =>
      shell(
        `${skopeoPullScript(host, name, dir.dir)}\nfor b in ${blobs.map(shq).join(' ')}; do tar ${decompress} -tvf "$b"; done`,
      ),
    after: async () => {
      await dir.remove();
    },
  };
}

/** List every file of every layer, remotely. */
export const listLayers: BenchCase = {
  id: 'list',
  title: 'list every file of every layer (remote)',
  peer: "node's zlib gunzip of the same blobs (floor); skopeo copy + tar -tvzf per layer",
  target: '≤ 1.2× the floor; ≤ 0.5× skopeo + tar',
  variants: ALL_VARIANTS.filter((v) => v.env === 'user'),
  needs: ['app', 'big'],
  async run(ctx) {
    if (!hasCommand('ls')) throw new Skip('`ocipeek ls` not available yet');
    const rows = [];
    for (const name of ['app', bigOf(ctx).name]) {
      const mine = ocipeekList(ctx, name);
      const tarPeer = skopeoTar(ctx, name);
      const got = await compare(ctx, {
        label: name,
        ocipeek: mine,
        peers: [
          { contender: floor(ctx, name), target: 1.2, targetText: '≤ 1.2× floor' },
          { contender: tarPeer, target: 0.5 },
        ],
      });
      const tarRow = got[1]!;
      tarRow.notes.push(
        `lines printed: ocipeek ${tarRow.ocipeek?.lines} (merged tree), tar -tv ${tarRow.peer?.lines} (every layer, whiteouts included)`,
      );
      rows.push(...got);
    }
    return rows;
  },
};
