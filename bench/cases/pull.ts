import { fileURLToPath } from 'node:url';
import { blobBytes } from '../counting-proxy.js';
import { type Contender, type RunResult, runOnce } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { hasProgram, shell, shq, skopeoPull } from '../peers.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, countBytes, freshDir } from './compare.js';
import { type BenchCase, bigOf, type CaseContext, refOf, Skip } from './types.js';

interface PullJson {
  digest: string;
  layersFetched: string[];
  layersReused: string[];
  bytesFetched: number;
}

function parsePull(run: RunResult): PullJson {
  return JSON.parse(run.stdout) as PullJson;
}

/** ocipeek pull of `name` into a fresh store (or the store `setup` prepared). */
export function ocipeekPull(
  ctx: CaseContext,
  name: string,
  options: { setup?: (store: string) => Promise<void>; check?: (r: PullJson) => void } = {},
): Contender {
  const store = freshDir(ctx.dir, 'store');
  return {
    name: 'ocipeek pull',
    before: async () => {
      await store.make();
      await options.setup?.(store.dir);
    },
    command: (host) =>
      ocipeek(ctx, ['--store', store.dir, 'pull', refOf(ctx, name, host), '--json'], {
        timeoutMs: 600_000,
      }),
    after: async (run) => {
      await store.remove();
      if (run.code !== 0) return;
      const json = parsePull(run);
      const want = ctx.corpus.images[name]!.manifestDigest;
      if (json.digest !== want) throw new Error(`ocipeek pull: digest ${json.digest} ≠ ${want}`);
      options.check?.(json);
    },
  };
}

/** skopeo copy of `name` into a fresh oci: layout (or the one `setup` prepared). */
export function skopeoCopy(
  ctx: CaseContext,
  name: string,
  options: { setup?: (dir: string) => Promise<void> } = {},
): Contender {
  const dir = freshDir(ctx.dir, 'oci');
  return {
    name: 'skopeo copy',
    before: async () => {
      await dir.make();
      await options.setup?.(dir.dir);
    },
    command: (host) => skopeoPull(host, name, dir.dir),
    after: async () => {
      await dir.remove();
    },
  };
}

/**
 * The least a verified pull of one blob must do: receive it over HTTP, hash it with
 * sha256 and write it to a file, here by C tools overlapped in a pipe
 * (`curl | tee FILE | openssl dgst -sha256`). No manifest, no store, no rename. OpenSSL
 * rather than coreutils' sha256sum, which is ~4× slower here (no SHA CPU instructions):
 * a floor must not be slower than what it bounds.
 */
function sha256Floor(ctx: CaseContext, name: string): Contender {
  const layer = ctx.corpus.images[name]!.layers[0]!;
  const out = freshDir(ctx.dir, 'floor');
  return {
    name: 'curl | tee | openssl sha256 (floor)',
    before: out.make,
    command: (host) =>
      shell(
        `curl -sSf ${shq(`http://${host}/v2/bench/${name}/blobs/${layer.digest}`)} | tee ${shq(`${out.dir}/blob`)} | openssl dgst -sha256 -r`,
      ),
    after: async (run) => {
      await out.remove();
      const got = run.stdout.split(' ')[0];
      if (run.code === 0 && `sha256:${got}` !== layer.digest) {
        throw new Error(`sha256 floor: got ${got}, want ${layer.digest}`);
      }
    },
  };
}

/**
 * A plain Node pull of a small image (bench/scripts/plain-node-pull.cjs): manifest, then
 * config and layers at once, each hashed and streamed to a file with Node's defaults, in
 * the same environment. Not a floor (ocipeek's pull beats it: larger writes, less
 * copying), but it shows what Node's start-up and streams cost against skopeo here.
 */
function plainNodePull(ctx: CaseContext, name: string): Contender {
  const script = fileURLToPath(new URL('../scripts/plain-node-pull.cjs', import.meta.url));
  const out = freshDir(ctx.dir, 'plain-node');
  const want = ctx.corpus.images[name]!.manifestDigest;
  return {
    name: 'plain node pull (sha256, files)',
    before: out.make,
    command: (host) => ({
      file: process.execPath,
      args: [script, host, `bench/${name}`, 'latest', out.dir],
    }),
    after: async (run) => {
      await out.remove();
      if (run.code === 0 && run.stdout.trim() !== want) {
        throw new Error(`plain node pull: got ${run.stdout.trim()}, want ${want}`);
      }
    },
  };
}

function needPull(): void {
  if (!hasCommand('pull')) throw new Skip('`ocipeek pull` not available yet');
}

/** Pull the image with the big layer into a fresh store. */
export const pullBig: BenchCase = {
  id: 'pull-big',
  title: 'pull an image with a 1 GiB layer into the store',
  peer: 'skopeo copy docker://… oci:DIR; curl | tee | openssl sha256 of the blob (floor)',
  target: 'ocipeek time ≤ 0.5× skopeo (aim ≤ 0.3×); the floor reported',
  variants: ALL_VARIANTS.filter((v) => v.env === 'user'),
  needs: ['big'],
  async run(ctx) {
    needPull();
    const big = bigOf(ctx);
    const name = big.name;
    const withFloor = hasProgram('curl') && hasProgram('openssl');
    const rows = await compare(ctx, {
      label: `${name} (${(big.layers[0]!.size / 2 ** 20).toFixed(0)} MiB blob)`,
      ocipeek: ocipeekPull(ctx, name),
      peers: [
        { contender: skopeoCopy(ctx, name), target: 0.5, targetText: '≤ 0.5× (aim ≤ 0.3×)' },
        ...(withFloor
          ? [{ contender: sha256Floor(ctx, name), targetText: 'reported', countBytes: false }]
          : []),
      ],
    });
    const [skopeo, floor] = rows;
    skopeo!.notes.push(`aim ≤ 0.3× skopeo: ${skopeo!.ratio! <= 0.3 ? 'reached' : 'not yet'}`);
    if (floor) floor.peer!.bytesFetched = big.layers[0]!.size;
    else skopeo!.notes.push('no sha256 floor: curl or openssl missing');
    return rows;
  },
};

/** Pull the small images into a fresh store, one row each. */
export const pullSmall: BenchCase = {
  id: 'pull-small',
  title: 'pull the small images (debian, the app image)',
  peer: 'skopeo copy docker://… oci:DIR; a plain node pull (reported)',
  target: '≤ 0.8× skopeo',
  variants: ALL_VARIANTS,
  needs: ['debian', 'app', 'debian-zstd'],
  async run(ctx) {
    needPull();
    const rows = [];
    for (const name of ['debian', 'app', 'debian-zstd']) {
      if (ctx.quick && name === 'debian-zstd') continue;
      const [skopeo, plain] = await compare(ctx, {
        label: name,
        ocipeek: ocipeekPull(ctx, name),
        peers: [
          { contender: skopeoCopy(ctx, name), target: 0.8 },
          { contender: plainNodePull(ctx, name), targetText: 'reported' },
        ],
      });
      const plainOverSkopeo = plain!.peer!.medianS / skopeo!.peer!.medianS;
      skopeo!.notes.push(
        `a plain node pull is ${plainOverSkopeo.toFixed(2)}× skopeo (${(plain!.peer!.medianS * 1000).toFixed(0)} ms)`,
      );
      rows.push(skopeo!, plain!);
    }
    return rows;
  },
};

/** Pull app into a store that already holds debian (the shared base must not be fetched). */
export const pullShared: BenchCase = {
  id: 'pull-shared',
  title: 'pull a second image sharing the base',
  peer: 'skopeo into the same oci: dir',
  target: '≤ 0.8×, and base layer bytes fetched = 0',
  variants: ALL_VARIANTS,
  needs: ['debian', 'app'],
  async run(ctx) {
    needPull();
    const base = ctx.corpus.images.debian!.layers[0]!.digest;
    const warm = async (store: string) => {
      const r = await runOnce(
        ocipeek(ctx, ['--store', store, 'pull', refOf(ctx, 'debian'), '--json']),
        ctx.variant.env,
      );
      if (r.code !== 0) throw new Error(`setup pull of debian failed: ${r.stderr}`);
    };
    const warmOci = async (dir: string) => {
      const r = await runOnce(skopeoPull(ctx.host, 'debian', dir), ctx.variant.env);
      if (r.code !== 0) throw new Error(`setup skopeo copy of debian failed: ${r.stderr}`);
    };
    let baseFetchedByOcipeek = false;
    const mine = ocipeekPull(ctx, 'app', {
      setup: warm,
      check: (json) => {
        if (json.layersFetched.includes(base)) baseFetchedByOcipeek = true;
      },
    });
    const peer = skopeoCopy(ctx, 'app', { setup: warmOci });
    const [row] = await compare(ctx, {
      label: 'app after debian',
      ocipeek: mine,
      peers: [{ contender: peer, target: 0.8 }],
    });
    const counted = await countBytes(ctx, mine);
    const ocipeekBase = blobBytes(counted.counts, base);
    const peerCounted = await countBytes(ctx, peer);
    const peerBase = blobBytes(peerCounted.counts, base);
    row!.notes.push(
      `base layer bytes fetched: ocipeek ${ocipeekBase}${baseFetchedByOcipeek ? ' (listed in layersFetched!)' : ''}, skopeo ${peerBase}`,
    );
    row!.target = '≤ 0.8× and base bytes = 0';
    row!.met = row!.met === true && ocipeekBase === 0 && !baseFetchedByOcipeek;
    return [row!];
  },
};
