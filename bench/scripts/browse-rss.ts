// Peak RSS of `ocipeek browse` on an image of 50k paths in 5 layers, every layer seen in
// both modes, measured with /usr/bin/time -v around the CLI in a tmux pane (the pseudo-
// terminal the browse tests type into). Usage (after `npm run build`):
//   node --import tsx bench/scripts/browse-rss.ts [PATHS_PER_LAYER=10000] [LAYERS=5] [ROUNDS=1]
// ROUNDS > 1 walks the layers again, to show what kept trees and views add; ROUNDS=0 only
// opens the image. BROWSE_WARM=1: the listing cache filled first (by `ls`). BROWSE_NODE_FLAGS: node flags for the CLI (e.g. --max-semi-space-size=1).
import { execFileSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LayoutWriter, randomImage, tempDir } from '../../test/harness/index.js';
import { CLI_PATH as OWN_CLI } from '../../test/harness/run-cli.js';
import { TmuxPane } from '../../test/harness/tmux.js';

const perLayer = Number(process.argv[2] ?? 10_000);
const layerCount = Number(process.argv[3] ?? 5);
const rounds = Number(process.argv[4] ?? 1);
/** The CLI measured: this checkout's build, or another's (BROWSE_CLI), to compare. */
const CLI_PATH = process.env.BROWSE_CLI ?? OWN_CLI;

/** Layer i: `perLayer` files in folders of 100, a tenth of layer i-1's files rewritten, a tenth deleted. */
function layerEntries(i: number) {
  const entries: Array<{ path: string; content?: string }> = [];
  for (let f = 0; f < perLayer; f++) {
    entries.push({
      path: `usr/lib/layer${i}/pkg${Math.floor(f / 100)}/module-file-${f}.js`,
      content: `${i}:${f}\n`,
    });
  }
  if (i > 0) {
    for (let f = 0; f < perLayer; f += 10) {
      entries.push({
        path: `usr/lib/layer${i - 1}/pkg${Math.floor(f / 100)}/module-file-${f}.js`,
        content: `rewritten ${i}\n`,
      });
      entries.push({
        path: `usr/lib/layer${i - 1}/pkg${Math.floor((f + 5) / 100)}/.wh.module-file-${f + 5}.js`,
      });
    }
  }
  return entries;
}

const dir = await tempDir('browse-rss');
try {
  const layout = join(dir.path, 'img');
  const w = new LayoutWriter(layout);
  await randomImage(w, {
    refName: 'big',
    layerEntries: Array.from({ length: layerCount }, (_, i) => layerEntries(i)),
  });
  await w.finish();
  const runDir = join(dir.path, 'run');
  await mkdir(runDir);
  const home = join(dir.path, 'home');
  await mkdir(home);
  const timeOut = join(dir.path, 'time.txt');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  // Warm: the layer listings already in the store's cache, as on a second look.
  const warm = process.env.BROWSE_WARM === '1';
  if (warm) execFileSync(process.execPath, [CLI_PATH, 'ls', `oci:${layout}:big`], { env });
  const pane = await TmuxPane.start(
    [
      '/usr/bin/time',
      '-v',
      '-o',
      timeOut,
      process.execPath,
      ...(process.env.BROWSE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      CLI_PATH,
      'browse',
      `oci:${layout}:big`,
    ],
    {
      columns: 120,
      rows: 40,
      dir: runDir,
      env,
    },
  );
  try {
    const last = layerCount - 1;
    /** The tree of `layer` in `mode` is shown (its title, and no "reading layer"). */
    const shown = async (layer: number, mode: 'aggregated' | 'layer') => {
      const title =
        mode === 'layer'
          ? `Changed by layer ${layer}`
          : layer === last
            ? 'Image (aggregated'
            : `Aggregated through layer ${layer} of`;
      await pane.waitFor(
        `${mode} ${layer}`,
        (lines) =>
          lines.some((l) => l.includes(title)) &&
          !lines.some((l) => l.includes('reading layer')) &&
          lines.some((l) => /[├└]── /.test(l)),
        600_000,
      );
    };
    await shown(last, 'aggregated');
    // Down from the top layer and back up (more rounds): each layer merged, then its changes.
    let layer = last;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < layerCount; i++) {
        await pane.keys('m');
        await shown(layer, 'layer');
        await pane.keys('m');
        await shown(layer, 'aggregated');
        if (i === layerCount - 1) break;
        layer += r % 2 === 0 ? -1 : 1;
        await pane.keys(r % 2 === 0 ? 'Up' : 'Down');
        await shown(layer, 'aggregated');
      }
    }
    await pane.keys('q');
    for (;;) {
      const text = await readFile(timeOut, 'utf8').catch(() => '');
      if (/Exit status/.test(text)) {
        const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)![1]);
        const cpu = ['User time', 'System time'].map(
          (k) => new RegExp(`${k} \\(seconds\\): ([\\d.]+)`).exec(text)![1],
        );
        console.log(
          JSON.stringify({
            warm,
            paths: perLayer * layerCount,
            layers: layerCount,
            rounds,
            maxRssMB: +(kb / 1024).toFixed(1),
            user: +cpu[0]!,
            sys: +cpu[1]!,
          }),
        );
        break;
      }
      await sleep(200);
    }
  } finally {
    await pane.kill();
  }
} finally {
  await dir.remove();
}
