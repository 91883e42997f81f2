import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textDiff } from '../../../src/ui/web/file-diff.js';
import type { FilePreview } from '../../../src/ui/web/file-preview.js';

const text = (s: string): FilePreview => ({ kind: 'text', head: Buffer.from(s), truncated: false });
const binary = (b: number[]): FilePreview => ({
  kind: 'binary',
  head: Buffer.from(b),
  truncated: false,
});

describe('file content diff', () => {
  it('gives unified hunks with three lines of context', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const after = before.replace('line 10', 'line ten');
    const d = textDiff(text(`${before}\n`), text(`${after}\n`));
    assert.equal(d.result, 'text');
    assert.deepEqual(d.hunks, [
      {
        oldStart: 8,
        oldLines: 7,
        newStart: 8,
        newLines: 7,
        lines: [
          ' line 7',
          ' line 8',
          ' line 9',
          '-line 10',
          '+line ten',
          ' line 11',
          ' line 12',
          ' line 13',
        ],
      },
    ]);
  });

  it('says identical, binary, or too many changes instead of lines', () => {
    assert.deepEqual(textDiff(text('a\n'), text('a\n')), { result: 'identical', hunks: [] });
    assert.equal(textDiff(binary([0, 1]), binary([0, 1])).result, 'identical');
    assert.equal(textDiff(binary([0, 1]), text('a\n')).result, 'binary');
    assert.equal(textDiff(undefined, binary([0])).result, 'binary');
    const many = (seed: string) =>
      text(Array.from({ length: 6000 }, (_, i) => `${seed}${i}`).join('\n'));
    assert.deepEqual(textDiff(many('a'), many('b')), { result: 'too-many', hunks: [] });
    // Absent on one side: all lines added.
    assert.deepEqual(textDiff(undefined, text('x\ny\n')).hunks[0]?.lines, ['+x', '+y']);
  });
});
