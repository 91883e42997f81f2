// Smoke tests of the integration harness itself: real registries in every mode, the token
// server, fixtures pushed with skopeo, and the fault proxy. If these fail, every other
// integration test is suspect.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import {
  type BuiltImage,
  type BuiltIndex,
  digestOf,
  type FaultProxy,
  faults,
  inspectRaw,
  LayoutWriter,
  makeLayer,
  match,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  registryFetch,
  SkopeoError,
  type StartRegistryOptions,
  skopeo,
  startFaultProxyFor,
  startRegistry,
  type TempDir,
  tempDir,
  testCerts,
  times,
} from '../harness/index.js';

const execFileP = promisify(execFile);
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One layout with every fixture kind, built once for the file. */
let layoutDir: TempDir;
let image: BuiltImage;
let zstdImage: BuiltImage;
let sha512Image: BuiltImage;
let index: BuiltIndex;
let dockerIndex: BuiltIndex;

before(async () => {
  layoutDir = await tempDir('harness-layout');
  const w = new LayoutWriter(layoutDir.path);
  image = await randomImage(w, {
    layers: 2,
    layerSize: 4096,
    refName: 'v1',
    labels: { 'org.example.name': 'harness' },
    env: ['PATH=/usr/bin'],
    entrypoint: ['/bin/app'],
  });
  zstdImage = await randomImage(w, { compression: 'zstd', refName: 'zstd' });
  sha512Image = await randomImage(w, { layerAlgorithm: 'sha512', refName: 'sha512' });
  index = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
  dockerIndex = await multiPlatformIndex(w, { mediaTypes: 'docker', refName: 'docker-multi' });
  await w.finish();
});
after(() => layoutDir.remove());

describe('registry modes', () => {
  const modes: StartRegistryOptions[] = [
    { auth: 'none', tls: 'none' },
    { auth: 'htpasswd', tls: 'none' },
    { auth: 'token', tls: 'none' },
    { auth: 'none', tls: 'tls' },
    { auth: 'htpasswd', tls: 'mtls', deleteEnabled: true },
  ];
  for (const mode of modes) {
    it(`starts, answers /v2/ and stops: auth=${mode.auth} tls=${mode.tls}`, async () => {
      const reg = await startRegistry(mode);
      assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
      assert.equal(reg.url.startsWith(mode.tls === 'none' ? 'http://' : 'https://'), true);
      const anon = await registryFetch(reg, '/v2/', { anonymous: true });
      assert.equal(anon.status, mode.auth === 'none' ? 200 : 401);
      assert.equal(anon.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const authed = await registryFetch(reg, '/v2/');
      assert.equal(authed.status, 200);
      assert.equal(await isListening(reg.port), true);
      await reg.stop();
      assert.equal(await isListening(reg.port), false);
      assert.match(reg.logs(), /listening on 127\.0\.0\.1:\d+/);
    });
  }

  it('kills a registry the test process forgot to stop, even on SIGKILL', async () => {
    // The mode is written into the script: with `node -e`, process.argv[1] is the first
    // argument, so reading argv[2] made the 'hang' child exit as the 'exit' one does, and
    // the check that its registry was up raced that exit.
    const script = (how: 'exit' | 'hang') => `
      import { startRegistry } from ${JSON.stringify(path.resolve('test/harness/registry-process.ts'))};
      const reg = await startRegistry();
      console.log(reg.port);
      ${how === 'hang' ? 'setInterval(() => {}, 1000);' : ''}`;
    for (const how of ['exit', 'hang'] as const) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script(how)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = once(child, 'exit');
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const port = Number(line.toString().trim());
      if (how === 'hang') {
        // The child printed the port once the registry answered, and keeps running.
        assert.equal(await isListening(port), true, `registry on ${port} is up`);
        assert.equal(child.exitCode, null, 'the hanging child is still running');
        child.kill('SIGKILL');
      }
      const [, signal] = (await exited) as [number | null, string | null];
      assert.equal(signal, how === 'hang' ? 'SIGKILL' : null);
      // The exit hook (normal exit) or the watchdog (SIGKILL) ends the registry; on a busy
      // machine the watchdog shell may take a while to be scheduled.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await isListening(port))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await isListening(port), false, `registry on ${port} outlived (${how})`);
    }
  });
});

describe('fixtures pushed with skopeo', () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(() => reg.stop());

  it('keeps the manifest digest of a random image and serves its layers', async () => {
    await pushLayout(layoutDir.path, 'v1', reg, 'demo/app:v1', { method: 'skopeo' });
    const raw = await inspectRaw(reg, 'demo/app:v1');
    assert.equal(digestOf(raw), image.descriptor.digest);
    assert.deepEqual(raw, image.manifestBytes);
    const info = JSON.parse(
      await skopeo([
        'inspect',
        '--tls-verify=false',
        `--creds=${reg.username}:${reg.password}`,
        `docker://${reg.host}/demo/app:v1`,
      ]),
    ) as { Labels: Record<string, string>; Layers: string[]; Env: string[] };
    assert.equal(info.Labels['org.example.name'], 'harness');
    assert.deepEqual(info.Env, ['PATH=/usr/bin']);
    assert.deepEqual(
      info.Layers,
      image.layers.map((l) => l.digest),
    );
    const blob = await registryFetch(reg, `/v2/demo/app/blobs/${image.layers[1]!.digest}`);
    const bytes = Buffer.from(await blob.arrayBuffer());
    assert.deepEqual(bytes, image.layers[1]!.blob);
    assert.equal(digestOf(gunzipSync(bytes)), image.layers[1]!.diffId);
  });

  it('pushes the multi-platform index with attestations unchanged', async () => {
    await pushLayout(layoutDir.path, 'multi', reg, 'demo/app:multi', { method: 'skopeo' });
    const raw = await inspectRaw(reg, 'demo/app:multi');
    assert.equal(digestOf(raw), index.descriptor.digest);
    const parsed = JSON.parse(raw.toString()) as BuiltIndex['index'];
    assert.deepEqual(
      parsed.manifests.map((m) => [m.platform?.architecture, m.platform?.variant]),
      [
        ['amd64', undefined],
        ['arm64', 'v8'],
        ['arm', 'v7'],
        ['unknown', undefined],
        ['unknown', undefined],
        ['unknown', undefined],
      ],
    );
    const att = parsed.manifests[3]!;
    assert.equal(att.annotations?.['vnd.docker.reference.type'], 'attestation-manifest');
    assert.equal(
      att.annotations?.['vnd.docker.reference.digest'],
      index.images[0]!.descriptor.digest,
    );
    // skopeo's own platform choice lands on the arm64/v8 child we wrote.
    const arm = JSON.parse(
      await skopeo([
        '--override-arch',
        'arm64',
        '--override-variant',
        'v8',
        'inspect',
        '--tls-verify=false',
        `--creds=${reg.username}:${reg.password}`,
        `docker://${reg.host}/demo/app:multi`,
      ]),
    ) as { Digest: string; Architecture: string; Layers: string[]; Labels: Record<string, string> };
    // skopeo's Digest names the index; the layers and labels are the arm64 child's.
    assert.equal(arm.Digest, index.descriptor.digest);
    assert.equal(arm.Architecture, 'arm64');
    assert.deepEqual(arm.Layers, [index.images[1]!.layers[0]!.digest]);
    assert.equal(arm.Labels['org.example.platform'], 'linux/arm64');
  });

  it('pushes zstd layers through skopeo and a Docker manifest list over HTTP', async () => {
    await pushLayout(layoutDir.path, 'zstd', reg, 'demo/app:zstd');
    assert.equal(digestOf(await inspectRaw(reg, 'demo/app:zstd')), zstdImage.descriptor.digest);
    const z = zstdImage.layers[0]!;
    assert.equal(z.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    const { stdout } = await execFileP(
      'zstd',
      ['-dcq', path.join(layoutDir.path, 'blobs', 'sha256', z.digest.slice(7))],
      { encoding: 'buffer' },
    );
    assert.deepEqual(stdout, z.tar);

    // skopeo 1.9.3 ignores index.json entries with Docker media types: 'auto' goes HTTP.
    await assert.rejects(
      pushLayout(layoutDir.path, 'docker-multi', reg, 'demo/app:docker', { method: 'skopeo' }),
      (e: unknown) => e instanceof SkopeoError && /no descriptor found/.test(e.stderr),
    );
    await pushLayout(layoutDir.path, 'docker-multi', reg, 'demo/app:docker');
    const raw = await inspectRaw(reg, 'demo/app:docker');
    assert.equal(digestOf(raw), dockerIndex.descriptor.digest);
    const child = await registryFetch(
      reg,
      `/v2/demo/app/manifests/${dockerIndex.images[2]!.descriptor.digest}`,
      { headers: { accept: MANIFEST_ACCEPT } },
    );
    assert.equal(
      child.headers.get('content-type'),
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    assert.deepEqual(Buffer.from(await child.arrayBuffer()), dockerIndex.images[2]!.manifestBytes);
  });

  it('sha512 layers: skopeo refuses, HTTP upload works and the registry serves both digests', async () => {
    await assert.rejects(
      pushLayout(layoutDir.path, 'sha512', reg, 'demo/app:sha512', { method: 'skopeo' }),
      (e: unknown) => e instanceof SkopeoError && /saved with digest sha256/.test(e.stderr),
    );
    await pushLayout(layoutDir.path, 'sha512', reg, 'demo/app:sha512');
    assert.equal(digestOf(await inspectRaw(reg, 'demo/app:sha512')), sha512Image.descriptor.digest);
    const layer = sha512Image.layers[0]!;
    assert.match(layer.digest, /^sha512:[0-9a-f]{128}$/);
    const res = await registryFetch(reg, `/v2/demo/app/blobs/${layer.digest}`);
    assert.equal(res.status, 200);
    // distribution stores the bytes under sha256 and names that in Docker-Content-Digest.
    assert.equal(res.headers.get('docker-content-digest'), digestOf(layer.blob, 'sha256'));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), layer.blob);
    // ... and it checks a sha512 upload: wrong bytes under that digest are refused.
    const post = await registryFetch(reg, '/v2/demo/bad/blobs/uploads/', { method: 'POST' });
    const url = new URL(post.headers.get('location')!, reg.url);
    url.searchParams.set('digest', layer.digest);
    const put = await registryFetch(reg, url.href, {
      method: 'PUT',
      body: Buffer.from('nope'),
      repository: 'demo/bad',
    });
    assert.equal(put.status, 400);
    assert.match(await put.text(), /DIGEST_INVALID/);
  });
});

describe('auth modes', () => {
  it('htpasswd rejects anonymous and wrong passwords, accepts the user', async () => {
    const reg = await startRegistry({
      auth: 'htpasswd',
      users: [{ username: 'alice', password: 'pw1' }],
    });
    try {
      const anon = await registryFetch(reg, '/v2/', { anonymous: true });
      assert.equal(anon.status, 401);
      assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="ocipeek-test"');
      const wrong = await registryFetch(reg, '/v2/', {
        headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` },
      });
      assert.equal(wrong.status, 401);
      assert.equal((await registryFetch(reg, '/v2/')).status, 200);
      await pushLayout(layoutDir.path, 'v1', reg, 'a/b:v1');
      await assert.rejects(inspectRaw(reg, 'a/b:v1', { anonymous: true }), SkopeoError);
      assert.equal(digestOf(await inspectRaw(reg, 'a/b:v1')), image.descriptor.digest);
    } finally {
      await reg.stop();
    }
  });

  it('token mode: anonymous pull tokens, push denied, expiry and foreign scopes refused', async () => {
    const reg = await startRegistry({ auth: 'token', allowAnonymousPull: true });
    try {
      const ts = reg.tokenServer!;
      await pushLayout(layoutDir.path, 'v1', reg, 'team/app:v1');
      assert.ok(ts.requests >= 1, 'skopeo fetched its token from the token server');
      assert.equal(ts.log.at(-1)!.user, reg.username);
      ts.resetCounters();

      const path1 = '/v2/team/app/manifests/v1';
      const challenge = await registryFetch(reg, path1, {
        anonymous: true,
        headers: { accept: MANIFEST_ACCEPT },
      });
      assert.equal(challenge.status, 401);
      assert.equal(
        challenge.headers.get('www-authenticate'),
        `Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:team/app:pull"`,
      );

      const tokenRes = await fetch(
        `${ts.realm}?service=${ts.service}&scope=repository:team/app:pull,push`,
      );
      assert.equal(tokenRes.status, 200);
      const body = (await tokenRes.json()) as {
        token: string;
        access_token: string;
        expires_in: number;
      };
      assert.equal(body.token, body.access_token);
      assert.equal(body.expires_in, 300);
      assert.deepEqual(ts.log[0]!.granted, [
        { type: 'repository', name: 'team/app', actions: ['pull'] },
      ]);
      assert.equal(ts.requests, 1);
      assert.equal(ts.lastAuthorization, undefined);
      const header = JSON.parse(Buffer.from(body.token.split('.')[0]!, 'base64url').toString()) as {
        alg: string;
        x5c: string[];
      };
      assert.equal(header.alg, 'ES256');
      assert.equal(header.x5c.length, 1);

      const bearer = { authorization: `Bearer ${body.token}`, accept: MANIFEST_ACCEPT };
      const pulled = await registryFetch(reg, path1, { headers: bearer });
      assert.equal(pulled.status, 200);
      assert.equal(digestOf(Buffer.from(await pulled.arrayBuffer())), image.descriptor.digest);
      const push = await registryFetch(reg, '/v2/team/app/blobs/uploads/', {
        method: 'POST',
        headers: bearer,
      });
      assert.equal(push.status, 401);
      const other = await registryFetch(reg, '/v2/team/other/tags/list', { headers: bearer });
      assert.equal(other.status, 401);

      // A token whose exp lies past distribution's 60 s leeway is refused at once.
      ts.claimLifetime = -120;
      const stale = (await (await fetch(`${ts.realm}?scope=repository:team/app:pull`)).json()) as {
        token: string;
        expires_in: number;
      };
      assert.equal(stale.expires_in, 300);
      const late = await registryFetch(reg, path1, {
        headers: { ...bearer, authorization: `Bearer ${stale.token}` },
      });
      assert.equal(late.status, 401);
      ts.claimLifetime = undefined;

      ts.allowAnonymousPull = false;
      assert.equal((await fetch(`${ts.realm}?scope=repository:team/app:pull`)).status, 401);
      const basic = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
      const userToken = await fetch(
        `${ts.realm}?scope=repository:team/app:pull,push&scope=registry:catalog:*`,
        {
          headers: { authorization: basic },
        },
      );
      assert.equal(userToken.status, 200);
      assert.deepEqual(
        ts.log.at(-1)!.granted.map((g) => g.actions),
        [['pull', 'push'], ['*']],
      );
      assert.equal(ts.lastAuthorization, basic);
      const { token } = (await userToken.json()) as { token: string };
      const catalog = await registryFetch(reg, '/v2/_catalog', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.deepEqual(await catalog.json(), { repositories: ['team/app'] });
    } finally {
      await reg.stop();
    }
  });

  it('token mode with kid (libtrust key ID) headers', async () => {
    const reg = await startRegistry({ auth: 'token', tokenKeyMode: 'kid' });
    try {
      const auth = await reg.tokenServer!.issue(reg.username!, [
        { type: 'repository', name: 'k/v', actions: ['pull', 'push'] },
      ]);
      assert.match(
        JSON.parse(Buffer.from(auth.split('.')[0]!, 'base64url').toString()).kid,
        /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/,
      );
      const res = await registryFetch(reg, '/v2/k/v/blobs/uploads/', {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}` },
      });
      assert.equal(res.status, 202);
    } finally {
      await reg.stop();
    }
  });
});

describe('TLS modes', () => {
  it('tls: skopeo trusts the CA through --cert-dir; an untrusting client fails', async () => {
    const reg = await startRegistry({ tls: 'tls' });
    try {
      await pushLayout(layoutDir.path, 'v1', reg, 'tls/app:v1');
      const out = await skopeo([
        'inspect',
        '--raw',
        `--cert-dir=${reg.certDir}`,
        `docker://${reg.host}/tls/app:v1`,
      ]);
      assert.equal(digestOf(Buffer.from(out)), image.descriptor.digest);
      await assert.rejects(
        skopeo(['inspect', '--raw', `docker://${reg.host}/tls/app:v1`]),
        (e: unknown) => e instanceof SkopeoError && /certificate/.test(e.stderr),
      );
    } finally {
      await reg.stop();
    }
  });

  it('mtls: a client without the client certificate is refused', async () => {
    const reg = await startRegistry({ tls: 'mtls' });
    const certs = await testCerts();
    try {
      assert.equal((await registryFetch(reg, '/v2/')).status, 200);
      const noClientCert = new Promise<unknown>((resolve, reject) => {
        https
          .get(`${reg.url}/v2/`, { ca: certs.ca.cert.pem, agent: false }, (res) =>
            resolve(res.statusCode),
          )
          .on('error', reject);
      });
      await assert.rejects(noClientCert);
    } finally {
      await reg.stop();
    }
  });
});

describe('fault proxy', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  const blobPath = () => `/v2/demo/app/blobs/${image.layers[0]!.digest}`;
  const basic = () => `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    await pushLayout(layoutDir.path, 'v1', reg, 'demo/app:v1');
    proxy = await startFaultProxyFor(reg);
  });
  after(async () => {
    await proxy.close();
    await reg.stop();
  });

  it('forwards untouched, honours Range, and logs requests and bytes', async () => {
    proxy.setRule(undefined);
    proxy.resetLog();
    const full = await fetch(proxy.url + blobPath(), { headers: { authorization: basic() } });
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), image.layers[0]!.blob);
    const part = await fetch(proxy.url + blobPath(), {
      headers: { authorization: basic(), range: 'bytes=10-19' },
    });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), image.layers[0]!.blob.subarray(10, 20));
    assert.deepEqual(
      proxy.log.map((e) => [e.status, e.bytesSent, e.hasAuthorization, e.range]),
      [
        [200, image.layers[0]!.size, true, undefined],
        [206, 10, true, 'bytes=10-19'],
      ],
    );
    const upload = await fetch(`${proxy.url}/v2/demo/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: basic() },
    });
    assert.equal(upload.status, 202);
    assert.ok(
      upload.headers.get('location')!.startsWith(`${proxy.url}/v2/demo/app/blobs/uploads/`),
    );
  });

  it('corrupts one byte, once', async () => {
    proxy.setRule(times(1, match.blobGet, faults.corruptByteAt(7)));
    const bad = Buffer.from(
      await (
        await fetch(proxy.url + blobPath(), { headers: { authorization: basic() } })
      ).arrayBuffer(),
    );
    const good = image.layers[0]!.blob;
    assert.equal(bad.length, good.length);
    assert.equal(bad[7], good[7]! ^ 0xff);
    assert.deepEqual(bad.subarray(8), good.subarray(8));
    assert.deepEqual(bad.subarray(0, 7), good.subarray(0, 7));
    const again = Buffer.from(
      await (
        await fetch(proxy.url + blobPath(), { headers: { authorization: basic() } })
      ).arrayBuffer(),
    );
    assert.deepEqual(again, good);
  });

  it('drops the connection mid-body, once', async () => {
    proxy.setRule(times(1, match.blobGet, faults.dropAfterBytes(100)));
    proxy.resetLog();
    const res = await fetch(proxy.url + blobPath(), { headers: { authorization: basic() } });
    assert.equal(res.status, 200);
    await assert.rejects(res.arrayBuffer());
    assert.equal(proxy.log[0]!.bytesSent, 100);
    assert.equal(proxy.log[0]!.completed, false);
    const again = await fetch(proxy.url + blobPath(), { headers: { authorization: basic() } });
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), image.layers[0]!.blob);
  });

  it('answers 429 with Retry-After for the first requests, and 401 with the real challenge', async () => {
    proxy.setRule(times(2, match.manifestGet, faults.status(429, { 'Retry-After': '1' })));
    const path1 = `${proxy.url}/v2/demo/app/manifests/v1`;
    const init = { headers: { authorization: basic(), accept: MANIFEST_ACCEPT } };
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(path1, init);
      statuses.push([res.status, res.headers.get('retry-after')]);
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [
      [429, '1'],
      [429, '1'],
      [200, null],
    ]);
    proxy.setRule(times(1, match.any, faults.stripAuthorization()));
    const denied = await fetch(path1, init);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Basic realm="ocipeek-test"');
  });

  it('redirects blob GETs to another origin that gets no Authorization and serves the bytes', async () => {
    proxy.setRule(times(1, match.blobGet, faults.redirect()));
    proxy.mirror.requests.length = 0;
    const first = await fetch(proxy.url + blobPath(), {
      headers: { authorization: basic() },
      redirect: 'manual',
    });
    assert.equal(first.status, 307);
    const location = first.headers.get('location')!;
    assert.ok(location.startsWith(proxy.mirror.url));
    assert.notEqual(new URL(location).origin, proxy.url);
    // Follow like a careful client: no credentials to the other origin.
    const second = await fetch(location, { headers: { range: 'bytes=0-99' } });
    assert.equal(second.status, 206);
    assert.deepEqual(
      Buffer.from(await second.arrayBuffer()),
      image.layers[0]!.blob.subarray(0, 100),
    );
    assert.equal(proxy.mirror.requests.length, 1);
    assert.equal(proxy.mirror.requests[0]!.headers.authorization, undefined);
    assert.equal(proxy.mirror.requests[0]!.headers.range, 'bytes=0-99');
  });
});

describe('layer builder', () => {
  it('writes every entry type into the tar', async () => {
    const layer = await makeLayer(
      [
        { path: 'etc/', type: 'dir', mode: 0o700 },
        { path: 'etc/motd', content: 'hello\n', uid: 1000, gid: 1000, mode: 0o600 },
        { path: 'etc/link', type: 'symlink', linkname: 'motd' },
        { path: 'etc/hard', type: 'hardlink', linkname: 'etc/motd' },
        { path: 'etc/.wh.gone', content: '' },
        { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
        { path: 'run/fifo', type: 'fifo' },
      ],
      { compression: 'none' },
    );
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.equal(layer.digest, layer.diffId);
    const seen: Array<[string, string, string | null, number]> = [];
    const extract = tar.extract();
    extract.on('entry', (h, stream, next) => {
      seen.push([h.name, h.type, h.linkname || null, h.mode]);
      stream.on('end', next);
      stream.resume();
    });
    extract.end(layer.blob);
    await once(extract, 'finish');
    assert.deepEqual(seen, [
      ['etc/', 'directory', null, 0o700],
      ['etc/motd', 'file', null, 0o600],
      ['etc/link', 'symlink', 'motd', 0o777],
      ['etc/hard', 'link', 'etc/motd', 0o644],
      ['etc/.wh.gone', 'file', null, 0o644],
      ['dev/null', 'character-device', null, 0o644],
      ['run/fifo', 'fifo', null, 0o644],
    ]);
  });
});
