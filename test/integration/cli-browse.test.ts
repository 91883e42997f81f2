import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import stringWidth from 'string-width';
import { convertToEstargz } from '../../src/convert/index.js';
import { openDestination, openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  pushLayout,
  type RunningRegistry,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH, runCli } from '../harness/run-cli.js';
import { TmuxPane } from '../harness/tmux.js';
import { writeAppImage } from './browse-fixture.js';

/** The tree pane of a wide screen: what stands right of the first column separator. */
const treePane = (lines: string[]) =>
  lines.map((l) => (l.includes('│') ? l.slice(l.indexOf('│') + 1) : ''));
/** The tree rows of a wide screen (below the pane's title and column heads). */
const treeRows = (lines: string[]) => treePane(lines.slice(3, -1)).filter(Boolean);
const has = (re: RegExp) => (lines: string[]) => lines.some((l) => re.test(l));
/** The tree pane has the keys (its title marked). */
const treeFocused = has(/│.* {2}◆$/);
const layersFocused = (lines: string[]) => !treeFocused(lines);
/** The status line while a filter is typed, and after Enter kept it. */
const typingFilter = (text: string) => has(new RegExp(`^ Filter: ${text}▏`));
const filterKept = has(/^ Tab pane {2}m mode/);

const BIG = 2 * 1024 * 1024;

describe('ocipeek browse in a terminal (tmux)', () => {
  let dir: TempDir;
  let reg: RunningRegistry;
  let home: string;
  let n = 0;

  before(async () => {
    dir = await tempDir('browse');
    home = join(dir.path, 'home');
    await mkdir(home);
    reg = await startRegistry();
    const layout = join(dir.path, 'app');
    await writeAppImage(layout, 'v1', [{ path: 'data/big.bin', content: randomBytes(BIG) }]);
    await pushLayout(layout, 'v1', reg, 'browse/app:v1');
    const client = new RegistryClient();
    try {
      const src = await openPlaceImage(`${reg.host}/browse/app:v1`, { client });
      const dst = await openDestination(`${reg.host}/browse/app-estargz:v1`, { client });
      await convertToEstargz(src, dst, {});
      await src.close();
    } finally {
      await client.close();
    }
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  /** `ocipeek ARGS` in a fresh tmux pane, with a clean home and its own store. */
  async function browse(args: string[], size = { columns: 120, rows: 32 }) {
    const runDir = join(dir.path, `run-${n++}`);
    await mkdir(runDir);
    return TmuxPane.start([process.execPath, CLI_PATH, ...args], {
      ...size,
      dir: runDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_RUNTIME_DIR: join(home, 'run'),
      },
    });
  }

  /**
   * With the tree focused: filter on VERSION, go down to /app/VERSION and open it, each
   * key sent once the screen shows the one before took effect.
   */
  async function openVersion(pane: TmuxPane) {
    await pane.keys('/');
    await pane.type('VERSION');
    await pane.waitFor('the filter typed', typingFilter('VERSION'));
    await pane.keys('Enter');
    await pane.waitFor(
      'the filter kept',
      (l) => has(/filter "VERSION": 2 match/)(l) && filterKept(l),
    );
    await pane.keys('Down');
    await pane.waitFor('/app/VERSION under the cursor', has(/│>.+── VERSION$/));
    await pane.keys('Enter');
  }

  /** Terminal settings as a shell has them: line editing and echo on. */
  function assertRestored(stty: string) {
    assert.match(stty, /(^|\s)icanon(\s|$)/, stty);
    assert.match(stty, /(^|\s)echo(\s|$)/, stty);
  }

  it('navigates layers, opens a directory, filters, shows a file, resizes, quits cleanly', async () => {
    const ref = `${reg.host}/browse/app:v1`;
    const store = join(dir.path, 'empty-store');
    const layers = await runCli(['layers', ref, '--json', '--store', store]);
    assert.equal(layers.code, 0, layers.stderr);
    const report = JSON.parse(layers.out) as {
      layers: {
        index: number;
        filesAdded: number;
        filesModified: number;
        filesDeleted: number;
        createdBy: string;
      }[];
    };
    const appListing = await runCli(['ls', ref, '/app', '--json', '--store', store]);
    const appNames = (JSON.parse(appListing.out) as { path: string }[]).map((e) => e.path.slice(5));

    const pane = await browse(['browse', ref, '--store', store]);
    try {
      let screen = await pane.waitFor('the tree', has(/├── app\/…/));
      assert.equal(await pane.format('#{alternate_on}'), '1', 'on the alternate screen');
      // The layer list says what `ocipeek layers` says, the top layer selected.
      for (const l of report.layers) {
        const row = screen.find((s) => new RegExp(`^[> ] ${l.index}  `).test(s));
        assert.ok(row, `layer ${l.index} row`);
        assert.ok(row.includes(`+${l.filesAdded} ~${l.filesModified} -${l.filesDeleted}`), row);
        assert.ok(row.includes(l.createdBy.slice(0, 10)), row);
      }
      assert.ok(
        screen.some((s) => s.startsWith('> 2 ')),
        'the top layer is selected',
      );
      assert.ok(has(/^Efficiency: \d+\.\d\d%/)(screen));

      // Open /app: its children are what `ocipeek ls REF /app` lists.
      await pane.keys('Tab');
      await pane.waitFor('the tree focused', treeFocused);
      await pane.keys('Enter');
      screen = await pane.waitFor('/app open', has(/│ {3}├── VERSION$/));
      const shown = treeRows(screen)
        .filter((r) => r.includes('│   '))
        .map((r) => /[├└]── (\S+?)\/?(…)?( → .*)?$/.exec(r)?.[1]);
      assert.deepEqual(shown, appNames);

      // Whited out in the top layer: the merged tree has no /etc/motd.
      await pane.keys('/');
      await pane.type('motd');
      await pane.waitFor('the filter typed', typingFilter('motd'));
      await pane.keys('Enter');
      screen = await pane.waitFor(
        'the filter',
        (l) => has(/filter "motd": 0 match\(es\)/)(l) && filterKept(l),
      );
      assert.equal(
        treeRows(screen).some((r) => r.includes('motd')),
        false,
      );

      // One layer down (aggregated through layer 1) it is there.
      await pane.keys('Tab');
      await pane.waitFor('the layers focused', layersFocused);
      await pane.keys('Up');
      screen = await pane.waitFor(
        'layer 1',
        has(/Aggregated through layer 1 of 2 +filter "motd": 1/),
      );
      assert.ok(treeRows(screen).some((r) => /└── motd$/.test(r)));
      // Per-layer mode: layer 1 did not touch it, layer 2 deleted it.
      await pane.keys('m');
      await pane.waitFor('layer 1 changes', has(/Changed by layer 1 +filter "motd": 0/));
      await pane.keys('Down');
      screen = await pane.waitFor('layer 2 changes', has(/Changed by layer 2 +filter "motd": 1/));
      assert.ok(
        treeRows(screen).some((r) => /^ -.*└── motd$/.test(r)),
        screen.join('\n'),
      );
      await pane.keys('Escape');
      screen = await pane.waitFor('the filter cleared', has(/Changed by layer 2$/));
      const marks = treeRows(screen).map((r) => r.slice(0, 2));
      assert.ok(marks.includes(' +') && marks.includes(' ~') && marks.includes(' -'));

      // Show a file: back to the merged tree, find VERSION, open it.
      await pane.keys('m');
      await pane.waitFor(
        'the merged tree',
        has(/│Aggregated through layer 2 of 2$|│Image \(aggregated/),
      );
      await pane.keys('Tab');
      await pane.waitFor('the tree focused', treeFocused);
      await openVersion(pane);
      screen = await pane.waitFor('the file', has(/│1\.2\.3$/));
      assert.ok(has(/│File \/app\/VERSION$/)(screen));
      assert.ok(has(/│text, 1 line\(s\)/)(screen));
      await pane.keys('Escape');
      await pane.waitFor('the file closed', has(/filter "VERSION"/));
      await pane.keys('Escape');
      await pane.waitFor('the tree again', has(/│Image \(aggregated, all 3 layers\) {2}◆$/));

      // Narrow: layers above the tree, the summary in one line, no column separator.
      await pane.resize(70, 24);
      screen = await pane.waitFor('the narrow layout', has(/^Efficiency \d+\.\d\d% +Wasted/));
      assert.equal(screen.length >= 24, true);
      assert.equal(
        screen.some((l) => l.includes('│ ') && l.startsWith('Layers')),
        false,
      );
      assert.ok(
        screen.every((l) => [...l].length <= 70),
        screen.join('\n'),
      );
      assert.ok(has(/^─{70}$/)(screen));
      await pane.resize(120, 32);
      screen = await pane.waitFor('the wide layout', has(/^Layers \(3\) .*│/));

      await pane.keys('q');
      const exit = await pane.exited();
      assert.equal(exit.code, 0);
      assertRestored(exit.stty);
      assert.equal(await pane.format('#{alternate_on}'), '0', 'back on the main screen');
      assert.equal(await pane.format('#{cursor_flag}'), '1', 'the cursor shown');
    } finally {
      pane.kill();
    }
  });

  it('reads an eStargz image through its TOCs; Ctrl-C quits and restores the terminal', async (t) => {
    const ref = `${reg.host}/browse/app-estargz:v1`;
    const store = join(dir.path, 'empty-store-2');
    const pane = await browse(['browse', ref, '--store', store, '--stats']);
    try {
      await pane.waitFor('the tree', has(/├── app\/…/));
      await pane.keys('Tab');
      await pane.waitFor('the tree focused', treeFocused);
      await openVersion(pane);
      const screen = await pane.waitFor('the file', has(/│1\.2\.3$/));
      assert.ok(has(/│File \/app\/VERSION$/)(screen));
      await pane.keys('C-c');
      const exit = await pane.exited();
      assert.equal(exit.code, 0);
      assertRestored(exit.stty);
      assert.equal(await pane.format('#{alternate_on}'), '0');
      const stats = (await pane.screen()).join('\n');
      const fetched = Number(/bytesFetched=(\d+)/.exec(stats)?.[1]);
      t.diagnostic(`browse of the eStargz image, a file shown: ${fetched} bytes fetched`);
      assert.ok(fetched < BIG / 4, `${fetched} bytes fetched of a ${BIG}-byte file's layer`);
    } finally {
      pane.kill();
    }
  });

  it('browses a stored image offline; SIGTERM restores the terminal and says so', async () => {
    const store = join(dir.path, 'store');
    const ref = `${reg.host}/browse/app:v1`;
    const pulled = await runCli(['pull', ref, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const pane = await browse(['browse', ref, '--store', store, '--offline']);
    try {
      await pane.waitFor('the tree', has(/├── app\/…/));
      await pane.keys('Up');
      await pane.waitFor('layer 1', has(/Aggregated through layer 1 of 2/));
      const [pid] = await pane.commandPids();
      assert.ok(pid, 'the browser runs');
      process.kill(pid, 'SIGTERM');
      const exit = await pane.exited();
      assert.equal(exit.code, 143);
      assertRestored(exit.stty);
      assert.equal(await pane.format('#{alternate_on}'), '0');
      assert.ok(has(/ocipeek: interrupted by SIGTERM/)(await pane.screen()));
    } finally {
      pane.kill();
    }
  });

  it('lays out wide characters (CJK, emoji) by the cells the terminal gives them', async () => {
    const layout = join(dir.path, 'wide');
    const long = '漢字のファイル名がとても長いです.txt';
    await writeAppImage(layout, 'v1', [
      { path: `app/${long}`, content: '中文内容\n' },
      { path: 'app/🐳whale.txt', content: 'whale\n' },
    ]);
    const pane = await browse(['browse', `oci:${layout}:v1`], { columns: 100, rows: 30 });
    try {
      await pane.waitFor('the tree', has(/├── app\/…/));
      await pane.keys('Tab');
      await pane.waitFor('the tree focused', treeFocused);
      await pane.keys('Enter');
      let screen = await pane.waitFor('/app open', has(/└── 🐳whale\.txt$/));
      // Every line fits the terminal, and the panes' separator stands in one column.
      assert.ok(
        screen.every((l) => stringWidth(l) <= 100),
        screen.join('\n'),
      );
      const separators = new Set(
        screen.filter((l) => l.includes('│')).map((l) => stringWidth(l.slice(0, l.indexOf('│')))),
      );
      assert.equal(separators.size, 1, screen.join('\n'));
      // The CJK name is cut to the line's last cell, not past it.
      const row = screen.find((l) => l.includes('漢字'))!;
      assert.ok(row.endsWith('…'), row);
      assert.equal(stringWidth(row), 100, row);
      // Wide enough (stacked layout, 70 cells), the whole name shows and the row ends there.
      await pane.resize(70, 30);
      screen = await pane.waitFor(
        'the narrow layout',
        has(new RegExp(`├── ${long.replace('.', '\\.')}$`)),
      );
      const whole = screen.find((l) => l.includes(long))!;
      assert.ok(stringWidth(whole) <= 70, whole);
      await pane.resize(50, 30);
      screen = await pane.waitFor('cut again', has(/├── 漢字.*…$/));
      assert.ok(
        screen.every((l) => stringWidth(l) <= 50),
        screen.join('\n'),
      );
      assert.equal(stringWidth(screen.find((l) => l.includes('漢字'))!), 50);
      await pane.keys('q');
      assert.equal((await pane.exited()).code, 0);
    } finally {
      pane.kill();
    }
  });

  it('refuses a missing image in one line, the terminal untouched', async () => {
    const pane = await browse(['browse', 'oci:/nonexistent-layout:v1']);
    try {
      const exit = await pane.exited();
      assert.notEqual(exit.code, 0);
      assertRestored(exit.stty);
      const lines = (await pane.screen()).filter(Boolean);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^ocipeek: /);
    } finally {
      pane.kill();
    }
  });
});
