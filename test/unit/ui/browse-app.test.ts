import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { runBrowser } from '../../../src/ui/tui/browse-app.js';
import type { BrowseNode } from '../../../src/ui/tui/browse-tree.js';
import { LayerTrees, type TreeMode } from '../../../src/ui/tui/layer-trees.js';
import { type BrowseFixture, suiteFixtures } from './tui-fixture.js';

/** Trees that arrive only when the test lets them (a tree loading on a busy machine). */
class HeldTrees extends LayerTrees {
  private release!: () => void;
  private readonly held = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  asked = 0;

  constructor(private readonly inner: LayerTrees) {
    super([]);
  }

  override get layerCount(): number {
    return this.inner.layerCount;
  }

  override async tree(index: number, mode: TreeMode, signal?: AbortSignal): Promise<BrowseNode> {
    this.asked++;
    await this.held;
    return this.inner.tree(index, mode, signal);
  }

  let(): void {
    this.release();
  }
}

/** A terminal's output: what the browser wrote, as one string. */
function terminal() {
  let written = '';
  const output = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        written += String(chunk);
        done();
      },
    }),
    { columns: 120, rows: 32 },
  );
  return { output, text: () => written };
}

/** Poll `done` until it holds (generous: a loaded machine builds trees slowly). */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 120_000; !done() && Date.now() < deadline; ) {
    await sleep(10);
  }
}

describe('browse: keys typed while a tree loads', () => {
  const fixtures = suiteFixtures();

  /** The browser on the app image, its trees held back until the test lets them come. */
  const start = () => {
    const app: BrowseFixture = fixtures.app!;
    const trees = new HeldTrees(app.trees);
    const input = new PassThrough();
    const term = terminal();
    const running = runBrowser(
      { report: app.report, trees, openFile: async () => new PassThrough() },
      { input, output: term.output, colour: false },
    );
    return { trees, input, term, running };
  };

  it('waits for the tree and applies them in order; none is lost', async () => {
    const { trees, input, term, running } = start();
    await tick();
    assert.equal(trees.asked, 1, 'the top layer’s tree is asked for');
    // Tab to the tree, Enter to open its first directory (/app), Down, Down: all typed
    // before the tree has arrived.
    input.write('\t');
    input.write('\r');
    input.write('\x1b[B\x1b[B');
    await tick();
    assert.equal(term.text().includes('VERSION'), false, 'nothing of /app drawn yet');
    trees.let();
    await until(() => term.text().includes('VERSION.link'));
    const screen = term.text();
    assert.ok(screen.includes('├── VERSION'), 'Enter opened /app once the tree came');
    // The cursor went down twice inside /app: the second row of it is selected.
    assert.match(screen, /│>.+── VERSION\.link/);
    input.write('q');
    await running;
  });

  it('Ctrl-C quits at once, also behind keys that wait for a tree', async () => {
    const { trees, input, term, running } = start();
    await tick();
    input.write('\t\r\x03');
    await running;
    trees.let();
    assert.ok(term.text().endsWith('\x1b[?1049l'), 'the main screen is back');
  });
});
