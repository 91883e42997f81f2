import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LayerBlob } from './blob-file.js';
import { ensureRootfs } from './debian.js';
import { bigLayer, layerFromDirectory, ROOTFS_EXCLUDES, topLayer } from './layers.js';
import { ensureAppTree } from './node-tree.js';

const run = promisify(execFile);

/** One benchmark image in an OCI layout on disk. */
export interface CorpusImage {
  /** Short name, also the repository `bench/NAME` and the layout's ref name. */
  name: string;
  layoutDir: string;
  manifestDigest: string;
  layers: LayerBlob[];
  description: string;
}

/** Everything the cases need to know about the corpus. */
export interface Corpus {
  /** By name: `debian`, `app`, `big-NNNm` (each size built), `debian-zstd`. */
  images: Record<string, CorpusImage>;
  /** The big image of this run's size, when the run needs it or the cache holds it. */
  big?: CorpusImage;
  /** How the base root filesystem was made. */
  rootfsSource: string;
  /** True when the base is the synthetic stand-in, not Debian. */
  synthetic: boolean;
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

async function writeJsonBlob(layoutDir: string, value: unknown) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await mkdir(path.join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(layoutDir, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** Add (or replace) `name` in the layout's `index.json`. */
async function tagInLayout(layoutDir: string, name: string, digest: string, size: number) {
  const file = path.join(layoutDir, 'index.json');
  const index = existsSync(file)
    ? JSON.parse(await readFile(file, 'utf8'))
    : { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  const key = 'org.opencontainers.image.ref.name';
  index.manifests = index.manifests.filter(
    (m: { annotations?: Record<string, string> }) => m.annotations?.[key] !== name,
  );
  index.manifests.push({ mediaType: MANIFEST, digest, size, annotations: { [key]: name } });
  await writeFile(file, JSON.stringify(index));
  await writeFile(path.join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
}

async function writeImage(layoutDir: string, name: string, layers: LayerBlob[], why: string) {
  const config = await writeJsonBlob(layoutDir, {
    created: '2024-01-01T00:00:00Z',
    architecture: ARCH,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/bash'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: why })),
  });
  const manifest = await writeJsonBlob(layoutDir, {
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: CONFIG, ...config },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  await tagInLayout(layoutDir, name, manifest.digest, manifest.size);
  return manifest.digest;
}

/** Options for {@link buildCorpus}. */
export interface BuildCorpusOptions {
  /** Size of the big file in the `big` image, bytes. */
  bigSize: number;
  /** Build the big image and `debian-zstd` if missing (else only reuse what is there). */
  needBig: boolean;
  needZstd: boolean;
  log: (line: string) => void;
}

function blobExists(layoutDir: string, digest: string): boolean {
  return existsSync(path.join(layoutDir, 'blobs', 'sha256', digest.slice(7)));
}

/**
 * Build what is missing of the corpus in `cache` (kept across runs, recorded in
 * `corpus.json`): `debian` (one gzip layer), `app` (debian + node_modules + top layer),
 * `big-SIZE` (one huge file then small files) in `cache/layout`, and `debian-zstd` in
 * `cache/layout-zstd` (recompressed by skopeo). The big image and debian-zstd are built
 * only when the run needs them; a cache that already holds everything is not written to.
 */
export async function buildCorpus(cache: string, options: BuildCorpusOptions): Promise<Corpus> {
  const { log } = options;
  const recordFile = path.join(cache, 'corpus.json');
  const saved: Corpus | undefined = existsSync(recordFile)
    ? JSON.parse(await readFile(recordFile, 'utf8'))
    : undefined;
  const rootfs = await ensureRootfs(cache, log);
  const corpus = {
    images: {} as Record<string, CorpusImage>,
    rootfsSource: rootfs.source,
    synthetic: rootfs.synthetic,
  };
  const layout = path.join(cache, 'layout');
  const reuse = (name: string): CorpusImage | undefined => {
    const img = saved?.synthetic === rootfs.synthetic ? saved.images[name] : undefined;
    if (img?.layers.every((l) => blobExists(img.layoutDir, l.digest))) return img;
    return undefined;
  };
  let changed = false;
  const save = async () => {
    if (changed) await writeFile(recordFile, JSON.stringify(corpus, null, 2));
  };

  let debian = reuse('debian');
  if (!debian) {
    changed = true;
    log('  building the base layer from the root filesystem');
    const base = await layerFromDirectory(layout, rootfs.dir, { excludes: ROOTFS_EXCLUDES });
    const digest = await writeImage(layout, 'debian', [base], 'rootfs');
    debian = {
      name: 'debian',
      layoutDir: layout,
      manifestDigest: digest,
      layers: [base],
      description: `${rootfs.synthetic ? 'SYNTHETIC base' : 'Debian bookworm minbase'}, one gzip layer`,
    };
  }
  corpus.images.debian = debian;
  await save();

  let app = reuse('app');
  if (!app) {
    changed = true;
    const tree = await ensureAppTree(cache, log);
    log('  building the node_modules layer and the top layer');
    const modules = await layerFromDirectory(layout, tree);
    const top = await topLayer(layout);
    const layers = [debian.layers[0]!, modules, top];
    app = {
      name: 'app',
      layoutDir: layout,
      manifestDigest: await writeImage(layout, 'app', layers, 'app'),
      layers,
      description: 'base + node_modules (~45k files) + top layer (whiteouts, opaque dir, links)',
    };
  }
  corpus.images.app = app;
  await save();

  const bigName = `big-${Math.round(options.bigSize / (1 << 20))}m`;
  let big = reuse(bigName);
  if (!big && options.needBig) {
    changed = true;
    log(
      `  building ${bigName}: one ${options.bigSize} byte random file + 200 small files, gzip -1`,
    );
    const layer = await bigLayer(layout, options.bigSize);
    big = {
      name: bigName,
      layoutDir: layout,
      manifestDigest: await writeImage(layout, bigName, [layer], 'big'),
      layers: [layer],
      description: `one ${Math.round(options.bigSize / (1 << 20))} MiB file of random bytes, then 200 small files; gzip level 1`,
    };
  }
  if (big) corpus.images[bigName] = big;
  // Keep the other big variant's record so quick and full runs share the cache.
  for (const [k, v] of Object.entries(saved?.images ?? {})) {
    if (k.startsWith('big-') && k !== bigName) corpus.images[k] = v;
  }
  await save();

  let zstd = reuse('debian-zstd');
  if (!zstd && options.needZstd) {
    changed = true;
    log('  recompressing debian to zstd with skopeo');
    const dir = path.join(cache, 'layout-zstd');
    await rm(dir, { recursive: true, force: true });
    await run(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--quiet',
        '--dest-compress-format',
        'zstd',
        `oci:${layout}:debian`,
        `oci:${dir}:debian-zstd`,
      ],
      { timeout: 600_000 },
    );
    zstd = await describeLayout(dir, 'debian-zstd', 'the debian image recompressed to zstd');
  }
  if (zstd) corpus.images['debian-zstd'] = zstd;
  await save();
  return { ...corpus, big };
}

/** Read `name` from a layout skopeo wrote (its layers have no diff ids we computed). */
async function describeLayout(dir: string, name: string, description: string) {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8'));
  const entry = index.manifests.find(
    (m: { annotations?: Record<string, string> }) =>
      m.annotations?.['org.opencontainers.image.ref.name'] === name,
  );
  const blob = (d: string) => readFile(path.join(dir, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const manifest = JSON.parse(await blob(entry.digest));
  const config = JSON.parse(await blob(manifest.config.digest));
  const layers: LayerBlob[] = manifest.layers.map(
    (l: { mediaType: string; digest: string; size: number }, i: number) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      diffId: config.rootfs.diff_ids[i],
      tarSize: 0,
    }),
  );
  return { name, layoutDir: dir, manifestDigest: entry.digest, layers, description };
}
