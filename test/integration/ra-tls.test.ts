import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttestationRefusedError } from '../../src/errors/index.js';
import { parseReference } from '../../src/ref/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { RegistrySource } from '../../src/registry/registry-place.js';
import { openImage } from '../../src/source/index.js';
import { parsePemCertificates } from '../../src/tls13/server-chain.js';
import { connectTls13 } from '../../src/tls13/tls13-socket.js';
import { toNetworkError } from '../../src/transport/network-errors.js';
import { unpackLayers } from '../../src/unpack/index.js';
import { makeCcaToken } from '../harness/cca-token.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TestCerts,
  tempDir,
  testCerts,
} from '../harness/index.js';
import { type RatlsServer, startRatlsServer } from '../harness/ratls-server.js';
import { runCli } from '../harness/run-cli.js';

/**
 * RA-TLS end to end: a real registry behind a Go RA-TLS front that speaks islet's wire
 * format and checks what islet's server checks (test/harness/go/ratls-server). Tokens are
 * made here (test/harness/cca-token.ts), fresh (bound to the server's nonce and the
 * client's key) or not.
 */
describe('ra-tls against an islet-style registry front', () => {
  let dir: { path: string; remove(): Promise<void> };
  let certs: TestCerts;
  let registry: RunningRegistry;
  let tlsRegistry: RunningRegistry;
  let front: RatlsServer;
  let image: BuiltImage;
  let ref: string;

  before(async () => {
    dir = await tempDir('ra-tls');
    certs = await testCerts();
    registry = await startRegistry();
    tlsRegistry = await startRegistry({ tls: 'tls' });
    const w = new LayoutWriter(join(dir.path, 'layout'));
    image = await randomImage(w, { layers: 2, refName: 'img' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'img', registry, 'realm/app:1');
    await pushLayout(join(dir.path, 'layout'), 'img', tlsRegistry, 'realm/app:1');
    front = await startRatlsServer({
      upstream: registry.url,
      certFile: certs.server.cert.path,
      keyFile: certs.server.key.path,
      dir: dir.path,
    });
    ref = `${front.host}/realm/app:1`;
  });
  after(async () => {
    await front?.stop();
    await registry?.stop();
    await tlsRegistry?.stop();
    await dir?.remove();
  });

  function client(tokenFor: (challenge: Uint8Array) => Uint8Array): RegistryClient {
    return new RegistryClient({
      mode: 'ra-tls',
      tls: { rootCaFile: certs.ca.cert.path, tokenProvider: async (c) => tokenFor(c) },
      retry: { retries: 0 },
    });
  }

  it('pulls, inspects and unpacks with a fresh token bound to the nonce', async () => {
    const c = client((challenge) => makeCcaToken({ challenge }));
    try {
      const { manifest, digest } = await c.getManifest(ref);
      assert.equal(digest, image.descriptor.digest);
      assert.deepEqual(manifest, image.manifest);
      const opened = await openImage(new RegistrySource(parseReference(ref), { client: c }));
      assert.deepEqual(opened.config, image.config);
      const out = join(dir.path, 'rootfs');
      await unpackLayers(opened.layers, out, { verify: true });
      const id = await readFile(join(out, 'layer1/id.txt'), 'utf8');
      assert.equal(id, 'layer 1\n');
      await opened.close();
    } finally {
      await c.close();
    }
    assert.match(front.logs(), /attestation accepted/);
  });

  it('refuses a stale token from a file (wrong challenge), with a clear CLI error', async () => {
    const stale = join(dir.path, 'token.bin');
    await writeFile(stale, makeCcaToken({ challenge: Buffer.alloc(64, 7) }));
    const r = await runCli([
      'inspect',
      '--tls',
      'ra-tls',
      '--root-ca',
      certs.ca.cert.path,
      '--token',
      stale,
      ref,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^ocipeek: the registry refused the attestation: the token, its binding/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.match(front.logs(), /challenge mismatch/);
  });

  it('attestation inspect shows what a token says, and that it holds together', async () => {
    const file = join(dir.path, 'inspect.bin');
    await writeFile(file, makeCcaToken({ challenge: Buffer.alloc(64, 0xab) }));
    const r = await runCli(['attestation', 'inspect', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.out);
    assert.equal(view.realm.challenge, 'ab'.repeat(64));
    assert.equal(view.realm.rim, '11'.repeat(64));
    assert.equal(view.realm.rems.length, 4);
    assert.equal(view.realmSignature, 'valid');
    assert.equal(view.platformBinding, 'valid');
    const text = await runCli(['attestation', 'inspect', file]);
    assert.match(text.out, /^realm signature: +valid$/m);
    const junk = join(dir.path, 'junk.bin');
    await writeFile(junk, 'not cbor at all');
    const bad = await runCli(['attestation', 'inspect', junk]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^ocipeek: not a CCA token: /);
  });

  it('refuses a fresh token from a realm with the wrong RIM', async () => {
    const c = client((challenge) => makeCcaToken({ challenge, rim: Buffer.alloc(64, 0x99) }));
    try {
      const err = await c.getManifest(ref).catch((e) => e);
      assert.ok(err instanceof AttestationRefusedError, String(err));
      assert.match(err.message, /^the registry refused the attestation: /);
    } finally {
      await c.close();
    }
    assert.match(front.logs(), /RIM does not match/);
  });

  it('refuses a token whose realm signature is forged', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const c = client((challenge) => makeCcaToken({ challenge, signWith: other }));
    try {
      assert.ok((await c.getManifest(ref).catch((e) => e)) instanceof AttestationRefusedError);
    } finally {
      await c.close();
    }
    assert.match(front.logs(), /realm token signature is wrong/);
  });

  it('reports a missing client certificate as a refused attestation', async () => {
    const socket = await connectTls13({
      host: '127.0.0.1',
      port: front.port,
      trusted: parsePemCertificates(certs.ca.cert.pem),
      clientCertificate: async () => undefined,
    });
    const err = await new Promise<Error>((resolve) => {
      socket.on('error', resolve);
      socket.write('GET /v2/ HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    const mapped = toNetworkError(err, front.host);
    assert.ok(mapped instanceof AttestationRefusedError, String(err));
    assert.match(mapped.message, /none was sent/);
  });

  it('tls mode (Node TLS, no token) cannot get in', async () => {
    const r = await runCli(['inspect', '--tls', 'tls', '--root-ca', certs.ca.cert.path, ref]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ocipeek: TLS failure talking to /);
  });

  it('tls mode with --root-ca reaches a normal TLS registry; a wrong root CA is a clear error', async () => {
    const good = await runCli([
      'digest',
      '--tls',
      'tls',
      '--root-ca',
      certs.ca.cert.path,
      `${tlsRegistry.host}/realm/app:1`,
    ]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.out.trim(), image.descriptor.digest);
    const wrong = await runCli([
      'digest',
      '--tls',
      'tls',
      '--root-ca',
      certs.jwt.cert.path,
      `${tlsRegistry.host}/realm/app:1`,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^ocipeek: TLS failure talking to .*(certificate|issuer)/i);
  });

  it('ra-tls with the wrong root CA refuses the registry before sending anything', async () => {
    const token = join(dir.path, 'any-token.bin');
    await writeFile(token, makeCcaToken({ challenge: Buffer.alloc(64) }));
    const r = await runCli([
      'inspect',
      '--tls',
      'ra-tls',
      '--root-ca',
      certs.jwt.cert.path,
      '--token',
      token,
      ref,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ocipeek: TLS failure talking to .*not signed by a trusted CA/);
  });
});
