import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Contender } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, freshDir } from './compare.js';
import { ocipeekList, skopeoTar } from './list.js';
import { type BenchCase, type CaseContext, Skip } from './types.js';

const NAME = 'debian-zstd';

/**
 * The least a Node program does to list the image remotely (bench/scripts/
 * zstd-list-floor.cjs): manifest, the layer decoded by libzstd through koffi as it
 * arrives, tar headers walked, one line per entry; no digest, store, cache or merged tree.
 * Its own ratio to skopeo + tar is noted on that row: whether ≤ 0.5× is within reach of a
 * Node program on the machine at all.
 */
function listFloor(): Contender {
  const script = fileURLToPath(new URL('../scripts/zstd-list-floor.cjs', import.meta.url));
  return {
    name: 'node libzstd list (floor)',
    command: (host) => ({
      file: process.execPath,
      args: [script, host, `bench/${NAME}`, 'latest'],
      stdout: 'count',
      timeoutMs: 600_000,
    }),
  };
}

/**
 * `ocipeek unpack` of the zstd image from its oci: layout. umoci 0.4.7 refuses zstd
 * layers ("blob is not correct mediatype"), so the peer is GNU tar with zstd on the one
 * layer blob: a floor rather than a rival (no whiteouts to apply, no owners to record).
 */
function unpackRows(ctx: CaseContext) {
  const image = ctx.corpus.images[NAME]!;
  const blob = `${image.layoutDir}/blobs/sha256/${image.layers[0]!.digest.slice(7)}`;
  const into = (label: string, command: (dir: string) => ReturnType<Contender['command']>) => {
    const target = freshDir(ctx.dir, 'unpack-zstd');
    return {
      name: label,
      before: target.make,
      command: () => command(target.dir),
      after: async () => {
        await rm(target.dir, { recursive: true, force: true });
        await rm(`${target.dir}.ownership.json`, { force: true });
      },
    } satisfies Contender;
  };
  // ocipeek creates its target itself and refuses a non-empty one; an empty one is fine.
  const mine = into('ocipeek unpack --rootless', (dir) =>
    ocipeek(ctx, ['unpack', `oci:${image.layoutDir}:${NAME}`, dir, '--rootless'], {
      timeoutMs: 600_000,
    }),
  );
  const tar = into('tar --zstd -xf (floor)', (dir) => ({
    file: 'tar',
    args: ['--zstd', '-xf', blob, '-C', dir, '--no-same-owner'],
    timeoutMs: 600_000,
  }));
  return compare(ctx, {
    label: `${NAME}: unpack from the oci: layout`,
    ocipeek: mine,
    peers: [{ contender: tar, countBytes: false }],
  });
}

/**
 * The zstd image read in process (no `zstd` helper program since 2026-12-03): list it
 * remotely and unpack it, beside the gzip rows of `list` and `unpack`. Its pull is a row
 * of `pull-small`.
 */
export const zstdImage: BenchCase = {
  id: 'zstd',
  title: 'the zstd image: list every file (remote) and unpack',
  peer: 'skopeo copy + tar --zstd -tvf (list); a plain Node listing (list floor, reported); GNU tar --zstd -xf of the layer (unpack floor)',
  target: 'list ≤ 0.5× skopeo + tar (as gzip); unpack reported',
  variants: ALL_VARIANTS.filter((v) => v.env === 'user'),
  needs: [NAME],
  async run(ctx) {
    if (!hasCommand('ls') || !hasCommand('unpack')) throw new Skip('`ls`/`unpack` missing');
    if (!ctx.corpus.images[NAME]) throw new Skip(`the ${NAME} image was not built`);
    const listed = await compare(ctx, {
      label: `${NAME}: list`,
      ocipeek: ocipeekList(ctx, NAME),
      peers: [
        { contender: skopeoTar(ctx, NAME, '--zstd'), target: 0.5 },
        { contender: listFloor(), targetText: 'reported', countBytes: false },
      ],
    });
    const [tarRow, floorRow] = listed;
    if (tarRow?.peer && floorRow?.peer) {
      // One line per tar entry, as `tar -tv` prints: a floor that skipped entries is no floor.
      if (floorRow.peer.lines !== tarRow.peer.lines) {
        throw new Error(
          `zstd list floor printed ${floorRow.peer.lines} lines, tar ${tarRow.peer.lines}`,
        );
      }
      const reach = floorRow.peer.medianS / tarRow.peer.medianS;
      tarRow.notes.push(
        `the Node floor itself takes ${reach.toFixed(2)}× skopeo + tar (${floorRow.peer.medianS.toFixed(3)} s)`,
      );
    }
    return [...listed, ...(await unpackRows(ctx))];
  },
};
