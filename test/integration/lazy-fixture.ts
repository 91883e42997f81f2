import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FsEntry } from '../../src/fs/index.js';
import { openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import type { OpenedImage } from '../../src/source/index.js';
import {
  type FaultProxy,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
} from '../harness/index.js';

/** Files eStargz and zstd:chunked writers add that are no file of the image. */
export const BOOKKEEPING =
  /^\/?(stargz\.index\.json|\.no\.prefetch\.landmark|\.prefetch\.landmark)$/;

export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** What the view says about each entry, bookkeeping files left out. */
export function shape(entries: FsEntry[]) {
  return entries
    .filter((e) => !BOOKKEEPING.test(e.path))
    .map((e) => ({
      path: e.path,
      type: e.type,
      size: e.size,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      linkname: e.linkname,
    }));
}

/** The source image of the lazy tests, pushed as `lazy/src:v1`, and what serves it. */
export interface LazyFixture {
  reg: RunningRegistry;
  /** A fault proxy in front of `reg`. */
  proxy: FaultProxy;
  dir: { path: string; remove(): Promise<void> };
  /** The OCI layout the image was written to (tag `v1`). */
  layout: string;
  /** The content of `data/big.bin`. */
  big: Buffer;
  /** `lazy/src:v1` opened from the registry. */
  original: OpenedImage;
  /** A client for setup calls. */
  client: RegistryClient;
  /** A fresh client and `repo` opened through the proxy; closed by `close()`. */
  viaProxy(repo: string): Promise<{ client: RegistryClient; image: OpenedImage }>;
  /** Close every client, the proxy and the registry, and remove the folder. */
  close(): Promise<void>;
}

/**
 * Start a registry and a proxy, write the two-layer source image (a `bigSize` random
 * file between small ones, links, a whiteout in the upper layer) and push it.
 */
export async function startLazyFixture(bigSize: number): Promise<LazyFixture> {
  const reg = await startRegistry();
  const proxy = await startFaultProxyFor(reg);
  const dir = await tempDir('lazy');
  const clients: RegistryClient[] = [];
  const newClient = () => {
    const c = new RegistryClient();
    clients.push(c);
    return c;
  };
  const layout = join(dir.path, 'layout');
  const big = randomBytes(bigSize);
  const w = new LayoutWriter(layout);
  await randomImage(w, {
    refName: 'v1',
    layerEntries: [
      [
        { path: 'etc/', type: 'dir' },
        { path: 'etc/start.conf', content: 'at the start\n' },
        { path: 'data/', type: 'dir' },
        { path: 'data/big.bin', content: big },
        { path: 'etc/middle.conf', content: 'in the middle\n', mode: 0o600, uid: 7 },
        { path: 'bin/', type: 'dir' },
        { path: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
        { path: 'bin/link', type: 'symlink', linkname: 'tool' },
        { path: 'bin/hard', type: 'hardlink', linkname: 'bin/tool' },
        { path: 'zz/end.txt', content: 'at the end\n' },
      ],
      [{ path: 'etc/.wh.start.conf' }, { path: 'top.txt', content: 'top layer\n' }],
    ],
  });
  await w.finish();
  await pushLayout(layout, 'v1', reg, 'lazy/src:v1');
  const client = newClient();
  const original = await openPlaceImage(`${reg.host}/lazy/src:v1`, { client });
  return {
    reg,
    proxy,
    dir,
    layout,
    big,
    original,
    client,
    async viaProxy(repo) {
      const c = newClient();
      return { client: c, image: await openPlaceImage(`${proxy.host}/${repo}`, { client: c }) };
    },
    async close() {
      for (const c of clients) await c.close();
      await proxy.close();
      await reg.stop();
      await dir.remove();
    },
  };
}
