import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { digestOf } from '../../../src/digest/index.js';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { parseReference } from '../../../src/ref/index.js';
import {
  checkSigstoreSignature,
  encryptSigstorePrivateKey,
  generateSigstoreKeyPair,
  loadSigstoreKeys,
  makeSigstorePayload,
  parseSigstorePayload,
  publicKeyPem,
  readSigstorePrivateKey,
} from '../../../src/trust/index.js';

const manifest = Buffer.from('{"schemaVersion":2,"layers":[]}');
const manifestDigest = digestOf(manifest);

describe('sigstore keys, payloads and signatures', () => {
  it('an encrypted private key round-trips with its passphrase only', async () => {
    const { privateKeyPem, publicKeyPem: pub } = await generateSigstoreKeyPair('pass word');
    assert.match(privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const json = JSON.parse(
      Buffer.from(privateKeyPem.split('\n').slice(1, -2).join(''), 'base64').toString(),
    );
    assert.deepEqual(json.kdf.params, { N: 32768, r: 8, p: 1 });
    assert.equal(json.cipher.name, 'nacl/secretbox');
    assert.equal(Buffer.from(json.cipher.nonce, 'base64').length, 24);
    const key = await readSigstorePrivateKey(privateKeyPem, 'pass word');
    assert.equal(publicKeyPem(key), pub);
    await assert.rejects(
      readSigstorePrivateKey(privateKeyPem, 'wrong'),
      (err: unknown) => err instanceof InvalidArgumentError && /wrong passphrase/.test(err.message),
    );
    const older = privateKeyPem.replaceAll('SIGSTORE', 'COSIGN');
    assert.equal(publicKeyPem(await readSigstorePrivateKey(older, 'pass word')), pub);
    await assert.rejects(
      readSigstorePrivateKey(
        privateKeyPem.replaceAll('ENCRYPTED SIGSTORE PRIVATE', 'EC PRIVATE'),
        'x',
      ),
      /unsupported private key type/,
    );
  });

  it('a key sealed by ocipeek and opened again signs what its public key verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await encryptSigstorePrivateKey(privateKey, '');
    const opened = await readSigstorePrivateKey(pem, '');
    const payload = makeSigstorePayload(
      { dockerReference: 'r.io/a:1', manifestDigest },
      'test',
      1700000000,
    );
    const sig = sign('sha256', payload, opened).toString('base64');
    const keys = await loadSigstoreKeys({
      keyData: Buffer.from(publicKey.export({ type: 'spki', format: 'pem' })).toString('base64'),
    });
    const result = checkSigstoreSignature(
      { payload, signature: sig, annotations: {} },
      keys,
      { intended: parseReference('r.io/a:1'), rootBytes: manifest },
      { type: 'matchRepoDigestOrExact' },
    );
    assert.deepEqual(result, { ok: true, identity: 'r.io/a:1', key: 'keyData' });
  });

  it('payloads are written as containers/image writes them and read strictly', () => {
    const payload = makeSigstorePayload(
      { dockerReference: 'r.io/a:1', manifestDigest },
      'ocipeek 1',
      1700000000,
    );
    assert.equal(
      payload.toString(),
      `{"critical":{"identity":{"docker-reference":"r.io/a:1"},"image":{"docker-manifest-digest":"${manifestDigest}"},"type":"cosign container image signature"},"optional":{"creator":"ocipeek 1","timestamp":1700000000}}`,
    );
    assert.deepEqual(parseSigstorePayload(payload), {
      dockerReference: 'r.io/a:1',
      manifestDigest,
    });
    const extra = JSON.parse(payload.toString());
    extra.critical.extra = 1;
    assert.throws(
      () => parseSigstorePayload(Buffer.from(JSON.stringify(extra))),
      /exactly the fields/,
    );
    const wrongType = JSON.parse(payload.toString());
    wrongType.critical.type = 'atomic container signature';
    assert.throws(
      () => parseSigstorePayload(Buffer.from(JSON.stringify(wrongType))),
      /signature type/,
    );
  });

  it('refuses another key, a tampered manifest, another identity and a missing annotation', async () => {
    const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyOf = async (k: typeof signer) =>
      loadSigstoreKeys({
        keyData: Buffer.from(k.publicKey.export({ type: 'spki', format: 'pem' })).toString(
          'base64',
        ),
      });
    const payload = makeSigstorePayload({ dockerReference: 'r.io/a:1', manifestDigest }, 't');
    const sig = {
      payload,
      signature: sign('sha256', payload, signer.privateKey).toString('base64'),
      annotations: {},
    };
    const image = { intended: parseReference('r.io/a:1'), rootBytes: manifest };
    const rule = { type: 'matchRepoDigestOrExact' } as const;
    const reason = (r: ReturnType<typeof checkSigstoreSignature>) => (r.ok ? 'accepted' : r.reason);
    assert.equal(reason(checkSigstoreSignature(sig, await keyOf(signer), image, rule)), 'accepted');
    assert.match(
      reason(checkSigstoreSignature(sig, await keyOf(other), image, rule)),
      /no trusted key/,
    );
    const tampered = { ...image, rootBytes: Buffer.from(`${manifest} `) };
    assert.match(
      reason(checkSigstoreSignature(sig, await keyOf(signer), tampered, rule)),
      /is for manifest/,
    );
    const elsewhere = { ...image, intended: parseReference('r.io/b:1') };
    assert.match(
      reason(checkSigstoreSignature(sig, await keyOf(signer), elsewhere, rule)),
      /signed identity r\.io\/a:1 is not accepted/,
    );
    const changedPayload = {
      ...sig,
      payload: Buffer.from(payload.toString().replace('r.io/a:1', 'r.io/b:1')),
    };
    assert.match(
      reason(checkSigstoreSignature(changedPayload, await keyOf(signer), elsewhere, rule)),
      /no trusted key/,
    );
    assert.match(
      reason(
        checkSigstoreSignature({ ...sig, signature: undefined }, await keyOf(signer), image, rule),
      ),
      /no signature annotation/,
    );
  });
});
