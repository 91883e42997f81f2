import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { RegistryClient } from '../../src/registry/index.js';
import type { LayersResponse, StatsResponse } from '../../src/ui/web/api-types.js';
import { startWebExplorer } from '../../src/ui/web/web-server.js';
import { LayoutWriter, pushLayout, randomImage, tempDir } from '../harness/index.js';
import { type ExplorerFixture, SERVER_V1, startExplorerFixture } from './web-explorer-fixture.js';

/**
 * Screenshots of the main views go to docs/screenshots/ when OCIPEEK_UPDATE_SCREENSHOTS is
 * set (the README shows them); an ordinary run writes nothing into the checkout.
 */
const SHOTS = process.env.OCIPEEK_UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : undefined;
/** Generous: the machine may be loaded many times over. */
const STEP_TIMEOUT = 120_000;

describe('web explorer in Chromium (playwright-core)', { timeout: 900_000 }, () => {
  let f: ExplorerFixture;
  let browser: Browser;
  let page: Page;
  let v1: string;
  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
  };
  const stats = async () => (await (await f.get('/api/stats')).json()) as StatsResponse;

  before(async () => {
    f = await startExplorerFixture(512 * 1024);
    v1 = `${f.repo}:v1`;
    if (SHOTS) await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.setDefaultTimeout(STEP_TIMEOUT);
  });
  after(async () => {
    await browser?.close();
    await f?.close();
  });

  it('opens an image from the start page and expands folders with the keyboard', async () => {
    await page.goto(`${f.explorer.url}/`);
    await page.getByLabel('Image reference').fill(v1);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.waitForURL(`${f.explorer.url}/image/${v1}`);
    assert.equal(await page.locator('h1').textContent(), v1);
    assert.match((await page.locator('main').textContent()) ?? '', /org\.example\.role/);
    // Folders load when opened: Tab to a summary, Enter opens it.
    const app = page.locator('summary', { hasText: /^app\// });
    await app.focus();
    await page.keyboard.press('Enter');
    const appDir = page.locator('details.dir[data-api$="/app"]');
    await appDir.locator('a', { hasText: /^VERSION$/ }).waitFor();
    const nm = appDir.locator('summary', { hasText: /^node_modules\// });
    await nm.focus();
    await page.keyboard.press('Enter');
    const ramda = appDir.locator('summary', { hasText: /^ramda\// });
    await ramda.focus();
    await page.keyboard.press('Space');
    const ramdaDir = appDir.locator('details.dir[data-api$="/ramda"]');
    await ramdaDir.locator('a', { hasText: 'index.js' }).waitFor();
    // The opaque directory: the lower layer's old.js is not there.
    assert.deepEqual(await ramdaDir.locator(':scope > ul > li > a').allTextContents(), [
      'index.js',
    ]);
    // The whiteout: /etc is empty.
    await page.locator('summary', { hasText: /^etc\// }).click();
    await page.locator('details.dir[data-api$="/etc"] li', { hasText: '(empty)' }).waitFor();
    await shot('overview');
  });

  it('keeps the byte counter equal to what the explorer fetched', async () => {
    const fetched = (await stats()).bytesFetched;
    assert.ok(fetched > 0);
    // Evaluated in the page (a string: the tests are type-checked without the DOM's types).
    await page.waitForFunction(`document.getElementById('bytes')?.dataset.bytes === '${fetched}'`);
    assert.match(
      (await page.locator('#bytes').textContent()) ?? '',
      /^Fetched from registries: [\d.]+ (B|KiB|MiB) in \d+ requests$/,
    );
  });

  it('lists the tree of an image with a seek index for a small share of its bytes', async (t) => {
    const indexed = `${f.repo}:indexed`;
    const before = (await stats()).bytesFetched;
    await page.goto(`${f.explorer.url}/image/${indexed}`);
    await page.locator('summary', { hasText: /^data\// }).click();
    const data = page.locator('details.dir[data-api$="/data"]');
    await data.locator('a', { hasText: /^big\.bin$/ }).waitFor();
    assert.match((await data.textContent()) ?? '', /6\.00 MiB/);
    await page.locator('summary', { hasText: /^usr\// }).click();
    await page.locator('details.dir[data-api$="/usr"] summary', { hasText: /^share\// }).waitFor();
    const spent = (await stats()).bytesFetched - before;
    // The page's counter shows what was fetched, as the folders opened.
    await page.waitForFunction(
      `document.getElementById('bytes')?.dataset.bytes === '${before + spent}'`,
    );
    t.diagnostic(`tree through the seek index: ${spent} of ${f.indexedLayerBytes} layer bytes`);
    assert.ok(spent < f.indexedLayerBytes / 20, `${spent} bytes of ${f.indexedLayerBytes}`);
    // A file is read through the index too: a range of its layer, not the layer.
    const r = await f.get(`/raw/${indexed}/app/VERSION`);
    assert.equal(await r.text(), '1.2.3\n');
    assert.ok((await stats()).bytesFetched - before < f.indexedLayerBytes / 10);
  });

  it('indexes a plain gzip image as it lists it, then reads files by range (kept for later)', async (t) => {
    // No seek index published: the explorer streams the layers once to list them and
    // builds one on the way, in its cache (inside the store), as the CLI's `ocipeek ui` does.
    const dir = await tempDir('web-explorer-plain');
    const after = Buffer.from('after the big file\n');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    const plain = await randomImage(w, {
      refName: 'v1',
      layerEntries: [
        [
          { path: 'data/', type: 'dir' },
          { path: 'data/big.bin', content: randomBytes(6 * 1024 * 1024) },
          { path: 'data/z-after.txt', content: after },
        ],
        [{ path: 'app/VERSION', content: '1.2.3\n' }],
      ],
    });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'v1', f.reg, 'ui/plain:v1');
    const ref = `${f.reg.host}/ui/plain:v1`;
    const layerBytes = plain.layers.reduce((n, l) => n + l.size, 0);
    const cacheDir = join(dir.path, 'store', '.ocipeek', 'seek-index');
    const open = async () => {
      const client = new RegistryClient();
      const explorer = await startWebExplorer({
        client,
        seekIndexCache: cacheDir,
        buildSeekIndex: true,
      });
      const fetched = () => client.stats.bytesFetched;
      return { client, explorer, fetched };
    };
    const first = await open();
    const second = await open();
    try {
      await page.goto(`${first.explorer.url}/image/${ref}`);
      await page.locator('summary', { hasText: /^data\// }).click();
      const data = page.locator('details.dir[data-api$="/data"]');
      await data.locator('a', { hasText: /^big\.bin$/ }).waitFor();
      assert.match((await data.textContent()) ?? '', /6\.00 MiB/);
      const listed = first.fetched();
      t.diagnostic(`tree of the plain image: ${listed} bytes fetched, its layers ${layerBytes}`);
      assert.ok(listed >= layerBytes, 'every layer is read once to list it');
      assert.ok(
        listed < layerBytes + 64 * 1024,
        `read once, not twice: ${listed} of ${layerBytes}`,
      );
      await page.waitForFunction(`document.getElementById('bytes')?.dataset.bytes === '${listed}'`);
      // A file behind the 6 MiB one: a range from the checkpoint before it, not the layer's start.
      await page.goto(`${first.explorer.url}/image/${ref}/data/z-after.txt`);
      assert.match((await page.locator('main').textContent()) ?? '', /after the big file/);
      const read = first.fetched() - listed;
      t.diagnostic(`a file at the layer's end: ${read} bytes`);
      assert.ok(read < layerBytes / 10, `${read} bytes of ${layerBytes}`);
      await page.waitForFunction(
        `document.getElementById('bytes')?.dataset.bytes === '${first.fetched()}'`,
      );
      // Another explorer on the same store finds the index there: no layer read whole.
      const r = await fetch(`${second.explorer.url}/raw/${ref}/data/z-after.txt`);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), after);
      assert.equal(
        await (await fetch(`${second.explorer.url}/raw/${ref}/app/VERSION`)).text(),
        '1.2.3\n',
      );
      t.diagnostic(`the same from the kept index: ${second.fetched()} bytes`);
      assert.ok(second.fetched() < layerBytes / 10, `${second.fetched()} bytes of ${layerBytes}`);
    } finally {
      for (const e of [first, second]) {
        await e.explorer.close();
        await e.client.close();
      }
      await dir.remove();
    }
  });

  it('shows a whited-out path as absent', async () => {
    const r = await page.goto(`${f.explorer.url}/image/${v1}/etc/motd`);
    assert.equal(r?.status(), 404);
    assert.match((await page.getByRole('alert').textContent()) ?? '', /\/etc\/motd: no such file/);
  });

  it('follows a symlink and a hardlink to the file and reads it', async () => {
    await page.goto(`${f.explorer.url}/image/${v1}/usr/local/bin/app`);
    assert.match(
      (await page.locator('main').textContent()) ?? '',
      /Symbolic link to \/app\/VERSION/,
    );
    await page.getByRole('link', { name: '/app/VERSION' }).click();
    await page.waitForURL(`${f.explorer.url}/image/${v1}/app/VERSION`);
    assert.equal(await page.getByLabel('Content of /app/VERSION').textContent(), '1.2.3\n');

    await page.goto(`${f.explorer.url}/image/${v1}/app/VERSION.link`);
    const main = (await page.locator('main').textContent()) ?? '';
    assert.match(main, /Hard link: another name of \/app\/VERSION/);
    assert.match(main, /hardlink \(of a file\)/);
    assert.equal(await page.getByLabel('Content of /app/VERSION.link').textContent(), '1.2.3\n');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download' }).click();
    assert.equal((await download).suggestedFilename(), 'VERSION.link');
  });

  it('highlights source files by name and by #! line', async () => {
    await page.goto(`${f.explorer.url}/image/${v1}/app/server.js`);
    const code = page.getByLabel('Content of /app/server.js').locator('code');
    assert.equal(await code.getAttribute('data-language'), 'javascript');
    assert.equal(await code.textContent(), SERVER_V1);
    assert.deepEqual(await code.locator('.hljs-keyword').allTextContents(), ['const']);
    assert.equal(
      await code.locator('.hljs-comment').textContent(),
      '// Answers <b>every</b> request.',
    );
    // The file's markup stays text: no element came of it.
    assert.equal(await code.locator('b').count(), 0);
    // Coloured: a keyword is not drawn in the text's colour.
    const colour = (sel: string) =>
      page.evaluate<string>(`getComputedStyle(document.querySelector('pre ${sel}')).color`);
    assert.notEqual(await colour('.hljs-keyword'), await colour('code'));
    assert.notEqual(await colour('.hljs-string'), await colour('.hljs-keyword'));
    await shot('file');
    await page.goto(`${f.explorer.url}/image/${v1}/app/start`);
    const script = page.getByLabel('Content of /app/start').locator('code');
    assert.equal(await script.getAttribute('data-language'), 'bash');
    assert.ok((await script.locator('.hljs-meta').count()) > 0, 'the #! line is marked');
    // A file of no known language stays plain.
    await page.goto(`${f.explorer.url}/image/${v1}/app/VERSION`);
    assert.equal(await page.getByLabel('Content of /app/VERSION').locator('code span').count(), 0);
  });

  it('shows binaries as hex and images as images', async () => {
    await page.goto(`${f.explorer.url}/image/${v1}/data/big.bin`);
    const hex = (await page.getByLabel('Hex dump of /data/big.bin').textContent()) ?? '';
    const first = [...f.big.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    assert.ok(hex.startsWith(`00000000  ${first}`), hex.slice(0, 80));
    assert.match((await page.locator('main').textContent()) ?? '', /Showing the first 64\.0 KiB/);
    await page.goto(`${f.explorer.url}/image/${v1}/app/logo.png`);
    const img = page.getByRole('img', { name: '/app/logo.png' });
    assert.equal(await img.getAttribute('src'), `/raw/${v1}/app/logo.png?inline=1`);
  });

  it('shows the layer report with its chart', async () => {
    await page.goto(`${f.explorer.url}/layers/${v1}`);
    const api = (await (await f.get(`/api/layers/${v1}`)).json()) as LayersResponse;
    assert.match(
      (await page.locator('#efficiency').textContent()) ?? '',
      new RegExp(`Efficiency: ${(api.efficiency * 100).toFixed(2)}%`),
    );
    assert.equal(await page.locator('svg.chart g').count(), 3);
    assert.equal(await page.locator('table[aria-label="Layers"] tbody tr').count(), 3);
    await shot('layers');
  });

  it('searches names and compares two tags', async () => {
    await page.goto(`${f.explorer.url}/image/${v1}`);
    await page.getByLabel(`Search names in ${v1}`).fill('ramda');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: '/app/node_modules/ramda', exact: true }).waitFor();
    await page.goto(`${f.explorer.url}/`);
    await page.getByLabel('Compare image').fill(v1);
    await page.getByLabel('with').fill(`${f.repo}:v2`);
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('link', { name: '/app/NEW.txt' }).waitFor();
    const compared = (await page.locator('main').textContent()) ?? '';
    assert.match(compared, /Removed \(1\)\s*- \/app\/logo\.png/);
    // Same size, other bytes: found by content.
    assert.match(compared, /~ \/app\/config\.json content/);
    assert.equal(compared.includes('Not compared'), false);
    // A changed file's content, line by line.
    await page.getByRole('link', { name: 'changes of /app/server.js' }).click();
    const changes = page.getByLabel('Changes of /app/server.js');
    assert.deepEqual(await changes.locator('.del').allTextContents(), [
      '-http.createServer((q, r) => r.end("ok")).listen(8080);',
    ]);
    assert.deepEqual(await changes.locator('.add').allTextContents(), [
      '+http.createServer((q, r) => r.end("fine")).listen(8080);',
      '+console.log("listening");',
    ]);
    await shot('file-diff');
  });

  it('browses the registry and fits a narrow window', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${f.explorer.url}/registry/${f.reg.host}`);
    await page.getByRole('link', { name: 'ui/app' }).click();
    await page.getByRole('link', { name: 'v2' }).waitFor();
    await shot('tags-narrow');
    // The seek index's referrers tag is folded away, said to be about `indexed`.
    const folded = page.locator('details', { hasText: /1 tag\(s\) named after/ });
    assert.equal(await folded.locator('li').isVisible(), false);
    await folded.locator('summary').click();
    assert.match(
      (await folded.locator('li').textContent()) ?? '',
      /^sha256-[0-9a-f]{64} referrers of indexed$/,
    );
    assert.equal(await page.getByRole('link', { name: /^sha256-/ }).count(), 0);
    for (const path of [`/image/${v1}`, `/layers/${v1}`, `/image/${v1}/data/big.bin`]) {
      await page.goto(`${f.explorer.url}${path}`);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 1, `${path} is ${overflow}px wider than the window`);
    }
  });
});
