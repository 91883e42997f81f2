import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = (name: string) =>
  fileURLToPath(new URL(`../../../bench/scripts/${name}`, import.meta.url));
const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{}}');
const manifestOf = (configDigest: string) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [],
    }),
  );
const manifest = manifestOf(digestOf(config));
/** Names a config blob whose bytes the server serves wrong. */
const badManifest = manifestOf(`sha256:${'0'.repeat(64)}`);

/**
 * A registry stand-in that records every request (`METHOD path`) and connection, so the
 * test sees exactly what each floor sends.
 */
let seen: string[] = [];
let connections = 0;
const server = http.createServer((req, res) => {
  seen.push(`${req.method} ${req.url}`);
  const body = new Map<string, Buffer>([
    ['/v2/bench/app/manifests/latest', manifest],
    ['/v2/bench/app/manifests/bad', badManifest],
    [`/v2/bench/app/blobs/${digestOf(config)}`, config],
    [`/v2/bench/app/blobs/sha256:${'0'.repeat(64)}`, config],
    ['/v2/bench/app/tags/list', Buffer.from('{"name":"bench/app","tags":["latest","v1"]}')],
  ]).get(req.url ?? '');
  res.writeHead(body ? 200 : 404).end(body);
});
server.on('connection', () => connections++);
let host = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function floor(name: string, ...args: string[]) {
  seen = [];
  connections = 0;
  const { stdout } = await run(process.execPath, [script(name), host, ...args]);
  return stdout;
}

describe('the small commands’ Node floors make exactly the requests of their command', () => {
  it('inspect: the manifest, then the config blob it names, on one connection', async () => {
    assert.equal(
      await floor('inspect-floor.cjs', 'bench/app', 'latest'),
      `${digestOf(manifest)}\n`,
    );
    assert.deepEqual(seen, [
      'GET /v2/bench/app/manifests/latest',
      `GET /v2/bench/app/blobs/${digestOf(config)}`,
    ]);
    assert.equal(connections, 1);
  });

  it('inspect: fails when the config blob does not match its digest', async () => {
    await assert.rejects(floor('inspect-floor.cjs', 'bench/app', 'bad'), /config is sha256:/);
  });

  it('digest: one GET of the manifest', async () => {
    assert.equal(await floor('digest-floor.cjs', 'bench/app', 'latest'), `${digestOf(manifest)}\n`);
    assert.deepEqual(seen, ['GET /v2/bench/app/manifests/latest']);
    assert.equal(connections, 1);
  });

  it('tags: one GET of tags/list, the tags printed one a line', async () => {
    assert.equal(await floor('tags-floor.cjs', 'bench/app'), 'latest\nv1\n');
    assert.deepEqual(seen, ['GET /v2/bench/app/tags/list']);
    assert.equal(connections, 1);
  });
});
