import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
import { CLI_PATH, runCli } from '../harness/run-cli.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Read a FIFO to its end in a child process (`cat`), so our writer can open it. */
function drainFifo(fifo: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('-o writes through what the path is (blob, export, wasm)', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let app: BuiltImage;
  let ref: string;
  let store: string;
  const cli = (args: string[]) => runCli(['--store', store, ...args]);

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-output');
    store = join(dir.path, 'store');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    app = await randomImage(w, { layers: 1, refName: 'app' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'app', reg, 'out/app:v1');
    ref = `${reg.host}/out/app:v1`;
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('a regular file is replaced only once verified; its mode is kept', async () => {
    const file = join(dir.path, 'blob.bin');
    writeFileSync(file, 'old', { mode: 0o640 });
    const layer = app.layers[0]!;
    const r = await cli(['blob', ref, layer.digest, '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(file)), layer.digest.slice(7));
    assert.equal(lstatSync(file).mode & 0o777, 0o640);
    // A wrong digest: an error, and the file is as it was.
    const wrong = `sha256:${'0'.repeat(64)}`;
    const bad = await cli(['blob', ref, wrong, '-o', file]);
    assert.notEqual(bad.code, 0);
    assert.equal(sha256(readFileSync(file)), layer.digest.slice(7));
    assert.deepEqual(
      readdirSync(dir.path).filter((n) => n.startsWith('.blob.bin')),
      [],
      'no temp file left',
    );
  });

  it('a symbolic link stays a link and its target gets the bytes (also a dangling one)', async () => {
    const layer = app.layers[0]!;
    const target = join(dir.path, 'target.bin');
    const link = join(dir.path, 'link.bin');
    writeFileSync(target, 'old');
    symlinkSync('target.bin', link);
    assert.equal((await cli(['blob', ref, layer.digest, '-o', link])).code, 0);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), 'target.bin');
    assert.equal(sha256(readFileSync(target)), layer.digest.slice(7));

    const dangling = join(dir.path, 'dangling.bin');
    symlinkSync('made-by-write.bin', dangling);
    assert.equal((await cli(['blob', ref, layer.digest, '-o', dangling])).code, 0);
    assert.ok(lstatSync(dangling).isSymbolicLink());
    assert.equal(sha256(readFileSync(join(dir.path, 'made-by-write.bin'))), layer.digest.slice(7));
  });

  it('a FIFO is written through, not replaced', async () => {
    const layer = app.layers[0]!;
    const fifo = join(dir.path, 'blob.fifo');
    execFileSync('mkfifo', [fifo]);
    const [read, r] = await Promise.all([
      drainFifo(fifo),
      cli(['blob', ref, layer.digest, '-o', fifo]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(read), layer.digest.slice(7));
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
  });

  it('a character device is written through: /dev/null stays /dev/null', async () => {
    const before = lstatSync('/dev/null');
    const r = await cli(['export', ref, '-o', '/dev/null']);
    assert.equal(r.code, 0, r.stderr);
    const now = lstatSync('/dev/null');
    assert.ok(now.isCharacterDevice());
    assert.equal(now.rdev, before.rdev);
    assert.equal(now.ino, before.ino);
    // Nothing was staged in /dev.
    assert.deepEqual(
      readdirSync('/dev').filter((n) => n.includes('staging') || n.startsWith('.null')),
      [],
    );
  });

  it('-o - is stdout, for blob and export', async () => {
    const layer = app.layers[0]!;
    const blob = await cli(['blob', ref, layer.digest, '-o', '-']);
    assert.equal(blob.code, 0, blob.stderr);
    assert.equal(sha256(blob.stdout), layer.digest.slice(7));
    assert.deepEqual(
      readdirSync(process.cwd()).filter((n) => n === '-'),
      [],
      'no file named -',
    );

    const exported = await cli(['export', ref, '-o', '-']);
    assert.equal(exported.code, 0, exported.stderr);
    // stdout is the archive alone, ending in tar's two zero blocks; the report is on stderr.
    assert.equal(exported.stdout.length % 512, 0);
    assert.ok(exported.stdout.subarray(-1024).every((b) => b === 0));
    assert.match(exported.stderr, /^exported .* -> oci-archive:-/);
    const file = join(dir.path, 'from-stdout.tar');
    writeFileSync(file, exported.stdout);
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes('index.json'), names.join(' '));
    assert.ok(names.includes(`blobs/sha256/${layer.digest.slice(7)}`), names.join(' '));
  });

  it('binary bytes are not written to a terminal without --force; text is', async () => {
    // `script` gives the command a pseudo-terminal as stdout.
    const onTty = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve, reject) => {
        const command = [process.execPath, CLI_PATH, '--store', store, ...args]
          .map((a) => `'${a}'`)
          .join(' ');
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString('latin1');
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? -1, out }));
      });
    const layer = app.layers[0]!;
    const refused = await onTty(['blob', ref, layer.digest]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /binary and stdout is a terminal: use -o FILE, a pipe, or --force/);
    assert.ok(!refused.out.includes('\x1f\x8b'), 'no gzip bytes reached the terminal');
    const config = await onTty(['blob', ref, app.configDescriptor.digest]);
    assert.equal(config.code, 0, config.out);
    assert.match(config.out, /"rootfs"/);
    const forced = await onTty(['blob', '--force', ref, layer.digest]);
    assert.equal(forced.code, 0);
    assert.ok(forced.out.length > 0);
  });

  it('a directory is refused with one line, and nothing is written into it', async () => {
    const target = join(dir.path, 'a-dir');
    mkdirSync(target);
    const r = await cli(['blob', ref, app.layers[0]!.digest, '-o', target]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is a directory/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(readdirSync(target), []);
  });

  it('export stages in the store, and leaves nothing beside the archive', async () => {
    const out = join(dir.path, 'exports');
    mkdirSync(out);
    const r = await cli(['export', ref, '-o', join(out, 'app.tar')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out), ['app.tar']);
    assert.deepEqual(readdirSync(join(store, '.ocipeek', 'tmp')), []);
  });
});
