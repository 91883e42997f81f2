import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printList, printTable, table } from '../../../src/cli/format.js';

describe('CLI output formatting', () => {
  it('table pads every column but the last to its widest cell and trims line ends', () => {
    const rows = [
      ['-rw-r--r--', '0/0', '12', 'a'],
      ['drwxr-xr-x', '1000/1000', '4096', 'dir'],
      ['x', 'y'],
      ['only', '', ''],
    ];
    assert.equal(
      table(rows),
      [
        '-rw-r--r--  0/0        12    a',
        'drwxr-xr-x  1000/1000  4096  dir',
        'x           y',
        'only',
      ].join('\n'),
    );
    assert.equal(table([]), '');
  });

  it('printList writes a list far longer than a call can spread, line for line, in batches', () => {
    const lines = Array.from({ length: 300_000 }, (_, i) => `/f/${i}`);
    assert.throws(() => ((...a: string[]) => a.length)(...lines), RangeError);
    const writes: string[] = [];
    printList(lines, { write: (t: string) => writes.push(t) });
    assert.ok(writes.length > 1, 'more than one write');
    assert.deepEqual(writes.join('').split('\n'), [...lines, '']);
  });

  it('printTable lays rows out as table does, in batches, keeping a name that ends in a space', () => {
    const rows = [
      ['-rw-r--r--', '0/0', '12', 'a'],
      ['drwxr-xr-x', '1000/1000', '4096', 'dir'],
      ['x', 'y'],
      ['a', 'longer cell than the others'],
      ['only', '', ''],
    ];
    const writes: string[] = [];
    printTable(rows, { write: (t: string) => writes.push(t) });
    assert.equal(writes.join(''), `${table(rows)}\n`);
    const spaced: string[] = [];
    printTable([['-rw-r--r--', 'name ends in a space ']], { write: (t: string) => spaced.push(t) });
    assert.equal(spaced.join(''), '-rw-r--r--  name ends in a space \n');
    const many = Array.from({ length: 40_000 }, (_, i) => ['m', String(i), `/f/${i}`]);
    const batches: string[] = [];
    printTable(many, { write: (t: string) => batches.push(t) });
    assert.ok(batches.length > 1, 'more than one write');
    assert.equal(batches.join(''), `${table(many)}\n`);
  });
});
