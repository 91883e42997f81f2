import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { build, file, opaque, whiteout } from './entries.js';

describe('layer statistics and efficiency (dive)', () => {
  it('matches figures computed by hand', async () => {
    const fs = await build([
      [file('a', 100), file('b', 50), file('d/x', 30), file('d/y', 20), file('e', 10)],
      [file('a', 120), whiteout('b'), whiteout('d'), file('f', 5)],
      [file('e', 15), file('g', 1)],
    ]);
    const [l0, l1, l2] = fs.layerStats();
    assert.deepEqual(
      [
        l0!.entries,
        l0!.sizeBytes,
        l0!.filesAdded,
        l0!.bytesAdded,
        l0!.filesModified,
        l0!.filesDeleted,
      ],
      [5, 210, 5, 210, 0, 0],
    );
    assert.deepEqual(
      [
        l1!.entries,
        l1!.sizeBytes,
        l1!.filesAdded,
        l1!.bytesAdded,
        l1!.filesModified,
        l1!.bytesModified,
        l1!.filesDeleted,
        l1!.bytesDeleted,
      ],
      [4, 125, 1, 5, 1, 120, 3, 100],
    );
    assert.deepEqual(
      [
        l2!.sizeBytes,
        l2!.filesAdded,
        l2!.bytesAdded,
        l2!.filesModified,
        l2!.bytesModified,
        l2!.filesDeleted,
      ],
      [16, 1, 1, 1, 15, 0],
    );
    // dive: leaves per layer; path sizes a[100,120] b[50,0] d/x[30] d/y[20] e[10,15] d[50] f[5] g[1]
    // Σmin = 100+0+30+20+10+50+5+1 = 216, Σcum = 220+50+30+20+25+50+5+1 = 401
    // wasted = paths seen twice: a 220 + b 50 + e 25 = 295
    const eff = fs.efficiency();
    assert.equal(eff.efficiency, 216 / 401);
    assert.equal(eff.wastedBytes, 295);
    assert.equal(eff.sizeBytes, 351);
    assert.equal(eff.userSizeBytes, 141);
    assert.equal(eff.wastedUserPercent, 295 / 141);
    // Bytes of versions later overwritten or deleted: a 100, b 50, d/x 30, d/y 20, e 10.
    assert.equal(eff.shadowedBytes, 210);
    assert.deepEqual(
      eff.inefficiencies.map((i) => [i.path, i.count, i.cumulativeSize]),
      [
        ['/a', 2, 220],
        ['/b', 2, 50],
        ['/e', 2, 25],
      ],
    );
  });

  it('counts what an opaque directory hides as deleted', async () => {
    const fs = await build([
      [file('d/x', 30), file('d/sub/z', 7)],
      [opaque('d'), file('d/y', 5)],
    ]);
    const l1 = fs.layerStats()[1]!;
    assert.deepEqual([l1.filesAdded, l1.filesDeleted, l1.bytesDeleted], [1, 2, 37]);
    // d/x [30,0], d/sub/z [7,0], d/y [5]: Σmin 5, Σcum 42, wasted 37
    const eff = fs.efficiency();
    assert.equal(eff.efficiency, 5 / 42);
    assert.equal(eff.wastedBytes, 37);
    assert.equal(eff.shadowedBytes, 37);
  });

  it('an image with nothing wasted scores 1', async () => {
    const fs = await build([[file('a', 10)], [file('b', 20)]]);
    const eff = fs.efficiency();
    assert.equal(eff.efficiency, 1);
    assert.equal(eff.wastedBytes, 0);
    assert.deepEqual(eff.inefficiencies, []);
    assert.equal((await build([])).efficiency().efficiency, 1);
  });
});
