import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/** dive's figures for the wasteful image: a written twice (100 + 100), b whited out (50). */
const WASTED = 250;
const EFFICIENCY = (100 + 0 + 10) / (200 + 50 + 10);

describe('ocipeek layers --ci: exit codes on wasted space, as dive --ci', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let waste: string;
  let lean: string;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-layers-ci');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, {
      refName: 'waste',
      layerEntries: [
        [
          { path: 'a', content: 'A'.repeat(100) },
          { path: 'b', content: 'B'.repeat(50) },
          { path: 'keep', content: 'K'.repeat(10) },
        ],
        [{ path: 'a', content: 'a'.repeat(100) }, { path: '.wh.b' }],
      ],
    });
    await randomImage(w, {
      refName: 'lean',
      layerEntries: [[{ path: 'a', content: 'A'.repeat(100) }], [{ path: 'b', content: 'B' }]],
    });
    await w.finish();
    await pushLayout(layout, 'waste', reg, 'ci/app:waste');
    await pushLayout(layout, 'lean', reg, 'ci/app:lean');
    waste = `${reg.host}/ci/app:waste`;
    lean = `${reg.host}/ci/app:lean`;
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it("dive's defaults: the wasteful image fails (exit 1), the lean one passes", async () => {
    const bad = await runCli(['layers', waste, '--ci']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.out, /FAIL: lowestEfficiency: 42\.31% \(limit 90\.00%\)/);
    assert.match(bad.out, /Result: FAIL \[Total: 2\] \[Passed: 0\] \[Failed: 2\]/);
    const good = await runCli(['layers', lean, '--ci']);
    assert.equal(good.code, 0, good.out + good.stderr);
    assert.match(good.out, /Result: PASS \[Total: 2\] \[Passed: 2\] \[Failed: 0\]/);
  });

  it('each limit decides on its side of the image figure; JSON carries the verdicts', async () => {
    const judge = async (flags: string[]) => {
      const r = await runCli(['layers', waste, '--ci', '--json', ...flags]);
      return { code: r.code, rules: JSON.parse(r.out).rules as Array<Record<string, unknown>> };
    };
    const lenient = ['--lowest-efficiency', '0.4', '--highest-user-wasted-percent', '100'];
    const atLimit = await judge([...lenient, '--highest-wasted-bytes', String(WASTED)]);
    assert.equal(atLimit.code, 0);
    assert.deepEqual(
      atLimit.rules.map((r) => [r.rule, r.actual, r.passed]),
      [
        ['lowestEfficiency', EFFICIENCY, true],
        ['highestWastedBytes', WASTED, true],
        ['highestUserWastedPercent', atLimit.rules[2]!.actual, true],
      ],
    );
    const over = await judge([...lenient, '--highest-wasted-bytes', String(WASTED - 1)]);
    assert.equal(over.code, 1);
    assert.deepEqual(
      over.rules.map((r) => r.passed),
      [true, false, true],
    );
    const tooLow = await judge([
      '--lowest-efficiency',
      '43%',
      '--highest-user-wasted-percent',
      '100',
    ]);
    assert.equal(tooLow.code, 1);
    assert.deepEqual(
      tooLow.rules.map((r) => r.passed),
      [false, true],
    );
  });

  it('without --ci the limits are a usage error; a bad ratio too', async () => {
    const r = await runCli(['layers', waste, '--lowest-efficiency', '0.5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /apply with --ci/);
    const bad = await runCli(['layers', waste, '--ci', '--lowest-efficiency', 'most']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected a ratio/);
  });
});
