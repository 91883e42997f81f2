/**
 * Names are bytes: an image whose layers (written by GNU tar) hold Latin-1 names that are
 * not UTF-8, `caf\xe9` and `caf\xe8`, keeps them distinct and exact through every command:
 * listing, cat, unpack (compared with umoci), diff, archives and conversion.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Store } from '../../src/store/index.js';
import { encodeName } from '../../src/tar/index.js';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

const b = (...parts: Array<string | number[] | Buffer>) =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const E9 = b('caf', [0xe9]);
const E8 = b('caf', [0xe8]);
const HARD = b('hard', [0xff]);
const DIR = b('d', [0xff]);
const NEW = b('new', [0xe7]);
// Over 100 bytes: a PAX path (posix format) or a GNU long name holding the bytes.
const LONG_DIR = b('long-', 'x'.repeat(110), [0xfe]);
const LONG = b(LONG_DIR, '/n', [0xe9]);
/** How ocipeek prints a name: each byte that is not UTF-8 as \xNN. */
const shown = (name: Buffer) =>
  name.toString('latin1').replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);

/** Write files (Buffer names) below `root` and tar them with GNU tar in `format`. */
async function gnuTar(
  root: Buffer,
  format: 'posix' | 'gnu',
  build: (at: (...p: Buffer[]) => Buffer) => Promise<void>,
) {
  await mkdir(root, { recursive: true });
  const at = (...parts: Buffer[]) => Buffer.concat([root, ...parts.flatMap((p) => [b('/'), p])]);
  await build(at);
  const { stdout } = await run(
    'tar',
    [
      `--format=${format}`,
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-cf',
      '-',
      '-C',
      root.toString(),
      '.',
    ],
    { encoding: 'buffer', maxBuffer: 16 << 20 },
  );
  return stdout;
}

/** Every path below `root` by its bytes (latin1 keys), with type, mode, content and target. */
async function byteTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: Buffer) => {
    const abs = b(root, rel);
    for (const name of await readdir(abs, { encoding: 'buffer' })) {
      const child = b(rel, '/', name);
      const at = b(abs, '/', name);
      const st = await lstat(at);
      const mode = (st.mode & 0o7777).toString(8);
      const key = child.toString('latin1');
      if (st.isDirectory()) {
        out[key] = `dir ${mode}`;
        await visit(child);
      } else if (st.isSymbolicLink()) {
        out[key] = `symlink -> ${(await readlink(at, { encoding: 'buffer' })).toString('latin1')}`;
      } else {
        const sha = createHash('sha256')
          .update(await readFile(at))
          .digest('hex')
          .slice(0, 16);
        out[key] = `file ${mode} ${sha} links=${st.nlink}`;
      }
    }
  };
  await visit(Buffer.alloc(0));
  return out;
}

describe('names that are not UTF-8, end to end', () => {
  let reg: RunningRegistry;
  let dir: TempDir;
  let layout: string;
  let storeN = 0;
  let umociTree: Record<string, string>;
  const store = () => join(dir.path, `store-${storeN++}`);
  const ref = (tag: string) => `${reg.host}/bytes/names:${tag}`;
  const cli = async (...args: string[]) => {
    const r = await runCli(args);
    assert.equal(r.code, 0, `ocipeek ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('byte-names');
    const src = (name: string) => Buffer.from(join(dir.path, name));
    const lower = await gnuTar(src('lower'), 'posix', async (at) => {
      await writeFile(at(E9), 'e-acute\n');
      await writeFile(at(E8), 'e-grave\n');
      await symlink(E8, at(b('sym')));
      await link(at(E9), at(HARD));
      await mkdir(at(DIR));
      await writeFile(at(DIR, b('x')), 'x\n');
      await mkdir(at(LONG_DIR));
      await writeFile(at(LONG), 'long\n');
    });
    const upper = await gnuTar(src('upper'), 'gnu', async (at) => {
      await writeFile(at(E9), 'changed\n');
      await writeFile(at(NEW), 'new\n');
      await writeFile(at(b('.wh.', DIR)), '');
    });
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, { layerTars: [lower], refName: 'a' });
    await randomImage(w, { layerTars: [lower, upper], refName: 'b' });
    await w.finish();
    await pushLayout(layout, 'a', reg, 'bytes/names:a');
    await pushLayout(layout, 'b', reg, 'bytes/names:b');
    // What every unpack of image b must write: umoci's reading of the same layers.
    const theirs = join(dir.path, 'umoci');
    await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${layout}:b`, theirs]);
    umociTree = await byteTree(theirs);
  });
  after(async () => {
    await reg.stop();
    await dir.remove();
  });

  it('ls and find show two distinct escaped names; JSON keeps the bytes as \\udcXX', async () => {
    const s = store();
    const ls = (await cli('ls', ref('a'), '--store', s)).out.trim().split('\n');
    assert.deepEqual(
      ls.sort(),
      [shown(E8), shown(E9), shown(DIR), shown(HARD), shown(LONG_DIR), 'sym'].sort(),
    );
    const long = (await cli('ls', '-l', ref('a'), '--store', s)).out;
    assert.match(long, /sym -> caf\\xe8\n/);
    assert.match(long, /hard\\xff => \/caf\\xe9\n/);
    const found = (await cli('find', ref('a'), '/', '--type', 'f', '--store', s)).out
      .trim()
      .split('\n');
    // A hardlink is a file, as GNU find sees it on the unpacked tree.
    assert.deepEqual(
      found.sort(),
      [
        `/${shown(E8)}`,
        `/${shown(E9)}`,
        `/${shown(DIR)}/x`,
        `/${shown(HARD)}`,
        `/${shown(LONG)}`,
      ].sort(),
    );
    const json = (await cli('ls', ref('a'), '-R', '--json', '--store', s)).out;
    assert.match(json, /"\/caf\\udce9"/);
    const paths = (JSON.parse(json) as Array<{ path: string }>).map((e) =>
      encodeName(e.path).toString('latin1'),
    );
    assert.deepEqual(
      paths.sort(),
      [E9, E8, b('sym'), HARD, DIR, b(DIR, '/x'), LONG_DIR, LONG]
        .map((p) => `/${p.toString('latin1')}`)
        .sort(),
    );
  });

  it('cat and stat reach each name, typed the way ls prints it', async () => {
    const s = store();
    const cat = async (p: string) => (await cli('cat', ref('a'), p, '--store', s)).out;
    assert.equal(await cat(shown(E9)), 'e-acute\n');
    assert.equal(await cat(`/${shown(E8)}`), 'e-grave\n');
    assert.equal(await cat('sym'), 'e-grave\n');
    assert.equal(await cat(shown(HARD)), 'e-acute\n');
    assert.equal(await cat(shown(LONG)), 'long\n');
    const utf8 = await runCli(['cat', ref('a'), 'caf\\xc3\\xa9', '--store', s]);
    assert.notEqual(utf8.code, 0, 'café in UTF-8 is another name');
    assert.match(utf8.stderr, /café/);
    const stat = (await cli('stat', ref('a'), 'sym', '--store', s)).out;
    assert.match(stat, /Link: +caf\\xe8\n/);
  });

  it('unpack writes the exact bytes, as umoci raw unpack does', async () => {
    const ours = join(dir.path, 'ours');
    await cli('unpack', ref('b'), ours, '--rootless', '--store', store());
    assert.deepEqual(await byteTree(ours), umociTree);
    const top = (await readdir(ours, { encoding: 'buffer' })).sort(Buffer.compare);
    assert.deepEqual(top, [E9, E8, HARD, LONG_DIR, NEW, b('sym')].sort(Buffer.compare));
    assert.equal(await readFile(b(ours, '/', E9), 'utf8'), 'changed\n');
    assert.equal(await readFile(b(ours, '/', E8), 'utf8'), 'e-grave\n');
    assert.deepEqual(await readlink(b(ours, '/sym'), { encoding: 'buffer' }), E8);
  });

  it('diff names added, removed and changed paths by their bytes', async () => {
    const s = store();
    // diff exits 1 when the images differ, as diff(1) does.
    const differ = await runCli(['diff', ref('a'), ref('b'), '--store', s]);
    assert.equal(differ.code, 1, differ.stderr);
    const out = differ.out.trim().split('\n');
    assert.deepEqual(out, [
      `+ /${shown(NEW)}`,
      `- /${shown(DIR)}`,
      `- /${shown(DIR)}/x`,
      `~ /${shown(E9)} (content)`,
    ]);
    const json = JSON.parse(
      (await runCli(['diff', ref('a'), ref('b'), '--json', '--store', s])).out,
    );
    assert.deepEqual(encodeName(json.added[0].path), b('/', NEW));
  });

  it('export and import of oci- and docker-archives, and eStargz conversion, keep the bytes', async () => {
    const s = store();
    const original = (await cli('ls', '-R', '-l', ref('b'), '--store', s)).out;
    const want = umociTree;
    for (const format of ['oci-archive', 'docker-archive'] as const) {
      const file = join(dir.path, `b.${format}.tar`);
      await cli('export', ref('b'), '-o', file, '--format', format, '--store', s);
      const t = store();
      const name = `example.com/imported/${format}:v1`;
      await cli('import', file, name, '--store', t);
      assert.equal((await cli('ls', '-R', '-l', name, '--store', t)).out, original, format);
      const unpacked = join(dir.path, `unpacked-${format}`);
      await cli('unpack', name, unpacked, '--rootless', '--store', t);
      assert.deepEqual(await byteTree(unpacked), want, format);
    }
    // docker-archive holds each layer as a plain tar: GNU tar lists the exact names.
    const docker = join(dir.path, 'b.docker-archive.tar');
    const saved = JSON.parse((await run('tar', ['-xOf', docker, 'manifest.json'])).stdout);
    const upper = await run('tar', ['-xOf', docker, saved[0].Layers[1]], {
      encoding: 'buffer',
      maxBuffer: 16 << 20,
    });
    const names = await listTar(upper.stdout);
    assert.ok(names.includes(`./${NEW.toString('latin1')}`), names.join(' '));

    const conv = 'example.com/converted/bytes:v1';
    await cli('convert', ref('b'), `store:${conv}`, '--estargz', '--store', s);
    // The same entries, less eStargz's own files (their sizes also change column widths).
    const rows = (listing: string) =>
      listing
        .trim()
        .split('\n')
        .map((l) => l.replace(/ +L\d+ +/, ' ').replace(/ +/g, ' '))
        .filter((l) => !/ \/(\.no\.prefetch\.landmark|stargz\.index\.json)$/.test(l));
    assert.deepEqual(rows((await cli('ls', '-R', '-l', conv, '--store', s)).out), rows(original));
    assert.equal((await cli('cat', conv, shown(E8), '--store', s)).out, 'e-grave\n');
    const unpacked = join(dir.path, 'unpacked-estargz');
    await cli('unpack', conv, unpacked, '--rootless', '--store', s);
    // eStargz's own files are ordinary files of the layers (umoci writes them too).
    const {
      '/.no.prefetch.landmark': _l,
      '/stargz.index.json': _t,
      ...rest
    } = await byteTree(unpacked);
    assert.deepEqual(rest, want);
    // The converted layer, read by GNU tar.
    const stored = await Store.open(s, { create: false });
    const manifestDesc = await stored.resolve(conv);
    const manifest = JSON.parse(await readFile(stored.blobPath(manifestDesc!.digest), 'utf8'));
    const layers: Array<{ digest: string }> = manifest.layers;
    const blob = await readFile(stored.blobPath(layers[0]!.digest));
    const lowerNames = await listTar(gunzipSync(blob));
    for (const name of [E9, E8, HARD, LONG]) {
      assert.ok(
        lowerNames.some((n) => n.endsWith(name.toString('latin1'))),
        shown(name),
      );
    }
  });
});

/** Names GNU tar reads in `tar`, bytes kept (latin1 strings). */
async function listTar(tar: Buffer): Promise<string[]> {
  const child = execFile('tar', ['-tf', '-', '--quoting-style=literal'], {
    encoding: 'buffer',
    maxBuffer: 16 << 20,
  });
  const done = new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => parts.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`tar exited ${code}`)),
    );
  });
  child.stdin!.end(tar);
  return (await done).toString('latin1').trim().split('\n');
}
