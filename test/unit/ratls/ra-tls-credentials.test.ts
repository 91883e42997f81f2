import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspectCcaToken } from '../../../src/ratls/cca-token.js';
import {
  CCA_TOKEN_EXTENSION,
  newRaTlsKey,
  raTlsCertificate,
} from '../../../src/ratls/client-certificate.js';
import { raTlsCredentials, raTlsNonce } from '../../../src/ratls/ra-tls-credentials.js';
import { TlsAlertError } from '../../../src/tls13/wire.js';
import { GOOD_REALM, makeCcaToken } from '../../harness/cca-token.js';

/** The RA-TLS client certificate, the nonce and challenge rules, and CCA token decoding. */
describe('RA-TLS credentials', () => {
  it('builds islet’s certificate: RSA-2048, empty names, the token in 1.3.3.3.7, self-signed', async () => {
    const key = await newRaTlsKey();
    const token = Buffer.from('a token, any bytes');
    const der = raTlsCertificate(key, token);
    const cert = new X509Certificate(der);
    assert.ok(!cert.subject, 'no subject');
    assert.ok(!cert.issuer, 'no issuer');
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
    assert.equal(new Date(cert.validFrom).toISOString(), '2021-05-19T00:00:00.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '4096-01-01T00:00:00.000Z');
    assert.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(key.spki));
    // The extension: OID 1.3.3.3.7 (06 04 2b 03 03 07), not critical, OCTET STRING token.
    const ext = Buffer.concat([
      Buffer.from('06042b030307', 'hex'),
      Buffer.from([0x04, token.length]),
      token,
    ]);
    assert.ok(der.includes(ext), 'extension 1.3.3.3.7 holds the token bytes as they are');
    assert.equal(CCA_TOKEN_EXTENSION, '1.3.3.3.7');
  });

  it('reads the nonce from exactly one base64 authority, and refuses anything else', () => {
    const nonce = Buffer.alloc(64, 5);
    assert.ok(raTlsNonce([Buffer.from(nonce.toString('base64'))]).equals(nonce));
    for (const entries of [
      [],
      [Buffer.from('AAAA'), Buffer.from('AAAA')],
      [Buffer.from('not base64!')],
    ]) {
      assert.throws(
        () => raTlsNonce(entries),
        (e: unknown) => e instanceof TlsAlertError && /not RA-TLS/.test(e.message),
      );
    }
  });

  it('asks the provider for SHA-512(nonce ‖ SPKI) and keeps one key per client', async () => {
    const challenges: Buffer[] = [];
    const tokens: Uint8Array[] = [];
    const provide = raTlsCredentials(async (challenge) => {
      challenges.push(Buffer.from(challenge));
      tokens.push(makeCcaToken({ challenge }));
      return tokens[tokens.length - 1] as Uint8Array;
    });
    const nonces = [Buffer.alloc(64, 1), Buffer.alloc(64, 2)];
    const answers = [];
    for (const nonce of nonces) {
      answers.push(
        await provide({
          authorities: [Buffer.from(nonce.toString('base64'))],
          signatureSchemes: [0x0804],
        }),
      );
    }
    const spkis = answers.map((a) =>
      new X509Certificate(a?.chain[0] as Uint8Array).publicKey.export({
        type: 'spki',
        format: 'der',
      }),
    );
    assert.ok(spkis[0]?.equals(spkis[1] as Buffer), 'the same key for both connections');
    for (const [i, nonce] of nonces.entries()) {
      const expected = createHash('sha512')
        .update(nonce)
        .update(spkis[0] as Buffer)
        .digest();
      assert.ok(challenges[i]?.equals(expected));
      assert.ok(
        Buffer.from(answers[i]?.chain[0] as Uint8Array).includes(
          Buffer.from(tokens[i] as Uint8Array),
        ),
      );
      assert.ok(inspectCcaToken(tokens[i] as Uint8Array).realm.challenge.equals(expected));
    }
  });
});

describe('CCA token decoding', () => {
  it('decodes the claims and checks the realm signature and the platform binding', () => {
    const challenge = Buffer.alloc(64, 9);
    const report = inspectCcaToken(makeCcaToken({ challenge }));
    assert.ok(report.realm.challenge.equals(challenge));
    assert.ok(report.realm.rim.equals(GOOD_REALM.rim));
    assert.deepEqual(report.realm.rems, GOOD_REALM.rems);
    assert.equal(report.realm.hashAlgorithm, 'sha-512');
    assert.equal(report.realm.publicKey.length, 97);
    assert.equal(report.realmSignatureValid, true);
    assert.equal(report.bindingValid, true);
  });

  it('says so when the realm signature is forged or the binding broken', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const forged = inspectCcaToken(makeCcaToken({ challenge: Buffer.alloc(64), signWith: other }));
    assert.equal(forged.realmSignatureValid, false);
    assert.equal(forged.bindingValid, true);
    const unbound = inspectCcaToken(
      makeCcaToken({ challenge: Buffer.alloc(64), platformChallenge: Buffer.alloc(32) }),
    );
    assert.equal(unbound.realmSignatureValid, true);
    assert.equal(unbound.bindingValid, false);
  });

  it('refuses bytes that are not a CCA token with a clear error', () => {
    for (const bytes of [
      Buffer.from('hello'),
      Buffer.from([0xa0]),
      Buffer.from([0xd9, 0x01, 0x8f, 0xa0]),
    ]) {
      assert.throws(
        () => inspectCcaToken(bytes),
        (e: unknown) =>
          (e as { code?: string }).code === 'ERR_INVALID_ATTESTATION_TOKEN' &&
          /^not a CCA token: /.test((e as Error).message),
      );
    }
  });
});
