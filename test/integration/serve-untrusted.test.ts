import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ExampleLayoutResult, writeExampleLayout } from '../../src/example/index.js';
import { tempDir } from '../harness/index.js';
import { CLI_PATH } from '../harness/run-cli.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One request with the path as given; the whole answer body. */
function get(
  url: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a file holds, or undefined when this user cannot read it. */
async function readable(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch(() => undefined);
}

/**
 * `ocipeek serve` over a layout unpacked with a plain `tar -x` from an archive someone
 * else made: its `blobs/` holds symbolic links that point out of the layout.
 */
describe('ocipeek serve over a layout from an untrusted archive', () => {
  let dir: { path: string; remove(): Promise<void> };
  let example: ExampleLayoutResult;
  let server: ChildProcess;
  let url: string;
  let stderr = '';
  const secret = Buffer.from('the secret that lives outside the served tree\n');
  let passwd: Buffer;
  let shadow: Buffer | undefined;
  const links: Record<'absolute' | 'relative' | 'shadow' | 'folder', string> = {
    absolute: '',
    relative: '',
    shadow: '',
    folder: '',
  };

  before(async () => {
    dir = await tempDir('serve-untrusted');
    passwd = await readFile('/etc/passwd');
    shadow = await readable('/etc/shadow');
    await mkdir(join(dir.path, 'outside'));
    await writeFile(join(dir.path, 'outside', 'secret.txt'), secret);

    // What the archive's author built: the example layout plus three links in blobs/.
    const build = join(dir.path, 'build');
    example = await writeExampleLayout(join(build, 'app'));
    const blobs = join(build, 'app', 'blobs', 'sha256');
    links.absolute = sha256(passwd); // named with its target's real hash
    await symlink('/etc/passwd', join(blobs, links.absolute));
    links.relative = sha256(secret);
    await symlink('../../../../outside/secret.txt', join(blobs, links.relative));
    links.shadow = 'ab'.repeat(32);
    await symlink('/etc/shadow', join(blobs, links.shadow));
    // A second layout whose blobs/sha256 folder itself leads out, to a file named by its
    // own digest (so only the folder gives it away).
    const other = join(build, 'other');
    await writeExampleLayout(other);
    const away = join(dir.path, 'outside', 'blobs');
    await mkdir(away);
    links.folder = sha256(secret);
    await writeFile(join(away, links.folder), secret);
    await rename(join(other, 'blobs', 'sha256'), join(dir.path, 'outside', 'real-blobs'));
    await symlink(away, join(other, 'blobs', 'sha256'));
    // A FIFO where a blob should be: must be refused, not block the server.
    execFileSync('mkfifo', [join(blobs, 'cd'.repeat(32))]);
    const archive = join(dir.path, 'untrusted.tar');
    execFileSync('tar', ['-cf', archive, '-C', build, '.']);
    const served = join(dir.path, 'served');
    await mkdir(served);
    execFileSync('tar', ['-xf', archive, '-C', served]);
    // tar -x made live links: read through the file system, they lead out.
    const unpacked = join(served, 'app', 'blobs', 'sha256');
    assert.ok((await readFile(join(unpacked, links.absolute))).equals(passwd));
    assert.ok((await readFile(join(unpacked, links.relative))).equals(secret));

    server = spawn(process.execPath, [
      CLI_PATH,
      'serve',
      '--root',
      served,
      '--listen',
      '127.0.0.1:0',
    ]);
    server.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    while (!/listening on (\S+)/.test(stderr)) {
      if (server.exitCode !== null) assert.fail(`serve exited: ${stderr}`);
      await once(server.stderr!, 'data');
    }
    url = /listening on (\S+)/.exec(stderr)?.[1] ?? '';
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
    }
    await dir?.remove();
  });

  const blob = (repo: string, hex: string) => `/v2/${repo}/blobs/sha256:${hex}`;

  it('does not serve a link named with its target real hash (/etc/passwd)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await get(url, blob('app', links.absolute), {}, method);
      assert.equal(res.status, 404, method);
      assert.ok(!res.body.includes(passwd.subarray(0, 16)), 'passwd bytes leaked');
      if (method === 'GET') assert.match(res.body.toString(), /BLOB_UNKNOWN/);
    }
  });

  it('does not serve a relative link out of the tree (../../../../outside/secret.txt)', async () => {
    const res = await get(url, blob('app', links.relative));
    assert.equal(res.status, 404);
    assert.ok(!res.body.includes(secret), 'secret leaked');
  });

  it('does not serve a Range of a link to /etc/shadow', async () => {
    const res = await get(url, blob('app', links.shadow), { Range: 'bytes=0-15' });
    assert.equal(res.status, 404);
    if (shadow) assert.ok(!res.body.includes(shadow.subarray(0, 16)), 'shadow bytes leaked');
  });

  it('does not serve through a blobs/sha256 folder that is a link', async () => {
    for (const headers of [{}, { Range: 'bytes=0-9' }] as Array<Record<string, string>>) {
      const res = await get(url, blob('other', links.folder), headers);
      assert.equal(res.status, 404);
      assert.ok(!res.body.includes(secret.subarray(0, 10)), 'secret leaked');
    }
    // The same file is a blob of nothing else: the manifests of that layout are gone too.
    const manifest = await get(url, `/v2/other/manifests/1.0`);
    assert.equal(manifest.status, 404);
  });

  it('refuses a FIFO in blobs/ without blocking', async () => {
    const res = await get(url, blob('app', 'cd'.repeat(32)), { Range: 'bytes=0-3' });
    assert.equal(res.status, 404);
  });

  it('says on its own stderr what it refused, and still serves the real blobs', async () => {
    assert.match(stderr, new RegExp(`refused: blob sha256:${links.absolute} .* symbolic link`));
    const layer = example.images[0]!.layers[0]!;
    const whole = await get(url, `/v2/app/blobs/${layer.digest}`);
    assert.equal(whole.status, 200);
    assert.equal(`sha256:${sha256(whole.body)}`, layer.digest);
    const part = await get(url, `/v2/app/blobs/${layer.digest}`, { Range: 'bytes=2-9' });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(whole.body.subarray(2, 10)));
    const tags = await get(url, '/v2/app/tags/list');
    assert.deepEqual(JSON.parse(tags.body.toString()).tags, example.refs);
  });

  it('checks a verified blob again once its file changed, even with the mtime put back', async () => {
    const layer = example.images[1]!.layers[0]!;
    const path = join(dir.path, 'served', 'app', 'blobs', 'sha256', layer.digest.slice(7));
    const first = await get(url, `/v2/app/blobs/${layer.digest}`, { Range: 'bytes=0-3' });
    assert.equal(first.status, 206);
    const before = await stat(path);
    const bytes = await readFile(path);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await writeFile(path, bytes); // same inode, same size
    await utimes(path, before.atime, before.mtime);
    const again = await get(url, `/v2/app/blobs/${layer.digest}`, { Range: 'bytes=0-3' });
    assert.equal(again.status, 500);
    assert.ok(!again.body.includes(bytes.subarray(0, 4)));
  });
});
