import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BrowseModel } from '../../../src/ui/tui/browse-model.js';
import type { Key } from '../../../src/ui/tui/keys.js';
import { allNodes, type BrowseFixture, suiteFixtures } from './tui-fixture.js';

const chars = (text: string): Key[] => [...text].map((char) => ({ char }));

/** A model showing `fixture`, its first tree loaded. */
async function modelOf(fixture: BrowseFixture): Promise<BrowseModel> {
  const model = new BrowseModel(fixture.report);
  await load(model, fixture);
  return model;
}

/** Load the tree the model asks for, as the program around it does. */
async function load(model: BrowseModel, fixture: BrowseFixture): Promise<void> {
  const wanted = model.wantedTree();
  model.setTree(wanted, await fixture.trees.tree(wanted.layer, wanted.mode));
}

async function press(model: BrowseModel, fixture: BrowseFixture, ...keys: Key[]) {
  let effect: ReturnType<BrowseModel['press']>;
  for (const key of keys) {
    effect = model.press(key);
    if (model.loading) await load(model, fixture);
  }
  return effect;
}

const shown = (model: BrowseModel) => model.rows().map((r) => r.node.path);

describe('browse: trees against what ls and layers report', () => {
  const fixtures = suiteFixtures();

  for (const name of ['example', 'app'] as const) {
    it(`${name}: the aggregated tree of the top layer holds exactly what ls -R lists`, async () => {
      const f = fixtures[name]!;
      const top = f.report.layers.length - 1;
      const root = await f.trees.tree(top, 'aggregated');
      const listed = [...f.fs.walk('/')];
      const nodes = allNodes(root);
      assert.deepEqual(
        nodes.map((n) => n.path),
        listed.map((e) => e.path),
      );
      for (const [i, e] of listed.entries()) {
        assert.equal(nodes[i]!.type, e.type, e.path);
        if (e.type !== 'dir') assert.equal(nodes[i]!.size, e.size, e.path);
        assert.equal(nodes[i]!.layer, e.layer, e.path);
      }
    });

    it(`${name}: each layer's own tree counts what layers reports it added, modified, deleted`, async () => {
      const f = fixtures[name]!;
      for (const layer of f.report.layers) {
        const nodes = allNodes(await f.trees.tree(layer.index, 'layer'));
        const files = (change: string) =>
          nodes.filter((n) => n.type !== 'dir' && n.change === change).length;
        assert.deepEqual(
          [files('added'), files('modified'), files('deleted')],
          [layer.filesAdded, layer.filesModified, layer.filesDeleted],
          `layer ${layer.index}`,
        );
      }
    });
  }

  it('keeps the trees just seen, and builds the same tree again once dropped', async () => {
    const trees = fixtures.app!.trees;
    const first = await trees.tree(1, 'layer');
    assert.equal(await trees.tree(1, 'layer'), first, 'kept: the same object');
    for (const layer of [0, 1, 2]) await trees.tree(layer, 'aggregated');
    await trees.tree(0, 'layer');
    await trees.tree(2, 'layer');
    const again = await trees.tree(1, 'layer');
    assert.notEqual(again, first, 'dropped after four others');
    assert.deepEqual(again, first);
  });

  it('app: the top layer deletes the whiteout and the opaque directory’s old content', async () => {
    const f = fixtures.app!;
    const own = allNodes(await f.trees.tree(2, 'layer'));
    const change = (path: string) => own.find((n) => n.path === path)?.change;
    assert.equal(change('/etc/motd'), 'deleted');
    assert.equal(change('/app/node_modules/ramda/old.js'), 'deleted');
    assert.equal(change('/app/node_modules/ramda/index.js'), 'added');
    assert.equal(change('/app/package.json'), 'modified');
    // Written through the lib -> usr/lib symlink: the change sits where it lands.
    assert.equal(change('/usr/lib/added.so'), 'added');
    assert.equal(change('/app/VERSION.link'), 'added');
    // Not changed by this layer: not in its tree at all.
    assert.equal(
      own.some((n) => n.path.startsWith('/usr/share/doc')),
      false,
    );
    const merged = (layer: number) => f.trees.tree(layer, 'aggregated').then(allNodes);
    const paths = (nodes: { path: string }[]) => new Set(nodes.map((n) => n.path));
    const top = paths(await merged(2));
    assert.equal(top.has('/etc/motd'), false, 'whited out: absent from the merged tree');
    assert.equal(top.has('/app/node_modules/ramda/old.js'), false);
    const below = paths(await merged(1));
    assert.equal(below.has('/etc/motd'), true, 'still there through layer 1');
    assert.equal(below.has('/app/node_modules/ramda/old.js'), true);
    assert.equal(below.has('/app/VERSION'), false);
    const inTop = (await merged(2)).find((n) => n.path === '/app/package.json')!;
    assert.equal(inTop.change, 'modified', 'the merged tree marks what the layer changed');
  });
});

describe('browse: the model', () => {
  const fixtures = suiteFixtures();
  let app: BrowseFixture;
  before(() => {
    app = fixtures.app!;
  });

  it('starts on the top layer, aggregated, top-level directories closed', async () => {
    const m = await modelOf(app);
    assert.equal(m.layer, 2);
    assert.equal(m.mode, 'aggregated');
    assert.deepEqual(shown(m), ['/app', '/etc', '/lib', '/usr']);
  });

  it('moves in the layer list and asks for that layer’s tree', async () => {
    const m = await modelOf(app);
    m.press('up');
    assert.deepEqual(m.wantedTree(), { layer: 1, mode: 'aggregated' });
    assert.equal(m.loading, true);
    assert.deepEqual(m.rows(), [], 'no rows of another layer’s tree while loading');
    // A tree that arrives for a selection left meanwhile is dropped.
    m.press('up');
    m.setTree({ layer: 1, mode: 'aggregated' }, await app.trees.tree(1, 'aggregated'));
    assert.equal(m.loading, true);
    await load(m, app);
    assert.equal(m.layer, 0);
    assert.deepEqual(shown(m), ['/etc', '/lib', '/usr']);
    await press(m, app, 'up', 'end');
    assert.equal(m.layer, 2);
    await press(m, app, 'home');
    assert.equal(m.layer, 0);
  });

  it('opens and closes directories, goes to the parent, opens all', async () => {
    const m = await modelOf(app);
    await press(m, app, 'tab', 'enter');
    assert.deepEqual(shown(m).slice(0, 5), [
      '/app',
      '/app/VERSION',
      '/app/VERSION.link',
      '/app/node_modules',
      '/app/package.json',
    ]);
    await press(m, app, 'down', 'down', 'down', 'right');
    assert.equal(m.current()?.path, '/app/node_modules');
    assert.ok(shown(m).includes('/app/node_modules/ramda'));
    await press(m, app, 'right', 'left');
    assert.equal(m.current()?.path, '/app/node_modules', 'left on a child goes to its parent');
    await press(m, app, 'left');
    assert.equal(shown(m).includes('/app/node_modules/ramda'), false);
    await press(m, app, { char: '*' });
    assert.equal(shown(m).length, allNodes(await app.trees.tree(2, 'aggregated')).length);
    assert.equal(m.current()?.path, '/app/node_modules', 'the cursor stays on its path');
    await press(m, app, { char: '-' });
    assert.deepEqual(shown(m), ['/app', '/etc', '/lib', '/usr']);
  });

  it('keeps the cursor on its path when another layer is selected', async () => {
    const m = await modelOf(app);
    await press(m, app, 'tab', 'down', 'tab', 'up');
    assert.equal(m.layer, 1);
    assert.equal(m.current()?.path, '/etc');
  });

  it('per-layer mode shows only what the layer changed, all open', async () => {
    const m = await modelOf(app);
    await press(m, app, { char: 'm' });
    assert.equal(m.mode, 'layer');
    const rows = m.rows();
    const marks = rows.filter((r) => r.node.change).map((r) => `${r.node.change} ${r.node.path}`);
    assert.ok(marks.includes('deleted /etc/motd'));
    assert.ok(marks.includes('added /app/VERSION'));
    assert.equal(
      shown(m).some((p) => p.startsWith('/usr/share')),
      false,
    );
    await press(m, app, 'up', 'up');
    assert.equal(m.layer, 0);
    assert.ok(shown(m).includes('/usr/share/doc/pkg0/copyright'));
  });

  it('filters by path with the directories above the matches open', async () => {
    const m = await modelOf(app);
    await press(m, app, { char: '/' }, ...chars('ramda'));
    assert.equal(m.editingFilter, true);
    assert.deepEqual(shown(m), [
      '/app',
      '/app/node_modules',
      '/app/node_modules/ramda',
      '/app/node_modules/ramda/index.js',
    ]);
    assert.equal(m.filterMatches(), 2, 'the directory and the file below it');
    await press(m, app, 'backspace', 'backspace', 'backspace', 'backspace', 'backspace');
    await press(m, app, ...chars('MOTD'), 'enter');
    assert.equal(m.editingFilter, false);
    assert.deepEqual(shown(m), [], 'whited out: nothing matches in the merged tree');
    await press(m, app, 'tab', 'up');
    assert.deepEqual(shown(m), ['/etc', '/etc/motd'], 'through layer 1 it is there');
    await press(m, app, 'escape');
    assert.equal(m.filter, '');
    assert.deepEqual(shown(m), ['/etc', '/lib', '/usr', '/app'].sort());
  });

  it('asks to read a file, shows it, scrolls it and closes it', async () => {
    const m = await modelOf(app);
    await press(m, app, 'tab', 'enter', 'down');
    assert.equal(m.current()?.path, '/app/VERSION');
    const effect = await press(m, app, 'enter');
    assert.deepEqual(effect, { kind: 'preview', path: '/app/VERSION' });
    assert.equal(m.preview?.note, 'reading…');
    m.showPreview('/other', ['x'], 'text');
    assert.deepEqual(m.preview?.lines, [], 'an answer for another file is dropped');
    m.showPreview('/app/VERSION', ['1.2.3', 'b', 'c'], 'text, 3 line(s)');
    m.setViewport(5, 1);
    await press(m, app, 'down', 'down', 'down');
    assert.equal(m.preview?.top, 2);
    await press(m, app, { char: 'q' });
    assert.equal(m.preview, undefined, 'q closes the file before it quits');
    assert.deepEqual(await press(m, app, { char: 'q' }), { kind: 'quit' });
  });

  it('does not preview a deleted file; help opens and closes; Ctrl-C always quits', async () => {
    const m = await modelOf(app);
    await press(m, app, { char: 'm' }, 'tab');
    const at = m.rows().findIndex((r) => r.node.path === '/etc/motd');
    m.cursor = at;
    assert.equal(await press(m, app, 'enter'), undefined);
    assert.equal(m.preview, undefined);
    await press(m, app, { char: '?' });
    assert.equal(m.help, true);
    assert.equal(await press(m, app, { char: 'q' }), undefined, 'q closes help first');
    assert.equal(m.help, false);
    await press(m, app, { char: '/' });
    assert.deepEqual(await press(m, app, 'ctrl-c'), { kind: 'quit' });
  });

  it('scrolls to keep the cursor in view', async () => {
    const m = await modelOf(app);
    m.setViewport(2, 4);
    await press(m, app, 'tab', { char: '*' }, 'home');
    assert.equal(m.treeTop, 0);
    await press(m, app, 'pagedown', 'pagedown');
    assert.equal(m.cursor, 8);
    assert.ok(m.treeTop <= 8 && m.treeTop + 4 > 8, `top ${m.treeTop}`);
    await press(m, app, 'end');
    assert.equal(m.cursor, m.rows().length - 1);
    assert.equal(m.treeTop, m.rows().length - 4);
  });
});
