import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { type ExampleLayoutResult, writeExampleLayout } from '../../src/example/index.js';
import { buildGatekeeper } from '../../src/server/registry/config-file.js';
import { serve } from '../../src/server/registry/index.js';
import {
  type RunningRegistryServer,
  startRegistryServer,
} from '../../src/server/registry/server.js';
import { skopeo, skopeoRaw, type TestCerts, tempDir, testCerts } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An HTTPS request trusting the test CA, optionally with the client certificate. */
function get(
  url: string,
  certs: TestCerts,
  init: { headers?: Record<string, string>; method?: string; clientCert?: boolean } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        ca: certs.ca.cert.pem,
        ...(init.clientCert ? { cert: certs.client.cert.pem, key: certs.client.key.pem } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('ocipeek serve: authentication, access rules, TLS', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let certs: TestCerts;
  let example: ExampleLayoutResult;
  let exampleDir: string;
  let htpasswd: string;
  const rules = [
    { repository: 'public/**', pull: ['anonymous'], push: ['alice'], delete: ['alice'] },
    { repository: 'private/**', pull: ['alice'], push: ['alice'] },
  ];

  before(async () => {
    dir = await tempDir('registry-access');
    certs = await testCerts();
    exampleDir = join(dir.path, 'example');
    example = await writeExampleLayout(exampleDir);
    htpasswd = join(dir.path, 'htpasswd');
    const alice = (await run('htpasswd', ['-nbB', 'alice', 'wonderland'])).stdout.trim();
    const bob = (await run('htpasswd', ['-nbB', 'bob', 'builder'])).stdout.trim();
    await writeFile(htpasswd, `${alice}\n${bob}\n`);
  });
  after(async () => {
    await dir?.remove();
  });

  describe('HTTP Basic over TLS', () => {
    let server: RunningRegistryServer;
    let host: string;
    const logs: string[] = [];

    before(async () => {
      server = await startRegistryServer({
        storageDir: join(dir.path, 'basic-store'),
        tls: { cert: certs.server.cert.path, key: certs.server.key.path },
        gate: await buildGatekeeper({ htpasswd }, rules),
        logFormat: 'json',
        log: (l) => logs.push(l),
      });
      host = `127.0.0.1:${server.port}`;
    });
    after(async () => {
      await server?.close();
    });

    it('challenges anonymous clients and refuses wrong passwords', async () => {
      assert.match(server.url, /^https:/);
      const anonymous = await get(`${server.url}/v2/`, certs);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="ocipeek"');
      assert.equal(JSON.parse(anonymous.body).errors[0].code, 'UNAUTHORIZED');
      const wrong = await get(`${server.url}/v2/`, certs, {
        headers: { Authorization: basic('alice', 'nope') },
      });
      assert.equal(wrong.status, 401);
      const right = await get(`${server.url}/v2/`, certs, {
        headers: { Authorization: basic('alice', 'wonderland') },
      });
      assert.equal(right.status, 200);
    });

    it('lets skopeo push and pull with credentials, per the repository rules', async () => {
      const tls = ['--dest-cert-dir', certs.certDir];
      await skopeo([
        'copy',
        '--all',
        ...tls,
        '--dest-creds',
        'alice:wonderland',
        `oci:${exampleDir}:1.0`,
        `docker://${host}/private/app:1`,
      ]);
      await skopeo([
        'copy',
        '--all',
        ...tls,
        '--dest-creds',
        'alice:wonderland',
        `oci:${exampleDir}:1.0`,
        `docker://${host}/public/app:1`,
      ]);
      const raw = await skopeoRaw([
        'inspect',
        '--raw',
        '--cert-dir',
        certs.certDir,
        '--creds',
        'alice:wonderland',
        `docker://${host}/private/app:1`,
      ]);
      assert.equal(sha256(raw), example.index.digest);
      // bob is a user, but not one the private rule names: 403, and no push either.
      const bobPull = await get(`${server.url}/v2/private/app/manifests/1`, certs, {
        headers: { Authorization: basic('bob', 'builder') },
      });
      assert.equal(bobPull.status, 403);
      assert.equal(JSON.parse(bobPull.body).errors[0].code, 'DENIED');
      const bobPush = await get(`${server.url}/v2/public/app/blobs/uploads/`, certs, {
        method: 'POST',
        headers: { Authorization: basic('bob', 'builder') },
      });
      assert.equal(bobPush.status, 403);
      // Anyone pulls public/, nobody anonymous reads private/.
      const pub = await skopeoRaw([
        'inspect',
        '--raw',
        '--no-creds',
        '--cert-dir',
        certs.certDir,
        `docker://${host}/public/app:1`,
      ]);
      assert.equal(sha256(pub), example.index.digest);
      const anon = await get(`${server.url}/v2/private/app/manifests/1`, certs);
      assert.equal(anon.status, 401);
      // The catalog shows each client what it may pull.
      const bobCatalog = await get(`${server.url}/v2/_catalog`, certs, {
        headers: { Authorization: basic('bob', 'builder') },
      });
      assert.deepEqual(JSON.parse(bobCatalog.body).repositories, ['public/app']);
      const aliceCatalog = await get(`${server.url}/v2/_catalog`, certs, {
        headers: { Authorization: basic('alice', 'wonderland') },
      });
      assert.deepEqual(JSON.parse(aliceCatalog.body).repositories, ['private/app', 'public/app']);
    });

    it('logs each request as one JSON line, and counts it in /metrics; /healthz answers', async () => {
      const line = logs
        .map((l) => JSON.parse(l))
        .find((e) => e.route === 'manifest' && e.user === 'alice');
      assert.ok(line, logs.slice(0, 3).join('\n'));
      assert.equal(line.status, 200);
      assert.equal(typeof line.ms, 'number');
      assert.ok(line.bytesOut > 0);
      const health = await get(`${server.url}/healthz`, certs);
      assert.equal(health.status, 200);
      const metrics = await get(`${server.url}/metrics`, certs);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
      assert.match(
        metrics.body,
        /^ocipeek_registry_requests_total\{route="manifest_put",method="PUT",code="201"\} \d+$/m,
      );
      assert.match(
        metrics.body,
        /^ocipeek_registry_requests_total\{route="base",method="GET",code="401"\} \d+$/m,
      );
      assert.match(metrics.body, /^ocipeek_registry_received_bytes_total \d+$/m);
      assert.ok(
        server.metrics.value('ocipeek_registry_requests_total', {
          route: 'upload_complete',
          method: 'PUT',
          code: '201',
        }) > 0,
      );
    });
  });

  describe('bearer tokens from the built-in token endpoint', () => {
    let server: RunningRegistryServer;
    let host: string;

    before(async () => {
      server = await startRegistryServer({
        storageDir: join(dir.path, 'token-store'),
        gate: await buildGatekeeper(
          { htpasswd, token: { service: 'test-registry', issuer: 'test-issuer' } },
          rules,
        ),
      });
      host = `127.0.0.1:${server.port}`;
    });
    after(async () => {
      await server?.close();
    });

    it('issues tokens with the actions the rules grant', async () => {
      const challenge = await fetch(`${server.url}/v2/private/app/manifests/1`);
      assert.equal(challenge.status, 401);
      assert.equal(
        challenge.headers.get('www-authenticate'),
        `Bearer realm="${server.url}/token",service="test-registry",scope="repository:private/app:pull"`,
      );
      const scope = 'scope=repository:private/app:pull,push&scope=repository:public/app:pull,push';
      const forBob = await fetch(`${server.url}/token?service=test-registry&${scope}`, {
        headers: { Authorization: basic('bob', 'builder') },
      });
      const claims = decodeJwt(((await forBob.json()) as { token: string }).token);
      assert.equal(claims.iss, 'test-issuer');
      assert.equal(claims.aud, 'test-registry');
      assert.equal(claims.sub, 'bob');
      assert.deepEqual(claims.access, [
        { type: 'repository', name: 'private/app', actions: [] },
        { type: 'repository', name: 'public/app', actions: ['pull'] },
      ]);
      const wrong = await fetch(`${server.url}/token?service=test-registry&${scope}`, {
        headers: { Authorization: basic('bob', 'wrong') },
      });
      assert.equal(wrong.status, 401);
    });

    it('works with skopeo and ocipeek, and refuses a forged token', async () => {
      await skopeo([
        'copy',
        '--all',
        '--dest-tls-verify=false',
        '--dest-creds',
        'alice:wonderland',
        `oci:${exampleDir}:1.0`,
        `docker://${host}/private/app:1`,
      ]);
      const r = await runCli(
        ['--username', 'alice', '--password-stdin', 'digest', `${host}/private/app:1`],
        {
          stdin: 'wonderland\n',
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out.trim(), example.index.digest);
      const denied = await runCli(
        ['--username', 'bob', '--password-stdin', 'digest', `${host}/private/app:1`],
        {
          stdin: 'builder\n',
        },
      );
      assert.equal(denied.code, 1);
      // A token signed by another key is not honoured.
      const other = await startRegistryServer({
        storageDir: join(dir.path, 'other-store'),
        gate: await buildGatekeeper(
          { htpasswd, token: { service: 'test-registry', issuer: 'test-issuer' } },
          rules,
        ),
      });
      try {
        const forged = await fetch(
          `${other.url}/token?service=test-registry&scope=repository:private/app:pull`,
          {
            headers: { Authorization: basic('alice', 'wonderland') },
          },
        );
        const token = ((await forged.json()) as { token: string }).token;
        const res = await fetch(`${server.url}/v2/private/app/manifests/1`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 401);
      } finally {
        await other.close();
      }
    });
  });

  describe('mutual TLS, certificate reload, graceful shutdown', () => {
    it('requires a client certificate with --client-ca', async () => {
      const server = await startRegistryServer({
        storageDir: join(dir.path, 'mtls-store'),
        tls: {
          cert: certs.server.cert.path,
          key: certs.server.key.path,
          clientCa: certs.ca.cert.path,
        },
      });
      try {
        const ok = await get(`${server.url}/v2/`, certs, { clientCert: true });
        assert.equal(ok.status, 200);
        await assert.rejects(get(`${server.url}/v2/`, certs));
      } finally {
        await server.close();
      }
    });

    it('serves a renewed certificate after reload, and lets a transfer finish on close', async () => {
      const certFile = join(dir.path, 'server.pem');
      const keyFile = join(dir.path, 'server-key.pem');
      await copyFile(certs.server.cert.path, certFile);
      await copyFile(certs.server.key.path, keyFile);
      const server = await startRegistryServer({
        storageDir: join(dir.path, 'reload-store'),
        tls: { cert: certFile, key: keyFile },
      });
      const presented = () =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(
            { host: '127.0.0.1', port: server.port, rejectUnauthorized: false },
            () => {
              resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
              socket.end();
            },
          );
          socket.on('error', reject);
        });
      try {
        const before = await presented();
        assert.equal(before, new X509Certificate(certs.server.cert.pem).fingerprint256);
        // The CA's own certificate and key stand in for a renewed one.
        await copyFile(certs.ca.cert.path, certFile);
        await copyFile(certs.ca.key.path, keyFile);
        await server.reload();
        assert.equal(await presented(), new X509Certificate(certs.ca.cert.pem).fingerprint256);
      } finally {
        await server.close();
      }
    });

    it('closes only after requests in flight have finished', async () => {
      const server = await startRegistryServer({ storageDir: join(dir.path, 'drain-store') });
      const start = await fetch(`${server.url}/v2/drain/app/blobs/uploads/`, { method: 'POST' });
      const location = start.headers.get('location') as string;
      const body = Buffer.alloc(256 * 1024, 7);
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(body.subarray(0, 1024));
          await gate;
          controller.enqueue(body.subarray(1024));
          controller.close();
        },
      });
      const patch = fetch(`${server.url}${location}`, {
        method: 'PATCH',
        body: stream,
        duplex: 'half',
      } as RequestInit);
      await new Promise((r) => setTimeout(r, 200));
      let closed = false;
      const closing = server.close().then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(closed, false, 'waits for the upload in flight');
      release();
      const res = await patch;
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('range'), `0-${body.length - 1}`);
      await closing;
      assert.equal(closed, true);
    });
  });

  it('reads auth and access rules from a YAML config file', async () => {
    const config = join(dir.path, 'registry.yaml');
    await writeFile(
      config,
      [
        `storage: ${join(dir.path, 'config-store')}`,
        'listen: 127.0.0.1:0',
        'auth:',
        `  htpasswd: ${htpasswd}`,
        'access:',
        '  - repository: "open/**"',
        '    pull: [anonymous]',
        '    push: [anonymous]',
        '',
      ].join('\n'),
    );
    const controller = new AbortController();
    const lines: string[] = [];
    const running = serve({ config, signal: controller.signal, write: (l) => lines.push(l) });
    try {
      while (!lines.some((l) => l.startsWith('listening on ')))
        await new Promise((r) => setTimeout(r, 20));
      const url = (lines.find((l) => l.startsWith('listening on ')) as string).slice(
        'listening on '.length,
      );
      assert.equal(
        (await fetch(`${url}/v2/open/x/blobs/uploads/`, { method: 'POST' })).status,
        202,
      );
      assert.equal(
        (await fetch(`${url}/v2/closed/x/blobs/uploads/`, { method: 'POST' })).status,
        401,
      );
      const bad = join(dir.path, 'bad.yaml');
      await writeFile(bad, 'readonly: true\n');
      await assert.rejects(serve({ config: bad }), /unknown key "readonly"/);
    } finally {
      controller.abort();
      await running;
    }
    assert.ok(await readFile(config));
  });
});
