import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PeekEntry, type PeekSummary, peekLayer } from '../../src/lazy/peek-layer.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  type LayerEntry,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A big layer of random files with marked files at the start, in the middle and at the end. */
function bigLayer(files: number): LayerEntry[] {
  const out: LayerEntry[] = [
    { path: 'big/', type: 'dir' },
    { path: 'big/start/', type: 'dir' },
    { path: 'big/start/config.json', content: '{"at":"start"}\n' },
    { path: 'big/start/readme.txt', content: 'read me first\n' },
    { path: 'big/data/', type: 'dir' },
  ];
  for (let i = 0; i < files; i++) {
    out.push({
      path: `big/data/f${String(i).padStart(5, '0')}.bin`,
      content: randomBytes(8 * KiB),
    });
    if (i === Math.floor(files / 2)) out.push({ path: 'big/middle.txt', content: 'middle\n' });
  }
  out.push({ path: 'big/end.txt', content: 'the end\n' });
  return out;
}

const small = (n: number): LayerEntry[] => [
  { path: `small${n}/`, type: 'dir' },
  { path: `small${n}/id.txt`, content: `layer ${n}\n` },
];

interface PeekJson {
  ref: string;
  digest: string;
  bytesFetched: number;
  layers: Array<{
    index: number;
    digest: string;
    size: number;
    bytesFetched: number;
    complete: boolean;
    rangeIgnored?: boolean;
    entries: PeekEntry[];
  }>;
}

/** A proxy that drops `Range` (the registry then answers 200 with the whole blob). */
async function rangeIgnoringProxy(upstream: string) {
  const log: Array<{ url: string; range?: string; status: number; bytesSent: number }> = [];
  const server = http.createServer((req, res) => {
    const entry = { url: req.url ?? '/', range: req.headers.range, status: 0, bytesSent: 0 };
    log.push(entry);
    const headers = { ...req.headers };
    delete headers.range;
    delete headers.host;
    const up = http.request(
      `${upstream}${req.url}`,
      { method: req.method, headers },
      async (ur) => {
        entry.status = ur.statusCode ?? 502;
        res.writeHead(entry.status, ur.headers);
        res.on('close', () => ur.destroy());
        for await (const chunk of ur as AsyncIterable<Buffer>) {
          entry.bytesSent += chunk.length;
          if (!res.write(chunk)) {
            // drain or close, both listeners removed after (no build-up over a big body)
            await new Promise<void>((resolve) => {
              const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.on('drain', done);
              res.on('close', done);
            });
            if (res.destroyed) return;
          }
        }
        res.end();
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('peek and streaming reads against the real registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let dir: { path: string; remove(): Promise<void> };
  const images: Record<string, BuiltImage> = {};
  let n = 0;
  const store = () => join(dir.path, `store-${n++}`);
  const via = (tag: string) => `${proxy.host}/peek/app:${tag}`;
  const blobGets = (digest: string) =>
    proxy.log.filter((e) => e.method === 'GET' && e.url.endsWith(`/blobs/${digest}`));

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxyFor(reg);
    dir = await tempDir('peek');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    // gzip: 3 layers, the big one (24 MiB of random files) on top.
    images.gzip = await randomImage(w, {
      refName: 'gzip',
      layerEntries: [small(0), small(1), bigLayer(3000)],
    });
    for (const compression of ['zstd', 'none'] as const) {
      images[compression] = await randomImage(w, {
        refName: compression,
        compression,
        layerEntries: [small(0), bigLayer(400)],
      });
    }
    images.dev = await randomImage(w, {
      refName: 'dev',
      layerEntries: [
        [
          { path: 'dev/', type: 'dir' },
          { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
          { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 16, mode: 0o660 },
          { path: 'dev/big', type: 'char', devmajor: 4095, devminor: 65535, mode: 0o600 },
        ],
        [
          { path: 'usr/', type: 'dir' },
          { path: 'usr/bin/', type: 'dir' },
          { path: 'usr/bin/perl', content: 'p'.repeat(3800), mode: 0o755 },
          { path: 'usr/bin/perl5.36.0', type: 'hardlink', linkname: 'usr/bin/perl' },
          { path: 'usr/bin/cpan', content: 'cpan\n', mode: 0o755 },
        ],
      ],
    });
    await w.finish();
    for (const tag of Object.keys(images)) {
      await pushLayout(join(dir.path, 'layout'), tag, reg, `peek/app:${tag}`);
    }
  });
  after(async () => {
    await proxy?.close();
    await reg?.stop();
    await dir?.remove();
  });

  it('peek --bytes 256K lists the start of a 24 MiB layer, fetching at most 256 KiB of it', async () => {
    const img = images.gzip!;
    const big = img.layers[2]!;
    assert.ok(big.size > 20 * MiB, `big layer is ${big.size} bytes`);
    proxy.resetLog();
    const r = await runCli(['peek', via('gzip'), '--bytes', '256K', '--json', '--store', store()]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.out) as PeekJson;
    assert.equal(out.ref, via('gzip'));
    assert.equal(out.digest, img.descriptor.digest);
    assert.deepEqual(
      out.layers.map((l) => [l.index, l.digest, l.size, l.complete]),
      [
        [0, img.layers[0]!.digest, img.layers[0]!.size, true],
        [1, img.layers[1]!.digest, img.layers[1]!.size, true],
        [2, big.digest, big.size, false],
      ],
    );
    // The small layers are read whole; the big one up to the window.
    assert.equal(out.layers[0]!.bytesFetched, img.layers[0]!.size);
    assert.equal(out.layers[2]!.bytesFetched, 256 * KiB);
    assert.equal(out.bytesFetched, img.layers[0]!.size + img.layers[1]!.size + 256 * KiB);
    assert.deepEqual(
      out.layers[0]!.entries.map((e) => e.path),
      ['/small0', '/small0/id.txt'],
    );
    const entries = out.layers[2]!.entries;
    const paths = entries.map((e) => e.path);
    assert.deepEqual(paths.slice(0, 4), [
      '/big',
      '/big/start',
      '/big/start/config.json',
      '/big/start/readme.txt',
    ]);
    assert.deepEqual(entries[2], {
      path: '/big/start/config.json',
      type: 'file',
      size: 15,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: Date.UTC(2024, 0, 1) / 1000,
      layer: 2,
    });
    assert.ok(!paths.includes('/big/middle.txt') && !paths.includes('/big/end.txt'));
    // 256 KiB of incompressible 8 KiB files: ~31 of them (plus headers).
    assert.ok(entries.length >= 28 && entries.length <= 38, `${entries.length} entries`);
    assert.equal(entries.at(-1)!.partial, true);
    assert.equal(entries.filter((e) => e.partial).length, 1);
    // The proxy saw one ranged GET per layer, and sent no more than the range.
    const gets = blobGets(big.digest);
    assert.equal(gets.length, 1);
    assert.equal(gets[0]!.range, 'bytes=0-262143');
    assert.equal(gets[0]!.status, 206);
    assert.ok(gets[0]!.bytesSent <= 256 * KiB);
    console.log(
      `# peek 256K of a ${(big.size / MiB).toFixed(1)} MiB gzip layer: ${entries.length} entries, ` +
        `${(entries.length / 256).toFixed(3)} entries/KiB; file entries ${entries.filter((e) => e.type === 'file').length}`,
    );
  });

  it('device numbers: peek and ls -l show major,minor; --json has devMajor and devMinor', async () => {
    const s = store();
    const r = await runCli(['peek', via('dev'), '--layer', '0', '--store', s]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /^crw-rw-rw- +1 +0\/0 +1,3 +2024-01-01 00:00 +L0 +\/dev\/null$/m);
    assert.match(r.out, /^brw-rw---- +1 +0\/0 +8,16 +.* \/dev\/sda$/m);
    assert.match(r.out, /^crw------- +1 +0\/0 +4095,65535 +.* \/dev\/big$/m);
    const json = JSON.parse((await runCli(['peek', via('dev'), '--json', '--store', s])).out);
    const devices = (json as PeekJson).layers[0]!.entries.filter((e) => e.type !== 'dir');
    assert.deepEqual(
      devices.map((e) => [e.path, e.type, e.devMajor, e.devMinor]),
      [
        ['/dev/null', 'char', 1, 3],
        ['/dev/sda', 'block', 8, 16],
        ['/dev/big', 'char', 4095, 65535],
      ],
    );
    const ls = await runCli(['ls', '-l', via('dev'), '/dev', '--store', s]);
    assert.match(ls.out, /^crw-rw-rw- +1 +0\/0 +1,3 +2024-01-01 00:00 +L0 +null$/m);
    const listed = JSON.parse(
      (await runCli(['ls', via('dev'), '/dev', '--json', '--store', s])).out,
    ) as Array<{ path: string; devMajor?: number; devMinor?: number }>;
    assert.deepEqual(
      listed.map((e) => [e.path, e.devMajor, e.devMinor]),
      [
        ['/dev/big', 4095, 65535],
        ['/dev/null', 1, 3],
        ['/dev/sda', 8, 16],
      ],
    );
  });

  it('hardlinks: peek shows the file they name, its size and link count, as ls -l and stat do', async () => {
    const s = store();
    const r = await runCli(['peek', via('dev'), '--layer', '1', '--store', s]);
    assert.equal(r.code, 0, r.stderr);
    // Both names of the 3800-byte file: type `-`, its size, 2 links; ls -l says the same.
    assert.match(r.out, /^-rwxr-xr-x +2 +0\/0 +3800 +2024-01-01 00:00 +L1 +\/usr\/bin\/perl$/m);
    assert.match(
      r.out,
      /^-rwxr-xr-x +2 +0\/0 +3800 +2024-01-01 00:00 +L1 +\/usr\/bin\/perl5\.36\.0 => \/usr\/bin\/perl$/m,
    );
    assert.match(r.out, /^-rwxr-xr-x +1 +0\/0 +5 +.* \/usr\/bin\/cpan$/m);
    assert.match(r.out, /^drwxr-xr-x +3 +0\/0 +0 +.* \/usr$/m);
    const ls = await runCli(['ls', '-l', via('dev'), '/usr/bin', '--store', s]);
    assert.match(
      ls.out,
      /^-rwxr-xr-x +2 +0\/0 +3800 +2024-01-01 00:00 +L1 +perl5\.36\.0 => \/usr\/bin\/perl$/m,
    );
    // JSON keeps the hardlink's type and linkname, with the content's size and link count.
    const json = JSON.parse(
      (await runCli(['peek', via('dev'), '--layer', '1', '--json', '--store', s])).out,
    ) as PeekJson;
    const link = json.layers[0]!.entries.find((e) => e.path === '/usr/bin/perl5.36.0');
    assert.deepEqual(link, {
      path: '/usr/bin/perl5.36.0',
      type: 'hardlink',
      contentType: 'file',
      size: 3800,
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: Date.parse('2024-01-01T00:00:00Z') / 1000,
      linkname: '/usr/bin/perl',
      nlink: 2,
      layer: 1,
    });
    const stat = JSON.parse(
      (await runCli(['stat', via('dev'), '/usr/bin/perl5.36.0', '--json', '--store', s])).out,
    );
    assert.equal(stat.size, link!.size);
    assert.equal(stat.nlink, link!.nlink);
  });

  it('human output: a header per layer, then ls -l lines; --layer picks one layer', async () => {
    const img = images.gzip!;
    const r = await runCli(['peek', via('gzip'), '--layer', '2', '--store', store()]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.out.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      new RegExp(
        `^layer 2 ${img.layers[2]!.digest} \\(\\d+\\.\\d MiB\\) fetched 256\\.0 KiB of \\d+\\.\\d MiB — incomplete \\(\\d+ entries\\)$`,
      ),
    );
    assert.match(
      lines[3]!,
      /^-rw-r--r--\s+1\s+0\/0\s+15\s+2024-01-01 00:00\s+L2\s+\/big\/start\/config\.json$/,
    );
    assert.match(lines.at(-1)!, /\(partial: content past the window\)$/);
    assert.equal(lines.filter((l) => l.startsWith('layer ')).length, 1);
    const bottom = await runCli(['peek', via('gzip'), '--layer', '0', '--store', store()]);
    assert.match(
      bottom.out,
      /^layer 0 sha256:[0-9a-f]{64} \(\d+ B\) fetched \d+ B of \d+ B — complete \(2 entries\)\n/,
    );
  });

  it('rejects bad --bytes and --layer values clearly', async () => {
    const junk = await runCli(['peek', via('gzip'), '--bytes', '12Q', '--store', store()]);
    assert.equal(junk.code, 2);
    assert.match(junk.stderr, /invalid size "12Q"/);
    const layer = await runCli(['peek', via('gzip'), '--layer', '7', '--store', store()]);
    assert.notEqual(layer.code, 0);
    assert.match(layer.stderr, /layer 7 does not exist: the image has 3 layer/);
    const word = await runCli(['peek', via('gzip'), '--layer', 'top', '--store', store()]);
    assert.match(word.stderr, /--layer expects a layer number/);
  });

  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`${compression}: growing through the library reaches a complete listing equal to ls -R`, async () => {
      const img = images[compression]!;
      const top = img.layers.at(-1)!;
      const client = new RegistryClient();
      proxy.resetLog();
      const entries: PeekEntry[] = [];
      let summary: PeekSummary | undefined;
      try {
        const events = peekLayer(via(compression), top, { client, layer: img.layers.length - 1 });
        for await (const ev of events) {
          if (ev.kind === 'entry') entries.push(ev.entry);
          else summary = ev.summary;
        }
      } finally {
        await client.close();
      }
      // Ranged requests that continue one another, never refetching.
      const ranges = blobGets(top.digest).map((e) => e.range!);
      assert.equal(summary?.complete, true);
      assert.equal(summary.compression, compression);
      assert.equal(summary.bytesFetched, top.size);
      assert.equal(entries.filter((e) => e.partial).length, 0);
      const ls = await runCli(['ls', via(compression), '/big', '-R', '--json', '--store', store()]);
      assert.equal(ls.code, 0, ls.stderr);
      const listed = (JSON.parse(ls.out) as PeekEntry[]).map((e) => [e.path, e.type, e.size]);
      const peeked = entries.filter((e) => e.path !== '/big').map((e) => [e.path, e.type, e.size]);
      const byPath = (a: (string | number)[], b: (string | number)[]) =>
        String(a[0]).localeCompare(String(b[0]));
      assert.deepEqual(peeked.sort(byPath), listed.sort(byPath));
      assert.equal(ranges[0], 'bytes=0-262143');
      let next = 0;
      for (const range of ranges) {
        const [a, b] = range.slice(6).split('-').map(Number) as [number, number];
        assert.equal(a, next);
        next = b + 1;
      }
      assert.ok(ranges.length <= 9, `${ranges.length} range requests`);
    });
  }

  for (const compression of ['zstd', 'none'] as const) {
    it(`${compression}: peek 256K finds the start files and is incomplete`, async () => {
      const r = await runCli([
        'peek',
        via(compression),
        '--layer',
        '1',
        '--json',
        '--store',
        store(),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const layer = (JSON.parse(r.out) as PeekJson).layers[0]!;
      assert.equal(layer.complete, false);
      assert.ok(layer.bytesFetched <= 256 * KiB);
      assert.ok(layer.entries.some((e) => e.path === '/big/start/readme.txt'));
      assert.ok(!layer.entries.some((e) => e.path === '/big/end.txt'));
      assert.equal(layer.entries.at(-1)!.partial, true);
    });
  }

  it('a registry that ignores Range: detected, only the window read, the connection closed', async () => {
    const img = images.gzip!;
    const big = img.layers[2]!;
    const ignoring = await rangeIgnoringProxy(reg.url);
    try {
      const r = await runCli([
        'peek',
        `${ignoring.host}/peek/app:gzip`,
        '--json',
        '--stats',
        '--store',
        store(),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.out) as PeekJson;
      const layer = out.layers[2]!;
      assert.equal(layer.rangeIgnored, true);
      assert.equal(layer.complete, false);
      assert.equal(layer.bytesFetched, 256 * KiB);
      assert.equal(out.layers[0]!.rangeIgnored, true);
      assert.equal(out.layers[0]!.complete, true);
      const get = ignoring.log.find((e) => e.url.endsWith(big.digest))!;
      assert.equal(get.range, 'bytes=0-262143');
      assert.equal(get.status, 200);
      assert.ok(get.bytesSent < big.size / 2, `proxy sent ${get.bytesSent} of ${big.size}`);
      const human = await runCli([
        'peek',
        `${ignoring.host}/peek/app:gzip`,
        '--layer',
        '2',
        '--store',
        store(),
      ]);
      assert.match(human.out.split('\n')[0]!, /the registry ignored Range/);
    } finally {
      await ignoring.close();
    }
  });

  it('peek of a stored image reads the blob files and fetches nothing', async () => {
    const s = store();
    const pull = await runCli(['pull', `${reg.host}/peek/app:gzip`, '--store', s]);
    assert.equal(pull.code, 0, pull.stderr);
    const fromRegistry = JSON.parse(
      (await runCli(['peek', via('gzip'), '--json', '--store', store()])).out,
    ) as PeekJson;
    const r = await runCli(['peek', `${reg.host}/peek/app:gzip`, '--json', '--store', s]);
    assert.equal(r.code, 0, r.stderr);
    const local = JSON.parse(r.out) as PeekJson;
    assert.equal(local.bytesFetched, 0);
    assert.deepEqual(
      local.layers.map((l) => [l.complete, l.entries]),
      fromRegistry.layers.map((l) => [l.complete, l.entries]),
    );
  });

  it('ls -R streams each layer once and writes no blob to disk; --stats agrees with the proxy', async () => {
    const img = images.gzip!;
    const s = store();
    proxy.resetLog();
    const r = await runCli(['ls', via('gzip'), '-R', '--stats', '--store', s]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.out.includes('/big/end.txt\n') && r.out.includes('/small1/id.txt\n'));
    for (const layer of img.layers) {
      const gets = blobGets(layer.digest);
      assert.equal(gets.length, 1, `one GET of ${layer.digest}`);
      assert.equal(gets[0]!.bytesSent, layer.size);
      assert.equal(gets[0]!.range, undefined);
    }
    const blobs = await readdir(join(s, 'blobs', 'sha256')).catch(() => [] as string[]);
    assert.deepEqual(blobs, [], 'no blob was stored');
    const stats = /^stats: requests=(\d+) bytesFetched=(\d+) seconds=[\d.]+$/m.exec(r.stderr);
    assert.ok(stats, r.stderr);
    assert.equal(Number(stats[1]), proxy.log.length);
    assert.equal(
      Number(stats[2]),
      proxy.log.reduce((sum, e) => sum + e.bytesSent, 0),
    );
  });

  it('cat of a file at the start of a 24 MiB top layer reads that layer once and no other; --stats reports the bytes', async () => {
    const img = images.gzip!;
    const big = img.layers[2]!;
    proxy.resetLog();
    const r = await runCli([
      'cat',
      via('gzip'),
      '/big/start/readme.txt',
      '--stats',
      '--store',
      store(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'read me first\n');
    // Read to its end: a later entry of the layer could still replace the file (the
    // layer rules decide after a whole layer); the file's bytes were kept on the way.
    const gets = blobGets(big.digest);
    assert.equal(gets.length, 1);
    assert.equal(gets[0]!.bytesSent, big.size);
    assert.equal(
      blobGets(img.layers[0]!.digest).length + blobGets(img.layers[1]!.digest).length,
      0,
    );
    const stats = /^stats: requests=(\d+) bytesFetched=(\d+) seconds=[\d.]+$/m.exec(r.stderr);
    assert.ok(stats, r.stderr);
    const sent = proxy.log.reduce((sum, e) => sum + e.bytesSent, 0);
    assert.equal(Number(stats[1]), proxy.log.length);
    // The client counts what it received: at most what the proxy sent.
    assert.ok(Number(stats[2]) <= sent, `${stats[2]} > ${sent}`);
    assert.ok(Number(stats[2]) >= big.size);
    console.log(
      `# cat of a start file: proxy sent ${gets[0]!.bytesSent} of ${big.size}; client counted ${stats[2]}`,
    );
  });
});
