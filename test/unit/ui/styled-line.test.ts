import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellWidth, fitLine, plainText } from '../../../src/ui/tui/styled-line.js';

const fit = (text: string, width: number) => plainText(fitLine([{ text }], width));

describe('terminal cells of wide characters', () => {
  it('measures CJK and emoji as two cells, combining marks and joiners as none', () => {
    assert.equal(cellWidth('abc'), 3);
    assert.equal(cellWidth('漢字'), 4);
    assert.equal(cellWidth('ファイル.txt'), 12);
    assert.equal(cellWidth('🐳'), 2);
    assert.equal(cellWidth('👨‍👩‍👧'), 2, 'a family (ZWJ sequence) is one emoji');
    assert.equal(cellWidth('e\u0301'), 1, 'e and a combining acute accent');
    assert.equal(cellWidth('├── │…'), 6);
  });

  it('cuts and pads lines by cells, never inside a character', () => {
    assert.equal(fit('漢字', 6), '漢字  ');
    assert.equal(fit('漢字テスト', 6), '漢字 …', 'テ would straddle the cut: a space instead');
    assert.equal(fit('漢字テスト', 7), '漢字テ…');
    assert.equal(fit('a👨‍👩‍👧b🐳🐳', 5), 'a👨‍👩‍👧b…');
    assert.equal(fit('a👨‍👩‍👧b🐳🐳', 4), 'a👨‍👩‍👧…');
    assert.equal(fit('e\u0301e\u0301e\u0301', 2), 'e\u0301…');
    for (const [text, width] of [
      ['漢字テスト', 6],
      ['🐳🐳🐳', 4],
      ['x漢y', 3],
    ] as const) {
      assert.equal(cellWidth(fit(text, width)), width, `${text} in ${width}`);
    }
    // Runs before the cut keep their style; the cut run is shortened.
    const line = fitLine(
      [
        { text: '漢', style: 'dir' },
        { text: '字字字', style: 'link' },
      ],
      5,
    );
    assert.deepEqual(line, [
      { text: '漢', style: 'dir' },
      { text: '字…', style: 'link' },
    ]);
  });
});
