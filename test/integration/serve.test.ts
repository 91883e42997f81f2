import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type ExampleLayoutResult, writeExampleLayout } from '../../src/example/index.js';
import {
  type RunningRegistryServer,
  serve,
  startRegistryServer,
} from '../../src/server/registry/index.js';
import { assertIdleConnectionKept } from '../harness/idle-connection.js';

const run = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A request with the path sent exactly as given (fetch would normalise `..`). */
function rawRequest(
  url: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code: string; message: string }> };
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, JSON.stringify(body));
  assert.equal(typeof body.errors[0]?.message, 'string');
  return body.errors[0]?.code;
}

describe('ocipeek serve (read-only registry over OCI layouts)', () => {
  let tmp: string;
  let example: ExampleLayoutResult;
  let server: RunningRegistryServer;
  let tree: RunningRegistryServer;
  let host: string;
  const logs: string[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ocipeek-serve-'));
    example = await writeExampleLayout(join(tmp, 'example'));
    // A tree of layouts for the catalog: repository names are the relative paths.
    for (const name of ['team/app', 'team/tools/cli', 'base', 'zeta']) {
      await writeExampleLayout(join(tmp, 'tree', ...name.split('/')));
    }
    await writeExampleLayout(join(tmp, 'tree', 'Not-Valid'));
    server = await startRegistryServer({ roots: join(tmp, 'example'), listen: '127.0.0.1:0' });
    tree = await startRegistryServer({ roots: [join(tmp, 'tree')], log: (l) => logs.push(l) });
    host = `127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
    await tree?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('answers the version check', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });

  it('keeps an idle kept-alive connection open past the 5 s Node closes it after', async () => {
    await assertIdleConnectionKept(server.url, '/v2/');
  });

  it('is read by skopeo inspect, and --raw gives the index bytes', async () => {
    const info = JSON.parse(
      await skopeo('inspect', '--tls-verify=false', `docker://${host}/example:1.0`),
    );
    assert.equal(info.Digest, example.index.digest);
    assert.deepEqual(info.RepoTags, example.refs);
    assert.equal(info.Os, 'linux');
    assert.equal(info.Created, '2024-05-01T12:10:00Z');
    const image = example.images.find((i) => i.platform.architecture === info.Architecture);
    assert.ok(image, `unexpected architecture ${info.Architecture}`);
    assert.deepEqual(
      info.Layers,
      image.layers.map((l) => l.digest),
    );
    const raw = await run(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${host}/example:1.0`],
      {
        encoding: 'buffer',
      },
    );
    assert.equal(sha256(raw.stdout), example.index.digest);
  });

  it('lists the layout tags to skopeo list-tags', async () => {
    const out = JSON.parse(
      await skopeo('list-tags', '--tls-verify=false', `docker://${host}/example`),
    );
    assert.deepEqual(out.Tags, ['1.0', '1.0-amd64', '1.0-arm64', 'edge', 'latest']);
  });

  it('lets skopeo copy --all the whole index with identical digests', async () => {
    const dest = join(tmp, 'copy');
    await skopeo(
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${host}/example:1.0`,
      `oci:${dest}:x`,
    );
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, example.index.digest);
    const copied = await readdir(join(dest, 'blobs', 'sha256'));
    const expected = new Set([
      example.index.digest,
      example.attestation.digest,
      ...example.images.flatMap((i) => [
        i.manifest.digest,
        i.config.digest,
        ...i.layers.map((l) => l.digest),
      ]),
    ]);
    // The attestation's own config and in-toto layer come along too.
    assert.ok(copied.length >= expected.size);
    for (const digest of expected) assert.ok(copied.includes(digest.slice(7)), `${digest} missing`);
    for (const hex of copied) {
      const bytes = await readFile(join(dest, 'blobs', 'sha256', hex));
      assert.equal(sha256(bytes), `sha256:${hex}`);
      const original = await readFile(join(tmp, 'example', 'blobs', 'sha256', hex));
      assert.ok(original.equals(bytes));
    }
  });

  it('serves manifests by tag and digest with their own media type', async () => {
    const head = await fetch(`${server.url}/v2/example/manifests/latest`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    assert.equal(head.headers.get('docker-content-digest'), example.index.digest);
    assert.equal(head.headers.get('content-length'), String(example.index.size));
    const amd64 = example.images[0]?.manifest;
    assert.ok(amd64);
    // Served even though Accept lists only Docker types: there is nothing to convert to.
    const res = await fetch(`${server.url}/v2/example/manifests/${amd64.digest}`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), amd64.digest);
    // A blob that is not a manifest is not served as one.
    const config = example.images[0]?.config.digest;
    const notManifest = await fetch(`${server.url}/v2/example/manifests/${config}`);
    assert.equal(notManifest.status, 404);
    assert.equal(await errorCode(notManifest), 'MANIFEST_UNKNOWN');
  });

  it('serves blob byte ranges', async () => {
    const layer = example.images[0]?.layers[0];
    assert.ok(layer);
    const url = `${server.url}/v2/example/blobs/${layer.digest}`;
    const full = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(sha256(full), layer.digest);

    const part = await fetch(url, { headers: { Range: 'bytes=10-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-99/${layer.size}`);
    assert.equal(part.headers.get('content-length'), '90');
    assert.equal(part.headers.get('accept-ranges'), 'bytes');
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(full.subarray(10, 100)));

    const suffix = await fetch(url, { headers: { Range: 'bytes=-16' } });
    assert.equal(suffix.status, 206);
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(full.subarray(full.length - 16)));
    const open = await fetch(url, { headers: { Range: `bytes=${layer.size - 3}-` } });
    assert.equal(
      open.headers.get('content-range'),
      `bytes ${layer.size - 3}-${layer.size - 1}/${layer.size}`,
    );
    assert.ok(Buffer.from(await open.arrayBuffer()).equals(full.subarray(layer.size - 3)));
    const clamped = await fetch(url, { headers: { Range: `bytes=0-${layer.size + 1000}` } });
    assert.equal(clamped.status, 206);
    assert.ok(Buffer.from(await clamped.arrayBuffer()).equals(full));

    for (const bad of [`bytes=${layer.size}-`, 'bytes=50-10', 'bytes=abc', 'bytes=-0']) {
      const res = await fetch(url, { headers: { Range: bad } });
      assert.equal(res.status, 416, bad);
      assert.equal(res.headers.get('content-range'), `bytes */${layer.size}`);
      await res.arrayBuffer();
    }
    // Several ranges: the whole blob (a server may ignore Range).
    const multi = await fetch(url, { headers: { Range: 'bytes=0-1,5-6' } });
    assert.equal(multi.status, 200);
    assert.equal((await multi.arrayBuffer()).byteLength, layer.size);

    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(layer.size));
    assert.equal(head.headers.get('docker-content-digest'), layer.digest);
  });

  it('paginates tags by following Link headers', async () => {
    const pages: string[][] = [];
    let next: string | undefined = '/v2/example/tags/list?n=2';
    while (next) {
      const res = await fetch(`${server.url}${next}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { name: string; tags: string[] };
      assert.equal(body.name, 'example');
      pages.push(body.tags);
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      assert.ok(pages.length <= 5);
    }
    assert.deepEqual(pages, [['1.0', '1.0-amd64'], ['1.0-arm64', 'edge'], ['latest']]);
    const after = await (await fetch(`${server.url}/v2/example/tags/list?last=edge`)).json();
    assert.deepEqual(after, { name: 'example', tags: ['latest'] });
    const bad = await fetch(`${server.url}/v2/example/tags/list?n=-1`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'PAGINATION_NUMBER_INVALID');
  });

  it('lists nested layouts in the catalog, paginated', async () => {
    const all = await (await fetch(`${tree.url}/v2/_catalog`)).json();
    assert.deepEqual(all, { repositories: ['base', 'team/app', 'team/tools/cli', 'zeta'] });
    assert.ok(
      logs.some((l) => l.includes('Not-Valid') && l.includes('not a valid repository name')),
    );
    const first = await fetch(`${tree.url}/v2/_catalog?n=3`);
    assert.equal(
      first.headers.get('link'),
      '</v2/_catalog?last=team%2Ftools%2Fcli&n=3>; rel="next"',
    );
    const second = await fetch(`${tree.url}/v2/_catalog?last=team%2Ftools%2Fcli&n=3`);
    assert.deepEqual(await second.json(), { repositories: ['zeta'] });
    assert.equal(second.headers.get('link'), null);
    const skopeoTags = JSON.parse(
      await skopeo(
        'list-tags',
        '--tls-verify=false',
        `docker://127.0.0.1:${tree.port}/team/tools/cli`,
      ),
    );
    assert.equal(skopeoTags.Tags.length, 5);
  });

  it('answers OCI 1.1 referrers, with the artifactType filter', async () => {
    const [sbom, signature] = example.referrers;
    const amd64 = example.images[0]?.manifest.digest;
    const res = await fetch(`${server.url}/v2/example/referrers/${amd64}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    const body = (await res.json()) as { manifests: Array<Record<string, unknown>> };
    assert.equal(body.manifests.length, 1);
    assert.equal(body.manifests[0]?.digest, sbom?.digest);
    assert.equal(body.manifests[0]?.artifactType, 'application/spdx+json');
    const onIndex = (await (
      await fetch(`${server.url}/v2/example/referrers/${example.index.digest}`)
    ).json()) as {
      manifests: Array<{ digest: string }>;
    };
    assert.deepEqual(
      onIndex.manifests.map((m) => m.digest),
      [signature?.digest],
    );
    const filtered = await fetch(
      `${server.url}/v2/example/referrers/${amd64}?artifactType=application/other`,
    );
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(((await filtered.json()) as { manifests: unknown[] }).manifests, []);
    const unknown = await fetch(`${server.url}/v2/example/referrers/sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 200);
    const invalid = await fetch(`${server.url}/v2/example/referrers/sha256:xyz`);
    assert.equal(invalid.status, 400);
    assert.equal(await errorCode(invalid), 'DIGEST_INVALID');
  });

  it('refuses every write with 405 UNSUPPORTED', async () => {
    for (const [method, path] of [
      ['PUT', '/v2/example/manifests/1.0'],
      ['DELETE', `/v2/example/manifests/${example.index.digest}`],
      ['POST', '/v2/example/blobs/uploads/'],
      ['PATCH', '/v2/example/blobs/uploads/x'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        body: method === 'DELETE' ? undefined : 'x',
      });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.equal(await errorCode(res), 'UNSUPPORTED');
    }
  });

  it('answers unknown things with distribution error shapes', async () => {
    const cases: Array<[string, number, string]> = [
      ['/v2/example/manifests/9.9', 404, 'MANIFEST_UNKNOWN'],
      [`/v2/example/manifests/sha256:${'1'.repeat(64)}`, 404, 'MANIFEST_UNKNOWN'],
      [`/v2/example/blobs/sha256:${'1'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
      ['/v2/nope/manifests/1.0', 404, 'NAME_UNKNOWN'],
      ['/v2/nope/tags/list', 404, 'NAME_UNKNOWN'],
      ['/v2/example/blobs/sha256:abc', 400, 'DIGEST_INVALID'],
      ['/v2/example/manifests/bad%20tag', 400, 'TAG_INVALID'],
      ['/v2/Example/tags/list', 400, 'NAME_INVALID'],
    ];
    for (const [path, status, code] of cases) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal(await errorCode(res), code, path);
    }
  });

  it('cannot be walked out of the layout', async () => {
    for (const path of [
      '/v2/../example/manifests/1.0',
      '/v2/example/blobs/..%2F..%2Foci-layout',
      '/v2/example/blobs/sha256:..%2F..%2Findex.json',
      '/v2/..%2F..%2Fetc/tags/list',
      `/v2/example/blobs/sha256/../../oci-layout`,
    ]) {
      const res = await rawRequest(server.url, path);
      assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
      assert.doesNotMatch(res.body, /imageLayoutVersion|schemaVersion/);
    }
  });

  it('cuts off a corrupt blob instead of completing it', async () => {
    const layer = example.images[0]?.layers[1];
    assert.ok(layer);
    const path = join(tmp, 'tree', 'zeta', 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(path);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    // Small blobs fail before any byte leaves (the held-back chunk is all of it), larger
    // ones part-way through the body: either way the client gets no complete answer.
    await assert.rejects(async () => {
      const res = await fetch(`${tree.url}/v2/zeta/blobs/${layer.digest}`);
      await res.arrayBuffer();
    }, TypeError);
    // A blob of several chunks: the answer starts, then breaks off before its end.
    const big = randomBytes(3 * 1024 * 1024 + 5); // several of the 1 MiB read chunks
    const bigDigest = sha256(big);
    big[big.length - 1] = (big[big.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(tmp, 'tree', 'zeta', 'blobs', 'sha256', bigDigest.slice(7)), big);
    const started = await fetch(`${tree.url}/v2/zeta/blobs/${bigDigest}`);
    assert.equal(started.status, 200);
    assert.equal(started.headers.get('content-length'), String(big.length));
    await assert.rejects(started.arrayBuffer(), TypeError);
    // Empty files: served when empty is what the digest says, refused otherwise.
    const blobs = join(tmp, 'tree', 'zeta', 'blobs', 'sha256');
    const emptyDigest = sha256(Buffer.alloc(0));
    await writeFile(join(blobs, emptyDigest.slice(7)), '');
    await writeFile(join(blobs, sha256(Buffer.from('x')).slice(7)), '');
    const empty = await fetch(`${tree.url}/v2/zeta/blobs/${emptyDigest}`);
    assert.equal(empty.status, 200);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    await assert.rejects(async () => {
      const res = await fetch(`${tree.url}/v2/zeta/blobs/${sha256(Buffer.from('x'))}`);
      await res.arrayBuffer();
    }, TypeError);
    // A range alone cannot be verified: the blob is hashed whole first, and refused.
    const part = await fetch(`${tree.url}/v2/zeta/blobs/${layer.digest}`, {
      headers: { Range: 'bytes=0-9' },
    });
    assert.equal(part.status, 500);
    assert.match(JSON.stringify(await part.json()), /corrupt/);
  });

  it('serve() prints the address and stops on abort', async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    const done = serve({
      root: join(tmp, 'example'),
      name: 'demo/example',
      listen: '127.0.0.1:0',
      signal: controller.signal,
      write: (l) => lines.push(l),
    });
    let url: string | undefined;
    try {
      for (let i = 0; i < 200 && !url; i++) {
        url = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0] ?? '')?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(url, `no listening line in ${JSON.stringify(lines)}`);
      const res = await fetch(`${url}/v2/demo/example/tags/list`);
      assert.deepEqual(await res.json(), { name: 'demo/example', tags: example.refs });
      // One JSON object per request in the access log.
      const entries = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      assert.ok(
        entries.some(
          (e) => e.method === 'GET' && e.url === '/v2/demo/example/tags/list' && e.status === 200,
        ),
        lines.join('\n'),
      );
    } finally {
      // Stop the server whatever failed above, so the file ends by itself.
      controller.abort();
    }
    await done;
    await assert.rejects(fetch(`${url}/v2/`));
  });
});
