import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * The CLI bundle hands every import of `node:fs/promises` a stand-in that loads the module
 * on first use (scripts/bundle.mjs, `lazyFsPromises`): a remote `digest` never loads it,
 * and a command that does read files through it still works.
 */
describe('node:fs/promises in the CLI bundle', () => {
  let dir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let registry: RunningRegistry;
  let layout: string;
  let preload: string;

  before(async () => {
    dir = await tempDir('cli-lazy-fsp');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 1, refName: 'img' });
    await w.finish();
    registry = await startRegistry();
    await pushLayout(layout, 'img', registry, 'team/app:1');
    // Records which built-ins the run loaded (Node's own list), when it exits.
    preload = join(dir.path, 'record-modules.cjs');
    await writeFile(
      preload,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n",
    );
  });
  after(async () => {
    await registry?.stop();
    await dir?.remove();
  });

  /** `ocipeek ARGS` and the built-in modules it loaded. */
  async function runRecorded(args: string[], name: string) {
    const out = join(dir.path, `${name}.modules`);
    const run = await runCli(args, {
      env: { NODE_OPTIONS: `--require ${preload}`, MODULES_OUT: out },
    });
    assert.equal(run.code, 0, run.stderr);
    return { run, modules: (await readFile(out, 'utf8')).split('\n') };
  }

  it('a remote digest prints the digest without loading it', async () => {
    const { run, modules } = await runRecorded(['digest', `${registry.host}/team/app:1`], 'remote');
    assert.equal(run.out.trim(), image.descriptor.digest);
    assert.ok(modules.includes('NativeModule crypto'), 'the list is the real one');
    assert.ok(!modules.includes('NativeModule fs/promises'));
  });

  it('a command reading an oci: layout loads it on first use and works', async () => {
    const { run, modules } = await runRecorded(['digest', `oci:${layout}:img`], 'layout');
    assert.equal(run.out.trim(), image.descriptor.digest);
    assert.ok(modules.includes('NativeModule fs/promises'));
  });
});
