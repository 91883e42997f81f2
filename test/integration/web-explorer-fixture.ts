import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { publishReferrer } from '../../src/artifact/index.js';
import { convertToEstargz } from '../../src/convert/index.js';
import { buildSeekIndex, writeSeekIndex } from '../../src/lazy/index.js';
import { openDestination, openPlaceImage } from '../../src/places/index.js';
import { parseReference } from '../../src/ref/index.js';
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

/** `/app/server.js` of v1 and of v2: one line changed, one added. */
export const SERVER_V1 =
  'const http = require("node:http");\n// Answers <b>every</b> request.\nhttp.createServer((q, r) => r.end("ok")).listen(8080);\n';
export const SERVER_V2 =
  'const http = require("node:http");\n// Answers <b>every</b> request.\nhttp.createServer((q, r) => r.end("fine")).listen(8080);\nconsole.log("listening");\n';
/** `/app/config.json` of v1 and of v2: the same size, one word changed. */
export const CONFIG_V1 = '{"colour":"blue"}\n';
export const CONFIG_V2 = '{"colour":"gray"}\n';
/** Files of both v1 and v2: a script known by its `#!` line. */
const SCRIPTS = [{ path: 'app/start', content: '#!/bin/sh\nexec node /app/server.js "$@"\n' }];

/** The node-app-like images in a registry, and an explorer in front of them. */
export interface ExplorerFixture {
  reg: RunningRegistry;
  /**
   * `HOST/ui/app`: tags `v1`, `v2` (one file more, the PNG less, `/app/config.json` of
   * the same size changed), `estargz` (v1
   * converted) and `indexed` (v1 with a bigger `/data/big.bin`, a seek index published
   * as its referrer).
   */
  repo: string;
  v1: BuiltImage;
  /** The compressed layer bytes of `indexed`. */
  indexedLayerBytes: number;
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
    layerEntries: appLayers([
      base,
      [],
      [
        { path: 'app/logo.png', content: png },
        ...SCRIPTS,
        { path: 'app/config.json', content: CONFIG_V1 },
        { path: 'app/server.js', content: SERVER_V1 },
      ],
    ]),
  });
  // Bigger than the index's 4 MiB span, so reading it whole would cost several spans.
  const indexed = await randomImage(w, {
    refName: 'indexed',
    layerEntries: appLayers([
      [...base.slice(0, 1), { path: 'data/big.bin', content: randomBytes(6 * 1024 * 1024) }],
      [],
      [{ path: 'app/logo.png', content: png }],
    ]),
  });
  await randomImage(w, {
    refName: 'v2',
    layerEntries: appLayers([
      base,
      [],
      [
        { path: 'app/NEW.txt', content: 'new in v2\n' },
        ...SCRIPTS,
        { path: 'app/config.json', content: CONFIG_V2 },
        { path: 'app/server.js', content: SERVER_V2 },
      ],
    ]),
  });
  await w.finish();
  const repo = `${reg.host}/ui/app`;
  await pushLayout(layout, 'v1', reg, 'ui/app:v1');
  await pushLayout(layout, 'v2', reg, 'ui/app:v2');
  await pushLayout(layout, 'indexed', reg, 'ui/app:indexed');
  await publishSeekIndex(setup, `${repo}:indexed`);
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
    indexedLayerBytes: indexed.layers.reduce((n, l) => n + l.size, 0),
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

/** Build the seek index of `ref` and publish it as its referrer, as `ocipeek index --push`. */
async function publishSeekIndex(client: RegistryClient, ref: string): Promise<void> {
  const image = await openPlaceImage(ref, { client });
  try {
    const built = await buildSeekIndex(image);
    const repo = parseReference(ref);
    const at = `${repo.name}@${built.digest}`;
    await writeSeekIndex(await openDestination(at, { client }), built);
    await publishReferrer(client, repo, image.manifestDigest, built.descriptor);
  } finally {
    await image.close();
  }
}
