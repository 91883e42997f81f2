import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LEAN_BUNDLES, LIGHT_COMMANDS, PULL_COMMANDS } from '../../src/cli/light-commands.js';
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

/** The first 16 hex digits of a built bundle's sha256: its code cache files start with them. */
async function bundleHash(name: string): Promise<string> {
  const file = fileURLToPath(new URL(`../../dist/bin/${name}`, import.meta.url));
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The launcher runs the small registry commands from the light CLI bundle and `pull` from
 * the pull bundle (src/cli/light-commands.ts, scripts/bundle.mjs), everything else from
 * the full one.
 * Which bundle ran is read from the code cache file the run wrote (named by the bundle's
 * hash); what it printed must be right for every form of argument these commands take.
 */
describe('the light CLI bundle', () => {
  let dir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let registry: RunningRegistry;
  let layout: string;
  let light: string;
  let pull: string;
  let full: string;
  let runs = 0;

  before(async () => {
    dir = await tempDir('cli-light');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 1, refName: 'img' });
    await w.finish();
    registry = await startRegistry();
    await pushLayout(layout, 'img', registry, 'team/app:1');
    light = await bundleHash('ocipeek-cli-light.js');
    pull = await bundleHash('ocipeek-cli-pull.js');
    full = await bundleHash('ocipeek-cli.js');
  });
  after(async () => {
    await registry?.stop();
    await dir?.remove();
  });

  /** `ocipeek ARGS` with a code cache folder of its own, and the bundle hash that ran. */
  async function run(args: string[], env: Record<string, string> = {}) {
    const cache = join(dir.path, `cache-${runs++}`);
    const result = await runCli(args, { env: { ...env, OCIPEEK_COMPILE_CACHE: cache } });
    const files = (await readdir(cache)).filter((f) => f.endsWith('.bin'));
    assert.equal(files.length, 1, `one cache file: ${files}`);
    return { ...result, bundle: files[0]!.slice(0, 16) };
  }

  it('is a different, smaller bundle', async () => {
    assert.notEqual(light, full);
    const size = async (name: string) =>
      (await stat(fileURLToPath(new URL(`../../dist/bin/${name}`, import.meta.url)))).size;
    const [lightBytes, pullBytes, fullBytes] = [
      await size('ocipeek-cli-light.js'),
      await size('ocipeek-cli-pull.js'),
      await size('ocipeek-cli.js'),
    ];
    assert.ok(lightBytes < fullBytes * 0.5, `${lightBytes} of ${fullBytes} bytes`);
    assert.notEqual(pull, full);
    assert.notEqual(pull, light);
    assert.ok(pullBytes < fullBytes * 0.5, `${pullBytes} of ${fullBytes} bytes`);
  });

  it('runs the remote commands, with the right answers', async () => {
    const ref = `${registry.host}/team/app:1`;
    const digest = await run(['digest', ref]);
    assert.equal(digest.code, 0, digest.stderr);
    assert.equal(digest.bundle, light);
    assert.equal(digest.out.trim(), image.descriptor.digest);

    const inspect = await run(['inspect', ref, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.bundle, light);
    assert.equal(JSON.parse(inspect.out).digest, image.descriptor.digest);

    const manifest = await run(['manifest', ref]);
    assert.equal(manifest.code, 0, manifest.stderr);
    assert.equal(manifest.bundle, light);
    assert.deepEqual(manifest.stdout, image.manifestBytes);

    const config = await run(['config', ref]);
    assert.equal(config.code, 0, config.stderr);
    assert.equal(config.bundle, light);
    assert.deepEqual(config.stdout, image.configBytes);

    const tags = await run(['tags', `${registry.host}/team/app`]);
    assert.equal(tags.code, 0, tags.stderr);
    assert.equal(tags.bundle, light);
    assert.equal(tags.out, '1\n');
  });

  /** `ocipeek ARGS` through `run`, and whether it loaded each of the built-ins `builtins`. */
  async function recorded(args: string[], builtins: string[]) {
    const preload = join(dir.path, 'record-modules.cjs');
    await writeFile(
      preload,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n",
    );
    const out = join(dir.path, `modules-${runs}`);
    const got = await run(args, { NODE_OPTIONS: `--require ${preload}`, MODULES_OUT: out });
    assert.equal(got.code, 0, got.stderr);
    const modules = (await readFile(out, 'utf8')).split('\n');
    return { ...got, loaded: builtins.map((b) => modules.includes(`NativeModule ${b}`)) };
  }

  it('loads node:crypto only for commands that hash', async () => {
    // Loading it costs ~13 M instructions and `tags` hashes nothing. With the static
    // imports in digest/, auth/login.ts and registry/delete.ts, tags loaded it: checked.
    const tags = await recorded(['tags', `${registry.host}/team/app`], ['crypto']);
    assert.equal(tags.bundle, light);
    assert.equal(tags.out, '1\n');
    assert.deepEqual(tags.loaded, [false]);
    const digest = await recorded(['digest', `${registry.host}/team/app:1`], ['crypto']);
    assert.equal(digest.out.trim(), image.descriptor.digest);
    assert.deepEqual(digest.loaded, [true]);
  });

  it('initialises the store code only when there is a store', async () => {
    // node:timers/promises stands for the store's code here: in the light bundle only the
    // store's file lock imports it (and peek, not a light command), and it is a built-in,
    // so Node's own list shows whether that module ran. With the store imported statically
    // by cli/image-source.ts and places/, a remote digest loaded it: checked.
    const ref = `${registry.host}/team/app:1`;
    const store = join(dir.path, 'store');
    for (const args of [
      ['digest', ref],
      ['inspect', ref, '--json'],
    ]) {
      const remote = await recorded(args, ['timers/promises']);
      assert.equal(remote.bundle, light);
      assert.deepEqual(remote.loaded, [false], `${args[0]} loaded the store's code`);
    }
    const pulled = await runCli(['pull', ref, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    // From the store, offline and with the tag checked against the registry: it is loaded.
    for (const extra of [['--offline'], []]) {
      const stored = await recorded(
        ['digest', ref, '--store', store, ...extra],
        ['timers/promises'],
      );
      assert.equal(stored.bundle, light);
      assert.equal(stored.out.trim(), image.descriptor.digest);
      assert.deepEqual(stored.loaded, [true]);
    }
  });

  it('runs them for an oci: layout too, and after global options', async () => {
    const local = await run(['digest', `oci:${layout}:img`]);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(local.bundle, light);
    assert.equal(local.out.trim(), image.descriptor.digest);

    // A value option before the command word: its value is not the word.
    const afterOptions = await run(['--retries', '1', 'digest', `oci:${layout}:img`]);
    assert.equal(afterOptions.code, 0, afterOptions.stderr);
    assert.equal(afterOptions.bundle, light);
    assert.equal(afterOptions.out.trim(), image.descriptor.digest);
  });

  it('says what went wrong in the same words, and runs the full bundle for --verbose', async () => {
    const ref = `${registry.host}/team/nothing:1`;
    const plain = await run(['digest', ref]);
    assert.equal(plain.bundle, light);
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr, `ocipeek: manifest unknown: manifest ${ref}: manifest unknown\n`);
    // The light bundle's names are minified; a stack trace must name the functions.
    for (const flag of ['--verbose', '-v']) {
      const verbose = await run(['digest', ref, flag]);
      assert.equal(verbose.bundle, full, flag);
      assert.equal(verbose.code, 1);
      assert.match(verbose.stderr, /^ocipeek: \w*NotFoundError: manifest unknown/m, flag);
      assert.match(verbose.stderr, /^ +at async getManifest \(/m, flag);
    }
  });

  /** The store's blob files by digest, each checked against its name. */
  async function storedBlobs(store: string): Promise<Map<string, Buffer>> {
    const blobs = new Map<string, Buffer>();
    const folder = join(store, 'blobs', 'sha256');
    for (const hex of await readdir(folder)) {
      const bytes = await readFile(join(folder, hex));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), hex);
      blobs.set(`sha256:${hex}`, bytes);
    }
    return blobs;
  }

  it('runs pull from the pull bundle, which stores every blob as pushed', async () => {
    const store = join(dir.path, 'store-remote');
    const ref = `${registry.host}/team/app:1`;
    const pulled = await run(['--store', store, 'pull', ref, '--json']);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.bundle, pull);
    const json = JSON.parse(pulled.out);
    assert.equal(json.digest, image.descriptor.digest);
    assert.deepEqual(json.layersFetched, [image.layers[0]!.digest]);
    // The manifest, the config and the layer.
    assert.equal(
      json.bytesFetched,
      image.manifestBytes.length + image.configBytes.length + image.layers[0]!.size,
    );
    const blobs = await storedBlobs(store);
    assert.deepEqual(blobs.get(image.descriptor.digest), image.manifestBytes);
    assert.deepEqual(blobs.get(image.configDescriptor.digest), image.configBytes);
    assert.deepEqual(blobs.get(image.layers[0]!.digest), image.layers[0]!.blob);
    assert.equal(blobs.size, 3);
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
    assert.deepEqual(
      index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [
        m.digest,
        m.annotations['org.opencontainers.image.ref.name'],
      ]),
      [[image.descriptor.digest, ref]],
    );
    // Up to date now: one HEAD, nothing fetched.
    const again = await run(['--store', store, 'pull', ref]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.bundle, pull);
    assert.equal(again.out, `${ref}: up to date\ndigest: ${image.descriptor.digest}\n`);
  });

  it('pulls an oci: layout from the pull bundle too, and runs the full one for --verbose', async () => {
    // A layout that records the image's name (as an archive's does) is copied into the store.
    const named = join(dir.path, 'named');
    await cp(layout, named, { recursive: true });
    const indexFile = join(named, 'index.json');
    const layoutIndex = JSON.parse(await readFile(indexFile, 'utf8'));
    layoutIndex.manifests[0].annotations['io.containerd.image.name'] = 'example.com/team/app:1';
    await writeFile(indexFile, JSON.stringify(layoutIndex));
    const store = join(dir.path, 'store-local');
    const local = await run(['--store', store, 'pull', `oci:${named}:img`, '--json']);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(local.bundle, pull);
    assert.equal(JSON.parse(local.out).destination, 'store:example.com/team/app:1');
    const blobs = await storedBlobs(store);
    assert.deepEqual(blobs.get(image.descriptor.digest), image.manifestBytes);
    assert.deepEqual(blobs.get(image.layers[0]!.digest), image.layers[0]!.blob);
    // Without a recorded name: refused with the hint, in the pull bundle.
    const unnamed = await run(['--store', store, 'pull', `oci:${layout}:img`]);
    assert.equal(unnamed.bundle, pull);
    assert.equal(unnamed.code, 2, unnamed.stderr);
    assert.match(unnamed.stderr, /records no image name; name it: ocipeek copy oci:/);
    const verbose = await run(['--store', store, 'pull', `${registry.host}/team/app:1`, '-v']);
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.equal(verbose.bundle, full);
  });

  it("prints each light command's help as the command's own", async () => {
    for (const [word, bundle] of [
      ...[...LIGHT_COMMANDS].map((w) => [w, light] as const),
      ...[...PULL_COMMANDS].map((w) => [w, pull] as const),
    ]) {
      const help = await run([word, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.equal(help.bundle, bundle, word);
      assert.match(help.out, new RegExp(`^Usage: ocipeek ${word} `), word);
    }
  });

  it('leaves every other command line to the full bundle', async () => {
    // The list of all commands (only the full bundle has them all).
    const help = await run(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.bundle, full);
    for (const word of ['digest', 'pull', 'unpack', 'serve']) {
      assert.match(help.out, new RegExp(`^  ${word} `, 'm'), word);
    }
    // A command not in the light bundle.
    const ls = await run(['ls', `oci:${layout}:img`, '/']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.bundle, full);
    // After `--` there is no command word.
    const dashes = await run(['--', 'digest', `oci:${layout}:img`]);
    assert.equal(dashes.bundle, full);
    // The value of a global option that happens to be a light command's name.
    const value = await run(['--username', 'digest', 'images']);
    assert.equal(value.bundle, full);
  });

  it('runs the full bundle when a lean one is missing, unreadable or cut short', async () => {
    // A copy of dist/bin whose lean bundles are broken as a packager or an interrupted
    // copy could leave them: the command runs all the same, from the full bundle (which
    // holds every command), with the same answer. Before the fallback the launcher died
    // reading or compiling the lean file.
    const bin = join(dir.path, 'partial-bin');
    await cp(dirname(fileURLToPath(new URL('../../dist/bin/ocipeek.js', import.meta.url))), bin, {
      recursive: true,
    });
    const launcher = join(bin, 'ocipeek.js');
    /** `ocipeek ARGS` from the copy, with a cache folder of its own, and the bundle that ran. */
    const runCopy = async (args: string[]) => {
      const cache = join(dir.path, `cache-${runs++}`);
      const result = await runCli(args, { launcher, env: { OCIPEEK_COMPILE_CACHE: cache } });
      const files = (await readdir(cache)).filter((f) => f.endsWith('.bin'));
      assert.equal(files.length, 1, `one cache file: ${files}`);
      return { ...result, bundle: files[0]!.slice(0, 16) };
    };
    // Intact: the lean bundles run.
    const intact = await runCopy(['digest', `oci:${layout}:img`]);
    assert.equal(intact.code, 0, intact.stderr);
    assert.equal(intact.bundle, light);

    // Missing.
    await rm(join(bin, 'ocipeek-cli-light.js'));
    const missing = await runCopy(['digest', `oci:${layout}:img`]);
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.bundle, full);
    assert.equal(missing.out.trim(), image.descriptor.digest);
    assert.equal(missing.stderr, '');
    // Unreadable (a folder where the file should be: EISDIR, whoever runs the test).
    await mkdir(join(bin, 'ocipeek-cli-light.js'));
    const unreadable = await runCopy(['manifest', `oci:${layout}:img`]);
    assert.equal(unreadable.code, 0, unreadable.stderr);
    assert.equal(unreadable.bundle, full);
    assert.deepEqual(unreadable.stdout, image.manifestBytes);

    // Cut short: it does not compile, and nothing of it ran.
    const pullFile = join(bin, 'ocipeek-cli-pull.js');
    const pullSource = await readFile(pullFile);
    await writeFile(pullFile, pullSource.subarray(0, pullSource.length >> 1));
    const store = join(dir.path, 'store-partial-bin');
    const pulled = await runCopy(['--store', store, 'pull', `${registry.host}/team/app:1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.bundle, full);
    const blobs = await storedBlobs(store);
    assert.deepEqual(blobs.get(image.descriptor.digest), image.manifestBytes);
    assert.deepEqual(blobs.get(image.layers[0]!.digest), image.layers[0]!.blob);

    // A broken full bundle is still an error, not a silent nothing.
    await writeFile(join(bin, 'ocipeek-cli.js'), '(');
    const broken = await runCli(['digest', `oci:${layout}:img`], {
      launcher,
      env: { OCIPEEK_COMPILE_CACHE: 'off' },
    });
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /SyntaxError/);
  });

  it("keeps both bundles' caches when it prunes other builds' caches", async () => {
    const cache = join(dir.path, 'shared');
    const env = { OCIPEEK_COMPILE_CACHE: cache };
    const digest = await runCli(['digest', `oci:${layout}:img`], { env });
    assert.equal(digest.code, 0, digest.stderr);
    const [lightFile = ''] = await readdir(cache);
    assert.ok(lightFile.startsWith(light), lightFile);
    // Other bundles wrote here later than the light bundle's cache: one more than three
    // other builds of every bundle each (the full one and the lean ones).
    const kept = 3 * (LEAN_BUNDLES.length + 1);
    const rest = lightFile.slice(16);
    const later = Date.now() / 1000 + 100;
    for (let i = 0; i < kept + 1; i++) {
      const file = join(cache, `${String(i + 1).padStart(16, '0')}${rest}`);
      await writeFile(file, 'cache of another build');
      await utimes(file, later + i, later + i);
    }
    // The full bundle writes its cache and prunes to the newest other bundles of three
    // builds.
    const version = await runCli(['--version'], { env });
    assert.equal(version.code, 0, version.stderr);
    const files = (await readdir(cache)).sort();
    assert.ok(files.includes(lightFile), `the light cache is kept: ${files}`);
    assert.ok(files.some((f) => f.startsWith(full)));
    assert.ok(!files.some((f) => f.startsWith('0000000000000001')), 'the oldest other build went');
    assert.equal(files.length, kept + 2);
  });
});
