import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { convertToEstargz } from '../../src/convert/index.js';
import { openDestination, openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { type RunningWebExplorer, startWebExplorer } from '../../src/ui/web/web-server.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { appLayers } from './app-fixture.js';

/** A PNG's signature and the start of its header: binary (NUL bytes), shown as an image. */
const PNG_HEAD = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/** The node-app-like images in a registry, and an explorer in front of them. */
export interface ExplorerFixture {
  reg: RunningRegistry;
  /** `HOST/ui/app`: tags `v1`, `v2` (one file more, the PNG less) and `estargz` (v1 converted). */
  repo: string;
  v1: BuiltImage;
  /** The content of `/data/big.bin` (in the base layer). */
  big: Buffer;
  png: Buffer;
  explorer: RunningWebExplorer;
  /** The explorer's registry client (its stats are the page's counter). */
  client: RegistryClient;
  /** GET a path of the explorer. */
  get(path: string): Promise<Response>;
  close(): Promise<void>;
}

/** Push the fixture images and start an explorer with no store (everything remote). */
export async function startExplorerFixture(bigSize: number): Promise<ExplorerFixture> {
  const reg = await startRegistry();
  const dir = await tempDir('web-explorer');
  const setup = new RegistryClient();
  const client = new RegistryClient();
  const big = randomBytes(bigSize);
  const png = Buffer.concat([PNG_HEAD, randomBytes(64)]);
  const layout = join(dir.path, 'layout');
  const w = new LayoutWriter(layout);
  const base = [
    { path: 'data/', type: 'dir' as const },
    { path: 'data/big.bin', content: big },
  ];
  const v1 = await randomImage(w, {
    refName: 'v1',
    labels: { 'org.example.role': 'fixture' },
    layerEntries: appLayers([base, [], [{ path: 'app/logo.png', content: png }]]),
  });
  await randomImage(w, {
    refName: 'v2',
    layerEntries: appLayers([base, [], [{ path: 'app/NEW.txt', content: 'new in v2\n' }]]),
  });
  await w.finish();
  const repo = `${reg.host}/ui/app`;
  await pushLayout(layout, 'v1', reg, 'ui/app:v1');
  await pushLayout(layout, 'v2', reg, 'ui/app:v2');
  const src = await openPlaceImage(`${repo}:v1`, { client: setup });
  // Chunks of 256 KiB, so a preview can show the start of big.bin without all of it.
  await convertToEstargz(src, await openDestination(`${repo}:estargz`, { client: setup }), {
    chunkSize: 256 * 1024,
  });
  await src.close();
  const explorer = await startWebExplorer({ client });
  return {
    reg,
    repo,
    v1,
    big,
    png,
    explorer,
    client,
    get: (path) => fetch(`${explorer.url}${path}`),
    async close() {
      await explorer.close();
      await client.close();
      await setup.close();
      await reg.stop();
      await dir.remove();
    },
  };
}
