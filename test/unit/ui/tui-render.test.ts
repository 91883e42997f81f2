import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readHead } from '../../../src/ui/file-head.js';
import { BrowseModel } from '../../../src/ui/tui/browse-model.js';
import { decodeKeys } from '../../../src/ui/tui/keys.js';
import { previewText } from '../../../src/ui/tui/preview.js';
import { renderScreen } from '../../../src/ui/tui/render.js';
import { Screen } from '../../../src/ui/tui/screen.js';
import { cellWidth, lineText, plainText } from '../../../src/ui/tui/styled-line.js';
import { suiteFixtures } from './tui-fixture.js';

describe('browse: keys', () => {
  it('decodes arrows, page keys, controls, text and a lone Escape', () => {
    assert.deepEqual(decodeKeys('\x1b[A\x1bOB\x1b[5~\x1b[6~\x1b[H\x1b[F'), [
      'up',
      'down',
      'pageup',
      'pagedown',
      'home',
      'end',
    ]);
    assert.deepEqual(decodeKeys('\r\t\x7f\x03'), ['enter', 'tab', 'backspace', 'ctrl-c']);
    assert.deepEqual(decodeKeys('a/é'), [{ char: 'a' }, { char: '/' }, { char: 'é' }]);
    assert.deepEqual(decodeKeys('\x1b'), ['escape']);
    assert.deepEqual(decodeKeys('\x1b[15~x'), [{ char: 'x' }], 'F5 is dropped, not typed');
  });
});

describe('browse: preview', () => {
  it('shows text as lines, control characters made harmless', () => {
    const p = previewText(Buffer.from('a\tb\n\x1b[2Jc\n'), false);
    assert.deepEqual(p.lines, ['a    b', '^[[2Jc']);
    assert.equal(p.note, 'text, 2 line(s)');
  });

  it('shows binary as hex and says when it was cut', () => {
    const p = previewText(Buffer.from([0, 1, 0x41, 0xff]), true);
    assert.equal(p.lines[0], `00000000  00 01 41 ff${' '.repeat(12)}  ${' '.repeat(23)}  |..A.|`);
    assert.equal(p.note, 'binary, hex, first 4 bytes');
  });

  it('reads only the head of a long stream and stops it', async () => {
    let produced = 0;
    const stream = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 0x61));
      },
    });
    const { head, truncated } = await readHead(stream, 4096);
    assert.equal(head.length, 4096);
    assert.equal(truncated, true, 'the stream went on past the limit');
    assert.ok(stream.destroyed);
    assert.ok(produced < 64 * 1024, `${produced} bytes produced`);
  });
});

describe('browse: screen', () => {
  const fixtures = suiteFixtures();

  async function model(): Promise<BrowseModel> {
    const app = fixtures.app!;
    const m = new BrowseModel(app.report);
    const w = m.wantedTree();
    m.setTree(w, await app.trees.tree(w.layer, w.mode));
    return m;
  }

  for (const size of [
    { columns: 120, rows: 30 },
    { columns: 70, rows: 24 },
    { columns: 200, rows: 10 },
    { columns: 31, rows: 8 },
  ]) {
    it(`fills ${size.columns}x${size.rows} exactly`, async () => {
      const lines = renderScreen(await model(), size);
      assert.equal(lines.length, size.rows);
      for (const l of lines) assert.equal(cellWidth(plainText(l)), size.columns, plainText(l));
    });
  }

  it('puts layers and tree side by side when wide, one above the other when narrow', async () => {
    const m = await model();
    const wide = renderScreen(m, { columns: 120, rows: 30 }).map(plainText);
    assert.ok(wide[1]!.startsWith('Layers (3)'));
    assert.match(wide[1]!, /│Image \(aggregated, all 3 layers\)/);
    assert.ok(
      wide.some((l) => /^> 2 .*\+5 ~1 -2 +COPY \. \/app/.test(l)),
      wide.join('\n'),
    );
    assert.ok(wide.some((l) => l.startsWith('Efficiency: ')));
    assert.ok(
      wide.some((l) => /│> drwxr-xr-x +0:0 .* ├── app\/…/.test(l)),
      wide.join('\n'),
    );
    const narrow = renderScreen(m, { columns: 70, rows: 24 }).map(plainText);
    assert.equal(
      narrow.some((l) => l.includes('│')),
      false,
    );
    assert.ok(narrow.some((l) => l.startsWith('Efficiency ') && l.includes('Wasted')));
    assert.ok(narrow.some((l) => /^─+$/.test(l)));
    assert.ok(
      narrow.some((l) => /^> +\d+ +├── app\/…/.test(l)),
      narrow.join('\n'),
    );
  });

  it('colours only when asked, and writes only the lines that changed', async () => {
    const m = await model();
    const size = { columns: 100, rows: 20 };
    const lines = renderScreen(m, size);
    assert.equal(
      lines
        .map((l) => lineText(l, false))
        .join('')
        .includes('\x1b'),
      false,
    );
    assert.ok(
      lines
        .map((l) => lineText(l, true))
        .join('')
        .includes('\x1b[1;7m'),
    );
    const written: string[] = [];
    const screen = new Screen({ write: (t: string) => written.push(t) }, false);
    screen.enter();
    screen.draw(lines, size);
    const first = written.join('');
    assert.equal(first.match(/\x1b\[\d+;1H/g)?.length, 20);
    written.length = 0;
    m.press('up');
    screen.draw(renderScreen(m, size), size);
    const moved = written.join('').match(/\x1b\[(\d+);1H/g) ?? [];
    assert.ok(moved.length > 0 && moved.length < 20, `${moved.length} lines rewritten`);
    written.length = 0;
    screen.leave();
    screen.leave();
    assert.deepEqual(written, ['\x1b[0m\x1b[?25h\x1b[?1049l'], 'restored once');
  });
});
