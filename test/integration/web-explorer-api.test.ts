import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LayerIndexCache } from '../../src/image/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import type {
  DiffResponse,
  DirResponse,
  ErrorResponse,
  FileDiffResponse,
  ImageResponse,
  LayersResponse,
  SearchResponse,
  StatResponse,
  StatsResponse,
  StoreResponse,
  TagsResponse,
} from '../../src/ui/web/api-types.js';
import { startWebExplorer } from '../../src/ui/web/web-server.js';
import { assertIdleConnectionKept } from '../harness/idle-connection.js';
import { stopChild, tempDir } from '../harness/index.js';
import { CLI_PATH, runCli } from '../harness/run-cli.js';
import {
  type ExplorerFixture,
  SERVER_V1,
  SERVER_V2,
  startExplorerFixture,
} from './web-explorer-fixture.js';

const BIG = 3 * 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('web explorer API (ocipeek ui) against docker-registry', { timeout: 600_000 }, () => {
  let f: ExplorerFixture;
  let v1: string;
  const getJson = async <T>(path: string, status = 200): Promise<T> => {
    const r = await f.get(path);
    const body = (await r.json()) as T;
    assert.equal(r.status, status, `${path}: ${JSON.stringify(body)}`);
    return body;
  };
  const names = (d: DirResponse) => d.entries.map((e) => e.name);

  before(async () => {
    f = await startExplorerFixture(BIG);
    v1 = `${f.repo}:v1`;
  });
  after(() => f?.close());

  it('keeps an idle kept-alive connection open as the registry server does', async () => {
    await assertIdleConnectionKept(f.explorer.url, '/');
  });

  it('lists the catalog and the tags with their digests and dates', async () => {
    const cat = await getJson<{ repositories: string[] }>(`/api/catalog/${f.reg.host}`);
    assert.deepEqual(cat.repositories, ['ui/app']);
    const tags = await getJson<TagsResponse>(`/api/tags/${f.repo}`);
    // The seek index of `indexed` is listed under the referrers fallback tag: not an image
    // of its own, it is set apart, said to be about `indexed`.
    const indexed = await getJson<ImageResponse>(`/api/image/${f.repo}:indexed`);
    const referrersTag = `sha256-${indexed.digest.slice(7)}`;
    assert.deepEqual(tags.tags.map((t) => t.tag).sort(), ['estargz', 'indexed', 'v1', 'v2']);
    assert.deepEqual(tags.digestTags, [
      { tag: referrersTag, subject: indexed.digest, kind: 'referrers', subjectTags: ['indexed'] },
    ]);
    assert.equal(tags.next, undefined, 'one page holds them all');
    const tagsPage = await (await f.get(`/repo/${f.repo}`)).text();
    assert.match(tagsPage, />indexed<\/a> <span class="meta">\(referrers\)<\/span>/);
    assert.ok(tagsPage.includes('<summary>1 tag(s) named after'), tagsPage);
    // Pages of two: docker-registry 2.8 ignores n and last, so the cut is the explorer's.
    const everyName = (p: TagsResponse) =>
      [...p.tags.map((t) => t.tag), ...p.digestTags.map((d) => d.tag)].sort();
    const pages: string[][] = [];
    const nexts: (string | undefined)[] = [];
    let last: string | undefined;
    do {
      const q = last === undefined ? '' : `&last=${encodeURIComponent(last)}`;
      const page = await getJson<TagsResponse>(`/api/tags/${f.repo}?n=2${q}`);
      assert.equal(page.last, last);
      pages.push(everyName(page));
      last = page.next;
      nexts.push(last);
    } while (last !== undefined && pages.length < 10);
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(pages.flat().sort(), everyName(tags));
    const paged = await (await f.get(`/repo/${f.repo}?n=2&last=${nexts[0]}`)).text();
    assert.ok(paged.includes(`?n=2&last=${nexts[1]}" rel="next">Next page</a>`), paged);
    assert.equal(
      (await getJson<ErrorResponse>(`/api/tags/${f.repo}?n=x`, 400)).error.code,
      'ERR_INVALID_ARGUMENT',
    );
    const t1 = tags.tags.find((t) => t.tag === 'v1')!;
    assert.equal(t1.digest, f.v1.descriptor.digest);
    assert.equal(t1.size, f.v1.manifestBytes.length);
    assert.equal(t1.created, f.v1.config.created);
    assert.match(t1.created ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  it('gives the overview: labels, layers, history paired with layers', async () => {
    const img = await getJson<ImageResponse>(`/api/image/${v1}`);
    assert.equal(img.ref, v1);
    assert.equal(img.manifestDigest, f.v1.descriptor.digest);
    assert.equal(img.labels['org.example.role'], 'fixture');
    assert.equal(img.layers.length, 3);
    assert.equal(img.lazy, false);
    assert.deepEqual(
      img.steps.map((s) => [s.layerIndex, s.layerDigest]),
      f.v1.manifest.layers.map((l, i) => [i, l.digest]),
    );
  });

  it('lists folders one at a time: whiteouts gone, opaque folders hide the lower layer', async () => {
    const root = await getJson<DirResponse>(`/api/dir/${v1}`);
    assert.deepEqual(names(root), ['app', 'data', 'etc', 'lib', 'usr']);
    const app = root.entries.find((e) => e.name === 'app')!;
    assert.equal(app.api, `/api/dir/${v1}/app`);
    assert.equal(app.url, `/image/${v1}/app`);
    assert.deepEqual(names(await getJson<DirResponse>(`/api/dir/${v1}/etc`)), []);
    const ramda = await getJson<DirResponse>(app.api!.replace(/app$/, 'app/node_modules/ramda'));
    assert.deepEqual(names(ramda), ['index.js']);
    // Through the base's lib -> usr/lib symlink.
    const lib = await getJson<DirResponse>(`/api/dir/${v1}/lib`);
    assert.equal(lib.path, '/usr/lib');
    assert.deepEqual(names(lib), ['added.so', 'libc.so']);
    const gone = await getJson<ErrorResponse>(`/api/stat/${v1}/etc/motd`, 404);
    assert.equal(gone.error.code, 'ERR_PATH_NOT_FOUND');
    await getJson<ErrorResponse>(`/api/stat/${v1}/app/node_modules/ramda/old.js`, 404);
  });

  it('says what links are and reads files through them', async () => {
    const sym = await getJson<StatResponse>(`/api/stat/${v1}/usr/local/bin/app`);
    assert.equal(sym.entry.type, 'symlink');
    assert.equal(sym.entry.linkname, '/app/VERSION');
    assert.equal(sym.target?.path, '/app/VERSION');
    const hard = await getJson<StatResponse>(`/api/stat/${v1}/app/VERSION.link`);
    assert.equal(hard.entry.type, 'hardlink');
    assert.equal(hard.entry.contentType, 'file');
    assert.equal(hard.entry.nlink, 2);
    for (const p of ['app/VERSION.link', 'usr/local/bin/app', 'app/VERSION']) {
      const r = await f.get(`/raw/${v1}/${p}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-length'), '6');
      assert.equal(await r.text(), '1.2.3\n');
    }
    const png = await f.get(`/raw/${v1}/app/logo.png?inline=1`);
    assert.equal(png.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await png.arrayBuffer()), f.png);
  });

  it('streams a big file whole to a download, with its length', async () => {
    const r = await f.get(`/raw/${v1}/data/big.bin`);
    assert.equal(r.headers.get('content-length'), String(BIG));
    assert.match(
      r.headers.get('content-disposition') ?? '',
      /^attachment; filename\*=UTF-8''big\.bin$/,
    );
    assert.equal(sha(Buffer.from(await r.arrayBuffer())), sha(f.big));
    const before = (await getJson<StatsResponse>('/api/stats')).bytesFetched;
    const head = await fetch(`${f.explorer.url}/raw/${v1}/data/big.bin`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(BIG));
    assert.equal((await getJson<StatsResponse>('/api/stats')).bytesFetched, before);
  });

  it('previews the start of a file of a lazy image, fetching its first chunks only', async () => {
    const lazy = `${f.repo}:estargz`;
    const img = await getJson<ImageResponse>(`/api/image/${lazy}`);
    assert.equal(img.lazy, true);
    await getJson<DirResponse>(`/api/dir/${lazy}/data`); // TOCs read
    const before = await getJson<StatsResponse>('/api/stats');
    const page = await f.get(`/image/${lazy}/data/big.bin`);
    assert.equal(page.status, 200);
    const text = await page.text();
    assert.match(text, /Hex dump of \/data\/big\.bin/);
    assert.match(
      text,
      new RegExp(f.big.subarray(0, 4).toString('hex').replace(/(..)/g, '$1 ').trim()),
    );
    const after = await getJson<StatsResponse>('/api/stats');
    const spent = after.bytesFetched - before.bytesFetched;
    assert.ok(spent > 0 && spent < BIG / 4, `the preview fetched ${spent} of ${BIG} bytes`);
  });

  it('reports layers exactly as ocipeek layers --json does', async () => {
    const api = await getJson<LayersResponse>(`/api/layers/${v1}`);
    const cli = await runCli(['layers', v1, '--json', '--store', '/nonexistent/ocipeek-store']);
    assert.equal(cli.code, 0, cli.stderr);
    const { ref, ...report } = api;
    assert.equal(ref, v1);
    assert.deepEqual(report, JSON.parse(cli.out));
    assert.equal(api.layers[2]!.filesDeleted, 2); // /etc/motd and ramda/old.js
    assert.ok(api.wastedBytes > 0);
  });

  it('reports the layers of an image read through its seek index as ocipeek layers does, tar sizes included', async () => {
    const indexed = `${f.repo}:indexed`;
    const api = await getJson<LayersResponse>(`/api/layers/${indexed}`);
    const store = await tempDir('explorer-layers');
    try {
      const cli = await runCli(['layers', indexed, '--json', '--store', store.path, '--verbose']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stderr, /source: seek index/);
      const { ref, ...report } = api;
      assert.equal(ref, indexed);
      assert.deepEqual(report, JSON.parse(cli.out));
      assert.ok(
        api.layers.every((l) => typeof l.uncompressedSize === 'number' && l.uncompressedSize > 0),
        JSON.stringify(api.layers),
      );
    } finally {
      await store.remove();
    }
  });

  it('finds names and compares two tags', async () => {
    const s = await getJson<SearchResponse>(`/api/search/${v1}?q=VERSION`);
    assert.deepEqual(
      s.matches.map((m) => m.path),
      ['/app/VERSION', '/app/VERSION.link'],
    );
    const d = await getJson<DiffResponse>(
      `/api/diff?a=${encodeURIComponent(v1)}&b=${encodeURIComponent(`${f.repo}:v2`)}`,
    );
    assert.deepEqual(
      d.added.map((e) => e.path),
      ['/app/NEW.txt'],
    );
    assert.deepEqual(
      d.removed.map((e) => e.path),
      ['/app/logo.png'],
    );
    // Contents too: a same-size change is found by reading the two top layers; the base
    // layer (big.bin), the same blob in both, is not read again.
    const changed = Object.fromEntries(d.changed.map((c) => [c.path, c.fields]));
    assert.deepEqual(changed['/app/config.json'], ['content']);
    assert.deepEqual(changed['/app/server.js'], ['size', 'content']);
    assert.equal(changed['/data/big.bin'], undefined);
    assert.deepEqual(d.uncompared, []);
    const store = await tempDir('diff-store');
    const cli = await runCli(['diff', v1, `${f.repo}:v2`, '--json', '--store', store.path]);
    await store.remove();
    assert.equal(cli.code, 1, cli.stderr);
    const fromCli = JSON.parse(cli.out) as { changed: { path: string; fields: string[] }[] };
    assert.deepEqual(
      fromCli.changed.map((c) => [c.path, c.fields]),
      d.changed.map((c) => [c.path, c.fields]),
      'ocipeek diff says the same',
    );
  });

  it('compares contents by the cheapest means each side allows', async (t) => {
    const ask = (a: string, b: string) =>
      getJson<DiffResponse>(`/api/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    // Warm both views, then count what the diff itself fetches.
    await ask(`${f.repo}:estargz`, `${f.repo}:estargz`);
    await ask(`${f.repo}:v2`, `${f.repo}:v2`);
    let before = f.client.stats.bytesFetched;
    const same = await ask(`${f.repo}:estargz`, `${f.repo}:estargz`);
    assert.deepEqual([same.added, same.removed, same.changed, same.uncompared], [[], [], [], []]);
    assert.equal(f.client.stats.bytesFetched, before, 'one image against itself: nothing read');
    // eStargz against plain gzip: every blob differs. The TOC's digests stand for the
    // eStargz side; the plain side's layers are hashed (the 3 MiB one too, within budget).
    before = f.client.stats.bytesFetched;
    const d = await ask(`${f.repo}:estargz`, `${f.repo}:v2`);
    assert.deepEqual(
      d.changed.map((c) => [c.path, c.fields]),
      [
        ['/app/config.json', ['content']],
        ['/app/server.js', ['size', 'content']],
      ],
    );
    assert.deepEqual(d.uncompared, []);
    const fetched = f.client.stats.bytesFetched - before;
    t.diagnostic(`eStargz vs gzip diff: ${fetched} bytes fetched to compare contents`);
  });

  it('compares a file between two tags as a text diff', async () => {
    const q = (path: string) =>
      `/api/file-diff?a=${encodeURIComponent(v1)}&b=${encodeURIComponent(`${f.repo}:v2`)}&path=${encodeURIComponent(path)}`;
    const server = await getJson<FileDiffResponse>(q('/app/server.js'));
    assert.equal(server.result, 'text');
    assert.deepEqual(server.before, { size: SERVER_V1.length, kind: 'text', truncated: false });
    assert.deepEqual(server.after, { size: SERVER_V2.length, kind: 'text', truncated: false });
    assert.deepEqual(server.hunks, [
      {
        oldStart: 1,
        oldLines: 3,
        newStart: 1,
        newLines: 4,
        lines: [
          ' const http = require("node:http");',
          ' // Answers <b>every</b> request.',
          '-http.createServer((q, r) => r.end("ok")).listen(8080);',
          '+http.createServer((q, r) => r.end("fine")).listen(8080);',
          '+console.log("listening");',
        ],
      },
    ]);
    // The same file under two names (a hardlink) is compared by its content.
    const same = await getJson<FileDiffResponse>(q('/app/VERSION.link'));
    assert.equal(same.result, 'identical');
    assert.deepEqual(same.hunks, []);
    const added = await getJson<FileDiffResponse>(q('/app/NEW.txt'));
    assert.equal(added.before, null);
    assert.deepEqual(added.hunks[0]?.lines, ['+new in v2']);
    const png = await getJson<FileDiffResponse>(q('/app/logo.png'));
    assert.equal(png.result, 'binary');
    assert.equal(png.before?.kind, 'binary');
    assert.equal(png.after, null);
    assert.equal(
      (await getJson<ErrorResponse>(q('/app'), 400)).error.message,
      '/app: is a directory',
    );
    assert.equal((await getJson<ErrorResponse>(q('/nope'), 404)).error.code, 'ERR_PATH_NOT_FOUND');
    // The page: a line per change, the markup of the file as text.
    const page = await (await f.get(q('/app/server.js').replace('/api/file-diff', '/diff'))).text();
    assert.ok(
      page.includes(
        '<span class="del">-http.createServer((q, r) =&gt; r.end(&quot;ok&quot;)).listen(8080);</span>',
      ),
      page,
    );
    assert.ok(page.includes('<span class="add">+console.log(&quot;listening&quot;);</span>'));
    assert.ok(page.includes(' // Answers &lt;b&gt;every&lt;/b&gt; request.'));
  });

  it('only reads, and answers bad input with a clear error', async () => {
    const post = await fetch(`${f.explorer.url}/api/stats`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
    const bad = await getJson<ErrorResponse>('/api/image/UPPER/Case:x', 400);
    assert.equal(bad.error.code, 'ERR_INVALID_REFERENCE');
    assert.deepEqual(await getJson<StoreResponse>('/api/store'), { path: null, images: [] });
    const none = await f.get('/nowhere');
    assert.equal(none.status, 404);
    assert.match(await none.text(), /no page at \/nowhere/);
  });

  it('reads a stored image from the store: a HEAD for the tag, no layer bytes', async () => {
    const dir = await tempDir('web-explorer-store');
    const client = new RegistryClient();
    try {
      const store = await Store.open(join(dir.path, 'store'), { create: true });
      await pullImage(v1, { client, store });
      const fetchedByPull = client.stats.bytesFetched;
      const cache = new LayerIndexCache(join(dir.path, 'store', '.ocipeek', 'fs-index'));
      const explorer = await startWebExplorer({ client, store, cache });
      try {
        const img = (await (
          await fetch(`${explorer.url}/api/image/${v1}`)
        ).json()) as ImageResponse;
        assert.equal(img.location, 'store');
        const ramda = await fetch(`${explorer.url}/api/dir/${v1}/app/node_modules/ramda`);
        assert.deepEqual(names((await ramda.json()) as DirResponse), ['index.js']);
        const file = await fetch(`${explorer.url}/raw/${v1}/data/big.bin`);
        assert.equal(sha(Buffer.from(await file.arrayBuffer())), sha(f.big));
        // The store's contents, as `ocipeek images` lists them.
        const stored = (await (await fetch(`${explorer.url}/api/store`)).json()) as StoreResponse;
        assert.equal(stored.path, store.dir);
        assert.deepEqual(stored.images, await store.listImages());
        assert.deepEqual(
          stored.images.map((i) => [i.reference, i.digest, i.complete]),
          [[v1, f.v1.descriptor.digest, true]],
        );
        const storePage = await (await fetch(`${explorer.url}/store`)).text();
        assert.ok(storePage.includes(`<a href="/image/${v1}">${v1}</a>`), storePage);
      } finally {
        await explorer.close();
      }
      assert.equal(client.stats.bytesFetched, fetchedByPull, 'nothing fetched beyond the pull');
      // What the explorer wrote is the listing cache, inside the store.
      assert.ok((await readdir(cache.dir)).length > 0);
      assert.deepEqual(await readdir(dir.path), ['store']);
    } finally {
      await client.close();
      await dir.remove();
    }
  });

  it('listens on loopback unless told otherwise', async () => {
    assert.equal(f.explorer.loopback, true);
    assert.match(f.explorer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(startWebExplorer({ client: f.client, listen: '0.0.0.0:0' }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /not a loopback address.*--allow-remote/,
    });
    // A DNS-rebinding page reaches the port under its own name: refused.
    const port = Number(new URL(f.explorer.url).port);
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/stats', headers: { host } });
        req.once('response', (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.once('error', reject);
        req.end();
      });
    assert.equal(await status('evil.example:80'), 403);
    assert.equal(await status(`localhost:${port}`), 200);
    assert.equal(await status(`[::1]:${port}`), 200);
    const cli = await runCli(['ui', '--listen', '0.0.0.0:0']);
    assert.notEqual(cli.code, 0);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  });

  it('ocipeek ui prints its address, serves the image, and ends on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'ui', v1, '--store', '/nonexistent/ocipeek-store'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ocipeek ui: (http:\/\/127\.0\.0\.1:\d+)(\S*)/.exec(out);
          if (m) resolve(`${m[1]}${m[2]}`);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before serving: ${out}`)));
      });
      assert.ok(url.endsWith(`/image/${v1}`), url);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /org\.example\.role/);
      // highlight.js is found from the bundle, outside it.
      const code = await (await fetch(`${url}/app/server.js`)).text();
      assert.match(
        code,
        /<code class="hljs" data-language="javascript"><span class="hljs-keyword">const<\/span>/,
      );
      assert.deepEqual(await stopChild(child, 'SIGINT'), { code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
