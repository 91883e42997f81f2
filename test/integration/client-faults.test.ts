import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DigestMismatchError,
  NetworkError,
  parseReference,
  RegistryClient,
} from '../../src/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  faults,
  LayoutWriter,
  match,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
  times,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('faults between the client and the real registry', () => {
  let dir: { path: string; remove(): Promise<void> };
  let img: BuiltImage;
  let plain: RunningRegistry;
  let token: RunningRegistry;
  let proxy: FaultProxy;
  let tokenProxy: FaultProxy;

  before(async () => {
    dir = await tempDir('faults');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    img = await randomImage(w, { layers: 1, layerSize: 512 * 1024, refName: 'img' });
    await w.finish();
    plain = await startRegistry();
    token = await startRegistry({ auth: 'token' });
    await pushLayout(join(dir.path, 'layout'), 'img', plain, 'faults/app:1');
    await pushLayout(join(dir.path, 'layout'), 'img', token, 'faults/app:1');
    proxy = await startFaultProxyFor(plain);
    tokenProxy = await startFaultProxyFor(token);
  });
  after(async () => {
    await proxy?.close();
    await tokenProxy?.close();
    await plain?.stop();
    await token?.stop();
    await dir?.remove();
  });

  const layer = () => img.layers[0]!;

  it('a corrupted blob byte is a digest error naming the digest, and nothing is written', async () => {
    proxy.resetLog();
    proxy.setRule(times(1, match.blobGet, faults.corruptByteAt(1000)));
    const out = join(dir.path, 'out', 'corrupt.bin');
    await import('node:fs/promises').then((fs) =>
      fs.mkdir(join(dir.path, 'out'), { recursive: true }),
    );
    const r = await runCli(['blob', `${proxy.host}/faults/app`, layer().digest, '-o', out]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ocipeek: digest mismatch for blob ${layer().digest}: got ${r.stderr.match(/got (sha256:[0-9a-f]{64})/)?.[1]}\n`,
    );
    assert.deepEqual(await readdir(join(dir.path, 'out')), [], 'no file, no temp file left');
    assert.equal(proxy.log.filter((e) => e.fault === 'corrupt').length, 1);
  });

  it('the library stream errors before it ends on a corrupted byte', async () => {
    proxy.setRule(times(1, match.blobGet, faults.corruptByteAt(5)));
    const client = new RegistryClient();
    try {
      const stream = await client.openBlob(`${proxy.host}/faults/app`, {
        digest: layer().digest,
        size: layer().size,
      });
      await assert.rejects(readAll(stream), DigestMismatchError);
    } finally {
      await client.close();
    }
  });

  it('a connection dropped mid-blob is resumed with a Range request and yields the right bytes', async () => {
    proxy.resetLog();
    proxy.setRule(times(1, match.blobGet, faults.dropAfterBytes(100_000)));
    const r = await runCli(['blob', `${proxy.host}/faults/app`, layer().digest]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, layer().blob);
    const gets = proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/'));
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.fault, 'drop');
    assert.equal(gets[0]!.range, undefined);
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(gets[1]!.range!)![1]);
    assert.ok(resumedAt > 0 && resumedAt <= 100_000, `resumed at ${resumedAt}`);
    assert.equal(
      gets[1]!.bytesSent,
      layer().size - resumedAt,
      'only the missing bytes were fetched again',
    );
  });

  it('a body that stalls past the body timeout is resumed with Range and verified', async () => {
    proxy.resetLog();
    proxy.setRule(times(1, match.blobGet, faults.stallAfterBytes(100_000)));
    const client = new RegistryClient({ bodyTimeoutMs: 300 });
    try {
      const bytes = await client.readBlob(`${proxy.host}/faults/app`, {
        digest: layer().digest,
        size: layer().size,
      });
      assert.deepEqual(bytes, layer().blob);
      const gets = proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/'));
      assert.deepEqual(
        gets.map((e) => [e.fault ?? null, e.range ?? null]),
        [
          ['stall', null],
          [null, `bytes=${gets[0]!.bytesSent}-`],
        ],
      );
    } finally {
      proxy.setRule(undefined);
      await client.close();
    }
  });

  it('a registry that never answers times out with a clear error, retries bounded', async () => {
    proxy.resetLog();
    proxy.setRule(times(10, match.manifestGet, faults.delay(3_000)));
    const client = new RegistryClient({ timeoutMs: 200, retry: { retries: 1, minDelayMs: 10 } });
    try {
      await assert.rejects(client.getManifest(`${proxy.host}/faults/app:1`), (e: unknown) => {
        assert.ok(e instanceof NetworkError, String(e));
        assert.match(
          (e as Error).message,
          /^cannot reach 127\.0\.0\.1:\d+: timed out \(no response within 200 ms\)$/,
        );
        return true;
      });
      assert.equal(proxy.log.length, 2, 'one try and one retry');
    } finally {
      proxy.setRule(undefined);
      await client.close();
    }
  });

  it('429 with Retry-After waits as asked, then succeeds', async () => {
    proxy.resetLog();
    proxy.setRule(times(1, match.manifestGet, faults.status(429, { 'Retry-After': '1' })));
    const started = performance.now();
    const r = await runCli(['digest', `${proxy.host}/faults/app:1`]);
    const waited = performance.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.trim(), img.descriptor.digest);
    assert.deepEqual(
      proxy.log.map((e) => e.status),
      [429, 200],
    );
    assert.ok(waited >= 950, `honoured Retry-After: 1 (waited ${Math.round(waited)} ms)`);
  });

  it('persistent 503s give up after bounded retries with a clear error', async () => {
    proxy.resetLog();
    proxy.setRule(times(100, match.manifestGet, faults.status(503, { 'Retry-After': '0' })));
    const r = await runCli(['digest', `${proxy.host}/faults/app:1`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ocipeek: registry answered 503 UNAVAILABLE for manifest /);
    assert.equal(proxy.log.length, 5, 'one try and four retries');
    proxy.setRule(undefined);
  });

  it('a 401 on a cached token re-authenticates once and retries', async () => {
    const client = new RegistryClient({
      keychain: { resolve: async () => ({ username: token.username, password: token.password }) },
    });
    const ref = parseReference(`${tokenProxy.host}/faults/app:1`);
    try {
      token.tokenServer!.resetCounters();
      const m = await client.getManifest(ref);
      assert.equal(m.digest, img.descriptor.digest);
      assert.equal(token.tokenServer!.requests, 1);
      tokenProxy.resetLog();
      tokenProxy.setRule(times(1, match.blobGet, faults.stripAuthorization()));
      const bytes = await client.readBlob(ref, { digest: layer().digest, size: layer().size });
      assert.deepEqual(bytes, layer().blob);
      assert.equal(token.tokenServer!.requests, 2, 'a fresh token was fetched');
      assert.deepEqual(
        tokenProxy.log.map((e) => [e.fault ?? null, e.status]),
        [
          ['strip-authorization', 401],
          [null, 200],
        ],
      );
    } finally {
      tokenProxy.setRule(undefined);
      await client.close();
    }
  });

  it('a redirect to another origin is followed without sending Authorization there', async () => {
    const client = new RegistryClient({
      keychain: { resolve: async () => ({ username: token.username, password: token.password }) },
    });
    try {
      await client.getManifest(`${tokenProxy.host}/faults/app:1`); // holds a pull token now
      tokenProxy.resetLog();
      tokenProxy.setRule(times(1, match.blobGet, faults.redirect(307)));
      const bytes = await client.readBlob(`${tokenProxy.host}/faults/app`, {
        digest: layer().digest,
        size: layer().size,
      });
      assert.deepEqual(bytes, layer().blob);
      const toRegistry = tokenProxy.log.filter((e) => e.url.includes('/blobs/'));
      assert.ok(
        toRegistry.every((e) => e.hasAuthorization),
        'the registry itself got the token',
      );
      const mirrored = tokenProxy.mirror.requests;
      assert.equal(mirrored.length, 1);
      assert.equal(
        mirrored[0]!.headers.authorization,
        undefined,
        'no credentials to the other origin',
      );
      assert.equal(mirrored[0]!.status, 200);
    } finally {
      tokenProxy.setRule(undefined);
      await client.close();
    }
  });

  it('a manifest over 4 MiB from a hostile server is refused, with or without Content-Length', async () => {
    // Real registries refuse to store such manifests, so a hostile server is faked here.
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    let chunked = false;
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      if (!chunked) res.setHeader('content-length', huge.length);
      res.end(req.method === 'HEAD' ? undefined : huge);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const mode of [false, true]) {
        chunked = mode;
        const r = await runCli(['manifest', `127.0.0.1:${port}/hostile/app:big`]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `ocipeek: manifest 127.0.0.1:${port}/hostile/app:big exceeds the limit of 4194304 bytes\n`,
        );
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
