import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type * as OpenPgp from 'openpgp';
import { digestOf } from '../../../src/digest/index.js';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { parseReference } from '../../../src/ref/index.js';
import type { RegistryClient } from '../../../src/registry/index.js';
import {
  checkSimpleSignature,
  loadGpgKeys,
  lookasideSignatureUrl,
  makeSigstorePayload,
  makeSimpleSignature,
  RegistriesD,
  readGpgPrivateKey,
  readLookasideSignatures,
  writeLookasideSignature,
} from '../../../src/trust/index.js';
import { type TempDir, tempDir } from '../../harness/index.js';

// The CommonJS build, as ocipeek loads it: keys of one copy of OpenPGP.js do not work with another.
const openpgp = createRequire(import.meta.url)('openpgp') as typeof OpenPgp;

const manifest = Buffer.from('{"schemaVersion":2,"layers":[]}');
const manifestDigest = digestOf(manifest);
const intended = parseReference('r.example/app:1');
const image = { intended, rootBytes: manifest };
const rule = { type: 'matchRepoDigestOrExact' } as const;
const claims = { dockerReference: 'r.example/app:1', manifestDigest };

async function newKey(name: string, passphrase?: string) {
  return openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: `${name}@example.test` }],
    passphrase,
    format: 'object',
  });
}

describe('GPG simple signing', () => {
  let dir: TempDir;
  let signer: Awaited<ReturnType<typeof newKey>>;
  let stranger: Awaited<ReturnType<typeof newKey>>;

  before(async () => {
    dir = await tempDir('simple-signing');
    signer = await newKey('signer');
    stranger = await newKey('stranger', 'secret');
  });
  after(() => dir.remove());

  const trusting = (key: OpenPgp.Key) =>
    loadGpgKeys({ keyData: Buffer.from(key.toPublic().write()).toString('base64') });

  it('a signature ocipeek makes is accepted with its key, naming the key and identity', async () => {
    const sig = await makeSimpleSignature(claims, signer.privateKey, 'test');
    const keys = await trusting(signer.publicKey);
    const fpr = signer.publicKey.getFingerprint().toUpperCase();
    assert.deepEqual(await checkSimpleSignature(sig, keys, image, rule), {
      ok: true,
      identity: 'r.example/app:1',
      key: `${fpr} (keyData)`,
    });
    // What it signed is the payload containers/image writes, as literal data.
    const message = await openpgp.readMessage({ binaryMessage: sig });
    const payload = JSON.parse(Buffer.from(message.getLiteralData() as Uint8Array).toString());
    assert.deepEqual(payload.critical, {
      identity: { 'docker-reference': 'r.example/app:1' },
      image: { 'docker-manifest-digest': manifestDigest },
      type: 'atomic container signature',
    });
    assert.equal(payload.optional.creator, 'test');
  });

  it('refuses another key, changed bytes, another manifest, another identity and a sigstore payload', async () => {
    const sig = await makeSimpleSignature(claims, signer.privateKey, 'test');
    const refusal = async (bytes: Buffer, keys = trusting(signer.publicKey), img = image) => {
      const r = await checkSimpleSignature(bytes, await keys, img, rule);
      assert.equal(r.ok, false);
      return (r as { reason: string }).reason;
    };
    assert.match(
      await refusal(sig, trusting(stranger.publicKey)),
      new RegExp(
        `signed by key ${signer.publicKey.getKeyID().toHex().toUpperCase()}, which is not trusted here`,
      ),
    );
    // openpgp.js does not compress: the payload is there to change.
    const at = sig.indexOf(Buffer.from('r.example/app:1'));
    assert.ok(at > 0);
    const changed = Buffer.from(sig);
    changed[at] = 'R'.charCodeAt(0);
    assert.match(await refusal(changed), /the signature by key .* is invalid/);
    const other = Buffer.from('{"schemaVersion":2}');
    assert.match(
      await refusal(sig, undefined, { intended, rootBytes: other }),
      new RegExp(`the signature is for manifest ${manifestDigest}, not ${digestOf(other)}`),
    );
    assert.match(
      await refusal(sig, undefined, {
        intended: parseReference('r.example/other:1'),
        rootBytes: manifest,
      }),
      /signed identity r\.example\/app:1 is not accepted for r\.example\/other:1 \(matchRepoDigestOrExact\)/,
    );
    const message = await openpgp.createMessage({ binary: makeSigstorePayload(claims, 'x') });
    const cosign = Buffer.from(
      await openpgp.sign({ message, signingKeys: signer.privateKey, format: 'binary' }),
    );
    assert.match(
      await refusal(cosign),
      /invalid payload: unexpected signature type "cosign container image signature"/,
    );
    assert.match(await refusal(Buffer.from('not pgp')), /not an OpenPGP signed message/);
  });

  it('a message with two signatures is refused, as containers/image refuses it', async () => {
    const unlocked = await openpgp.decryptKey({
      privateKey: stranger.privateKey,
      passphrase: 'secret',
    });
    const message = await openpgp.createMessage({ binary: Buffer.from('{}') });
    const two = Buffer.from(
      await openpgp.sign({ message, signingKeys: [signer.privateKey, unlocked], format: 'binary' }),
    );
    const r = await checkSimpleSignature(two, await trusting(signer.publicKey), image, rule);
    assert.deepEqual(r, { ok: false, reason: '2 signatures in one message, not 1' });
  });

  it('keys come from binary and armored keyrings and keyData; a file without keys is named', async () => {
    const binary = join(dir.path, 'keys.gpg');
    const armored = join(dir.path, 'keys.asc');
    const bin = Buffer.concat([
      signer.publicKey.toPublic().write(),
      stranger.publicKey.toPublic().write(),
    ]);
    await writeFile(binary, bin);
    await writeFile(armored, signer.publicKey.armor());
    const keys = await loadGpgKeys({ keyPaths: [binary, armored] });
    assert.deepEqual(
      keys.map((k) => [k.fingerprint, k.origin]),
      [
        [signer.publicKey.getFingerprint().toUpperCase(), binary],
        [stranger.publicKey.getFingerprint().toUpperCase(), binary],
        [signer.publicKey.getFingerprint().toUpperCase(), armored],
      ],
    );
    const junk = join(dir.path, 'junk');
    await writeFile(junk, 'junk');
    await assert.rejects(
      loadGpgKeys({ keyPath: junk }),
      new RegExp(`${junk} is not an OpenPGP keyring`),
    );
    await assert.rejects(
      loadGpgKeys({ keyPath: join(dir.path, 'none') }),
      /cannot read key .*none/,
    );
  });

  it('a protected secret key needs its passphrase', async () => {
    const armored = Buffer.from(stranger.privateKey.armor());
    await assert.rejects(
      readGpgPrivateKey(armored, undefined),
      (err: unknown) => err instanceof InvalidArgumentError && /is protected/.test(err.message),
    );
    await assert.rejects(
      readGpgPrivateKey(armored, 'wrong'),
      /wrong passphrase for the OpenPGP key/,
    );
    const key = await readGpgPrivateKey(armored, 'secret');
    assert.ok(key.isDecrypted());
    await assert.rejects(
      readGpgPrivateKey(Buffer.from('x'), undefined),
      /not an OpenPGP secret key/,
    );
  });

  it('lookaside files: skopeo’s layout, numbered from 1, a signature written once, read until the first gap', async () => {
    const base = pathToFileURL(join(dir.path, 'lookaside')).href;
    const ref = parseReference('r.example:5000/ns/app:1');
    assert.equal(
      lookasideSignatureUrl(`${base}/`, ref, manifestDigest, 1).href,
      `${base}/ns/app@sha256=${manifestDigest.slice(7)}/signature-2`,
    );
    const a = Buffer.from('first');
    const b = Buffer.from('second');
    const pathA = await writeLookasideSignature(base, ref, manifestDigest, a);
    assert.equal(await writeLookasideSignature(base, ref, manifestDigest, a), pathA, 'not twice');
    const pathB = await writeLookasideSignature(base, ref, manifestDigest, b);
    assert.match(pathB, /signature-2$/);
    const folder = join(dir.path, 'lookaside', `ns/app@sha256=${manifestDigest.slice(7)}`);
    assert.deepEqual((await readdir(folder)).sort(), ['signature-1', 'signature-2']);
    // signature-4 after a gap is not read, as containers/image stops at the first gap.
    await writeFile(join(folder, 'signature-4'), 'late');
    const client = {} as RegistryClient;
    assert.deepEqual(await readLookasideSignatures(client, base, ref, manifestDigest), [a, b]);
    assert.deepEqual(await readFile(pathA), a);
    await assert.rejects(
      writeLookasideSignature('https://sigs.example/', ref, manifestDigest, a),
      /written to file:\/\/ lookasides only/,
    );
  });

  it('registries.d: reading uses lookaside; writing the most specific section naming either, staging first', () => {
    const d = new RegistriesD(
      { lookaside: 'file:///all', lookasideStaging: 'file:///all-staging' },
      new Map([
        ['r.example/team', { lookaside: 'file:///team' }],
        ['r.example/team/app', { useSigstoreAttachments: true }],
        [
          'r.example/other',
          { lookaside: 'file:///other', lookasideStaging: 'file:///other-staging' },
        ],
      ]),
    );
    const ref = (s: string) => parseReference(s);
    assert.equal(d.lookaside(ref('r.example/team/app:1')), 'file:///team');
    assert.equal(d.lookasideForWrite(ref('r.example/team/app:1')), 'file:///team');
    assert.equal(d.lookasideForWrite(ref('r.example/other/app:1')), 'file:///other-staging');
    assert.equal(d.lookasideForWrite(ref('elsewhere.example/app:1')), 'file:///all-staging');
    assert.equal(d.lookaside(ref('elsewhere.example/app:1')), 'file:///all');
    // Without registries.d: containers/image's built-in folder (root's, or the user's).
    const builtIn = RegistriesD.empty().lookaside(ref('r.example/app:1'));
    if (process.getuid?.() === 0) assert.equal(builtIn, 'file:///var/lib/containers/sigstore');
    else assert.match(builtIn, /\/\.local\/share\/containers\/sigstore$/);
  });
});
