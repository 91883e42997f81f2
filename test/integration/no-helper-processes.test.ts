import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeFd, receivePacket, seqpacketPair, trySendPacket } from '../../src/native/socket.js';
import {
  type BuiltImage,
  convertToZstdChunked,
  type LayerEntry,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH, type CliResult, runCli } from '../harness/run-cli.js';
import { readXattr } from '../harness/xattrs.js';

/*
 * The product starts no helper process: zstd is decoded, and xattrs, fifos and device
 * nodes are made, in process. Each CLI run here has a PATH holding only trap programs
 * (zstd, python3, mknod, mkfifo, setfattr) and preloads a module that records every
 * child_process spawn, so both a helper found by name and one started by absolute path
 * would show up in the log.
 */

const isRoot = process.geteuid?.() === 0;

const TRAP_PRELOAD = `
const cp = require('node:child_process');
const fs = require('node:fs');
const record = (how, file) => fs.appendFileSync(process.env.SPAWN_LOG, how + ' ' + file + '\\n');
const spawn = cp.ChildProcess.prototype.spawn;
cp.ChildProcess.prototype.spawn = function (options) {
  record('spawn', options && options.file);
  return spawn.call(this, options);
};
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'koffi') fs.appendFileSync(process.env.LOAD_LOG, request + '\\n');
  return load.call(this, request, ...rest);
};
for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
  const original = cp[name];
  cp[name] = function (file, ...rest) {
    record(name, file);
    return original.call(this, file, ...rest);
  };
}
`;

const LAYERS: LayerEntry[][] = [
  [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/motd', content: 'no helpers here\n' },
    { path: 'run/', type: 'dir' },
    { path: 'run/pipe', type: 'fifo', mode: 0o620 },
    { path: 'dev/', type: 'dir' },
    { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { path: 'dev/sda1', type: 'block', devmajor: 8, devminor: 1, mode: 0o660 },
    { path: 'home/user/', type: 'dir', uid: 1000, gid: 1000, mode: 0o750 },
    { path: 'home/user/.profile', content: 'PS1=$\n', uid: 1000, gid: 1000 },
  ],
  [
    {
      path: 'usr/bin/ping',
      content: 'ping',
      mode: 0o755,
      pax: { 'SCHILY.xattr.user.comment': 'kept', 'SCHILY.xattr.trusted.note': 'root only' },
    },
  ],
];

describe('no helper processes at run time', () => {
  let reg: RunningRegistry;
  let dir: TempDir;
  let trapBin: string;
  let preload: string;
  let zstdImage: BuiltImage;
  let n = 0;
  const fresh = (name: string) => join(dir.path, `${name}-${n++}`);
  const ref = (tag: string) => `${reg.host}/nohelper/img:${tag}`;

  /** The environment of a trapped run: only trap programs on PATH, spawns and loads logged. */
  async function trapped() {
    const log = fresh('spawn-log');
    const loads = fresh('load-log');
    await writeFile(log, '');
    await writeFile(loads, '');
    return {
      env: { PATH: trapBin, NODE_OPTIONS: `--require=${preload}`, SPAWN_LOG: log, LOAD_LOG: loads },
      logs: async () => ({
        spawned: await readFile(log, 'utf8'),
        loaded: await readFile(loads, 'utf8'),
      }),
    };
  }

  /** `ocipeek ARGS` with only trap programs on PATH, every spawn and koffi load logged. */
  async function cli(
    args: string[],
    stdin?: string,
  ): Promise<CliResult & { spawned: string; loaded: string }> {
    const trap = await trapped();
    const r = await runCli(args, { env: trap.env, stdin });
    return { ...r, ...(await trap.logs()) };
  }

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('no-helpers');
    trapBin = join(dir.path, 'trap-bin');
    await mkdir(trapBin);
    for (const name of ['zstd', 'unzstd', 'python3', 'python', 'mknod', 'mkfifo', 'setfattr']) {
      await writeFile(join(trapBin, name), `#!/bin/sh\necho "${name} was run" >&2\nexit 97\n`);
      await chmod(join(trapBin, name), 0o755);
    }
    preload = join(dir.path, 'trap.cjs');
    await writeFile(preload, TRAP_PRELOAD);
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    zstdImage = await randomImage(w, {
      layerEntries: LAYERS,
      compression: 'zstd',
      refName: 'zstd',
    });
    await randomImage(w, {
      refName: 'plain',
      layerEntries: [
        [
          { path: 'data/', type: 'dir' },
          { path: 'data/big.txt', content: 'chunked '.repeat(40_000) },
          { path: 'data/small.txt', content: 'small\n' },
        ],
      ],
    });
    await w.finish();
    await pushLayout(layout, 'zstd', reg, 'nohelper/img:zstd');
    const chunked = join(dir.path, 'chunked');
    await convertToZstdChunked(layout, 'plain', chunked, 'v1');
    await pushLayout(chunked, 'v1', reg, 'nohelper/img:chunked');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('the trap works: a spawn by name fails and is logged', async () => {
    const log = fresh('control-log');
    await writeFile(log, '');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        "require('node:child_process').execFile('zstd', ['-d'], (e) => process.exit(e ? 3 : 0))",
      ],
      {
        env: { PATH: trapBin, NODE_OPTIONS: `--require=${preload}`, SPAWN_LOG: log, LOAD_LOG: log },
      },
    );
    assert.equal(r.status, 3);
    assert.equal(await readFile(log, 'utf8'), 'spawn zstd\n');
  });

  it('inspect and pull do not even load the FFI package (start-up time)', async () => {
    const inspect = await cli(['inspect', ref('zstd')]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.loaded, '');
    const pull = await cli(['pull', ref('zstd'), '--store', fresh('store')]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.loaded, '');
    assert.equal(inspect.spawned + pull.spawned, '');
  });

  it('pull, ls -R -l and cat of a zstd image spawn nothing', async () => {
    const store = fresh('store');
    const pull = await cli(['pull', ref('zstd'), '--store', store]);
    assert.equal(pull.code, 0, pull.stderr);
    for (const where of [store, fresh('empty-store')]) {
      const ls = await cli(['ls', ref('zstd'), '/', '-R', '-l', '--store', where]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.out, /\/run\/pipe/);
      assert.match(ls.out, /\/dev\/null/);
      assert.equal(ls.spawned, '');
      assert.equal(ls.loaded, 'koffi\n', 'libzstd through koffi decodes the layer');
      const cat = await cli(['cat', ref('zstd'), '/etc/motd', '--store', where]);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.out, 'no helpers here\n');
      assert.equal(cat.spawned, '');
    }
    assert.equal(pull.spawned, '');
  });

  it('unpack --rootless makes the fifo and the owner xattrs without helpers', async () => {
    const store = fresh('store');
    const target = fresh('rootless');
    const r = await cli(['unpack', ref('zstd'), target, '--rootless', '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.spawned, '');
    const pipe = await lstat(join(target, 'run/pipe'));
    assert.ok(pipe.isFIFO());
    assert.equal(pipe.mode & 0o7777, 0o620);
    assert.equal(readXattr(join(target, 'usr/bin/ping'), 'user.comment')?.toString(), 'kept');
    // uid 1000, gid 1000 as rootlesscontainers.io's protobuf: fields 1 and 2, varints.
    const owner = Buffer.from([0x08, 0xe8, 0x07, 0x10, 0xe8, 0x07]);
    assert.deepEqual(readXattr(join(target, 'home/user'), 'user.rootlesscontainers'), owner);
    assert.deepEqual(
      readXattr(join(target, 'home/user/.profile'), 'user.rootlesscontainers'),
      owner,
    );
  });

  it('unpack as root makes devices, the fifo and trusted.* xattrs without helpers', {
    skip: !isRoot,
  }, async () => {
    const store = fresh('store');
    const target = fresh('root');
    const r = await cli(['unpack', ref('zstd'), target, '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.spawned, '');
    const nul = await lstat(join(target, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, 0x103);
    assert.equal(nul.mode & 0o7777, 0o666);
    const sda = await lstat(join(target, 'dev/sda1'));
    assert.ok(sda.isBlockDevice());
    assert.equal(sda.rdev, 0x801);
    assert.ok((await lstat(join(target, 'run/pipe'))).isFIFO());
    assert.equal(readXattr(join(target, 'usr/bin/ping'), 'trusted.note')?.toString(), 'root only');
    assert.equal((await lstat(join(target, 'home/user/.profile'))).uid, 1000);
  });

  it('ls and cat of a zstd:chunked image (TOC and chunks decoded in process) spawn nothing', async () => {
    const ls = await cli(['ls', ref('chunked'), '/data', '-l', '--store', fresh('store')]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.out, /big\.txt/);
    assert.equal(ls.spawned, '');
    const cat = await cli(['cat', ref('chunked'), '/data/big.txt', '--store', fresh('store')]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.out, 'chunked '.repeat(40_000));
    assert.equal(cat.spawned, '');
  });

  it('the image proxy serves both protocols without helpers (HTTP without koffi)', async () => {
    const http = await cli(
      ['proxy', `docker://${ref('zstd')}`],
      'GET /manifest HTTP/1.1\r\nHost: localhost\r\n\r\n',
    );
    assert.equal(http.code, 0, http.stderr);
    assert.match(http.out, new RegExp(`manifest-digest: ${zstdImage.descriptor.digest}`));
    assert.deepEqual([http.spawned, http.loaded], ['', '']);

    const trap = await trapped();
    const [ours, theirs] = seqpacketPair();
    const child = spawn(process.execPath, [CLI_PATH, 'experimental-image-proxy'], {
      env: trap.env,
      stdio: [theirs, 'ignore', 'inherit'],
    });
    closeFd(theirs);
    const exited = new Promise((resolve) => child.on('close', resolve));
    const reply = Buffer.alloc(32 * 1024);
    const call = async (method: string, ...args: unknown[]) => {
      trySendPacket(ours, Buffer.from(JSON.stringify({ method, args })), []);
      const length = await receivePacket(ours, reply);
      return JSON.parse(reply.subarray(0, length).toString());
    };
    try {
      assert.equal((await call('Initialize')).value, '0.2.8');
      assert.equal((await call('OpenImage', `docker://${ref('zstd')}`)).value, 1);
      // The pipe's read end rides on the reply; this plain recv lets the kernel close it.
      assert.equal((await call('GetManifest', 1)).value, zstdImage.descriptor.digest);
      trySendPacket(ours, Buffer.from('{"method":"Shutdown","args":[]}'), []);
      assert.equal(await exited, 0);
    } finally {
      closeFd(ours);
    }
    assert.deepEqual(await trap.logs(), { spawned: '', loaded: 'koffi\n' });
  });
});
