import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { writeExampleLayout } from '../../../src/example/index.js';
import type { ImageFilesystem } from '../../../src/fs/index.js';
import type { LayerReport } from '../../../src/image/index.js';
import { buildFilesystem, layerReport, scanLayer } from '../../../src/image/index.js';
import { openPlaceImage } from '../../../src/places/index.js';
import type { BrowseNode } from '../../../src/ui/tui/browse-tree.js';
import { LayerTrees } from '../../../src/ui/tui/layer-trees.js';
import { writeAppImage } from '../../integration/browse-fixture.js';

/** A fixture image opened the way `ocipeek browse` opens a local one. */
export interface BrowseFixture {
  report: LayerReport;
  trees: LayerTrees;
  /** The merged view `ocipeek ls` lists. */
  fs: ImageFilesystem;
}

/** Open the image at `place` as `ocipeek browse` does for an image read whole. */
export async function openBrowseFixture(place: string): Promise<BrowseFixture> {
  const image = await openPlaceImage(place);
  try {
    const built = await buildFilesystem(image);
    const entries = [];
    for (const layer of image.layers) entries.push((await scanLayer(layer)).entries);
    return {
      report: layerReport(image, built.fs, built.tarSizes),
      trees: new LayerTrees(
        entries.map((e, i) => ({ digest: image.layers[i]!.descriptor.digest, entries: e })),
        built.fs,
      ),
      fs: built.fs,
    };
  } finally {
    await image.close();
  }
}

/**
 * The two fixture images, ocipeek's example (amd64) and the Node-app-like one, written to
 * a temp folder and opened before the suite's tests (the folder removed after them).
 */
export function suiteFixtures(): Partial<Record<'example' | 'app', BrowseFixture>> {
  const fixtures: Partial<Record<'example' | 'app', BrowseFixture>> = {};
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-browse-'));
    await writeExampleLayout(join(dir, 'example'));
    await writeAppImage(join(dir, 'app'), 'v1');
    fixtures.example = await openBrowseFixture(`oci:${dir}/example:1.0-amd64`);
    fixtures.app = await openBrowseFixture(`oci:${dir}/app:v1`);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return fixtures;
}

/** Every node below `root`, depth first, the root left out. */
export function allNodes(root: BrowseNode): BrowseNode[] {
  const out: BrowseNode[] = [];
  const visit = (n: BrowseNode) => {
    for (const c of n.children ?? []) {
      out.push(c);
      visit(c);
    }
  };
  visit(root);
  return out;
}
