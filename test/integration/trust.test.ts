import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigstoreKeyPair } from '../../src/trust/index.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * policy.json with sigstore signatures. Debian's skopeo 1.9.3 neither makes nor verifies
 * sigstore signatures ("Debian-local change: sigstore disabled"), but it reads and
 * writes them as containers/image stores them: it copies ocipeek's attachments (into a
 * `dir:` image, where the signature is checked here with the openssl CLI), and ocipeek
 * verifies attachments skopeo wrote. Both tools refuse nothing for want of understanding
 * the other's storage.
 */
describe('policy.json and sigstore signatures, stored as skopeo 1.9.3 stores them', () => {
  let dir: TempDir;
  let reg: RunningRegistry;
  let image: BuiltImage;
  let other: BuiltImage;
  let layout: string;
  let files: {
    key: string;
    pass: string;
    pub: string;
    otherPub: string;
    registriesD: string;
    policy: string;
    policyOtherKey: string;
  };

  /** skopeo names policy.json `--policy`; ocipeek `--signature-policy`, as podman does. */
  const ocipeek = (args: string[], policy = files.policy) =>
    runCli([...args, '--signature-policy', policy, '--registries.d', files.registriesD]);
  /** `skopeo copy --insecure-policy` with the test registries.d (signatures are copied too). */
  function skopeoCopy(from: string, to: string): Promise<string> {
    return skopeo([
      '--insecure-policy',
      '--registries.d',
      files.registriesD,
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-no-creds',
      '--dest-no-creds',
      from,
      to,
    ]);
  }

  before(async () => {
    dir = await tempDir('trust');
    reg = await startRegistry();
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    other = await randomImage(w, { refName: 'v2' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'signed/app:1');
    await pushLayout(layout, 'v2', reg, 'signed/app:2');
    await pushLayout(layout, 'v1', reg, 'signed/copy:1');
    await pushLayout(layout, 'v1', reg, 'unsigned/app:1');
    await pushLayout(layout, 'v1', reg, 'elsewhere/app:1');
    const pair = await generateSigstoreKeyPair('correct horse');
    const stranger = await generateSigstoreKeyPair('x');
    const registriesD = join(dir.path, 'registries.d');
    await mkdir(registriesD);
    files = {
      key: join(dir.path, 'sigstore.key'),
      pass: join(dir.path, 'pass'),
      pub: join(dir.path, 'sigstore.pub'),
      otherPub: join(dir.path, 'other.pub'),
      registriesD,
      policy: join(dir.path, 'policy.json'),
      policyOtherKey: join(dir.path, 'policy-other.json'),
    };
    await writeFile(files.key, pair.privateKeyPem);
    await writeFile(files.pass, 'correct horse\n');
    await writeFile(files.pub, pair.publicKeyPem);
    await writeFile(files.otherPub, stranger.publicKeyPem);
    await writeFile(
      join(registriesD, 'default.yaml'),
      'default-docker:\n  use-sigstore-attachments: true\n',
    );
    const policy = (pub: string) =>
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${reg.host}/signed`]: [{ type: 'sigstoreSigned', keyPath: pub }],
            [`${reg.host}/unsigned`]: [{ type: 'sigstoreSigned', keyPath: pub }],
            [`${reg.host}/stored-by-skopeo`]: [
              {
                type: 'sigstoreSigned',
                keyPath: pub,
                signedIdentity: {
                  type: 'exactReference',
                  dockerReference: `${reg.host}/signed/app:1`,
                },
              },
            ],
          },
          // The layouts copies start from (local places are policy-checked too).
          oci: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      });
    await writeFile(files.policy, policy(files.pub));
    await writeFile(files.policyOtherKey, policy(files.otherPub));
    const signed = await ocipeek([
      'sign',
      `${reg.host}/signed/app:1`,
      '--sign-by-sigstore-private-key',
      files.key,
      '--sign-passphrase-file',
      files.pass,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(
      signed.out,
      new RegExp(`signed ${reg.host}/signed/app:1@${image.descriptor.digest}`),
    );
  });

  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('accepts an image ocipeek signed, and says which requirement accepted it; so does skopeo', async () => {
    const r = await ocipeek(['verify', `${reg.host}/signed/app:1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.out,
      new RegExp(`accepted by docker scope "${reg.host}/signed" of ${files.policy}`),
    );
    assert.match(
      r.out,
      new RegExp(
        `sigstoreSigned \\(keyPath ${files.pub}\\): signed by ${files.pub} as ${reg.host}/signed/app:1`,
      ),
    );
  });

  it('sign --key KEY (as cosign spells it) signs with a sigstore key; the TLS --key meaning stays', async () => {
    await pushLayout(layout, 'v2', reg, 'signed/by-key:1');
    const ref = `${reg.host}/signed/by-key:1`;
    const before = await ocipeek(['verify', ref]);
    assert.notEqual(before.code, 0, 'unsigned yet');
    const signed = await ocipeek([
      'sign',
      ref,
      '--key',
      files.key,
      '--sign-passphrase-file',
      files.pass,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.out, new RegExp(`signed ${ref}@${other.descriptor.digest}`));
    const r = await ocipeek(['verify', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`signed by ${files.pub} as ${ref}`));
    // Not a sigstore key: --key is still the TLS client key, which needs --cert.
    const tlsKey = await ocipeek([
      'sign',
      ref,
      '--key',
      files.pub,
      '--sign-passphrase-file',
      files.pass,
    ]);
    assert.notEqual(tlsKey.code, 0);
    assert.doesNotMatch(tlsKey.out, /signed /);
  });

  it('sign --key reads the key once: a key given through a pipe (/dev/stdin) signs', async () => {
    await pushLayout(layout, 'v2', reg, 'signed/by-pipe:1');
    const ref = `${reg.host}/signed/by-pipe:1`;
    const args = ['sign', ref, '--key', '/dev/stdin', '--sign-passphrase-file', files.pass];
    const signed = await runCli(
      [...args, '--signature-policy', files.policy, '--registries.d', files.registriesD],
      { stdin: await readFile(files.key, 'utf8'), stdinPipe: true },
    );
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.out, new RegExp(`signed ${ref}@${other.descriptor.digest}`));
    const r = await ocipeek(['verify', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`signed by ${files.pub} as ${ref}`));
  });

  it('skopeo reads the attachment ocipeek wrote; the signature checks out with openssl', async () => {
    const out = join(dir.path, 'skopeo-dir');
    await skopeoCopy(`docker://${reg.host}/signed/app:1`, `dir:${out}`);
    const stored = await readFile(join(out, 'signature-1'));
    const prefix = Buffer.from('\0sigstore-json\n');
    assert.ok(stored.subarray(0, prefix.length).equals(prefix), 'a sigstore signature, to skopeo');
    const sig = JSON.parse(stored.subarray(prefix.length).toString()) as {
      mimeType: string;
      payload: string;
      annotations: Record<string, string>;
    };
    assert.equal(sig.mimeType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = Buffer.from(sig.payload, 'base64');
    assert.deepEqual(JSON.parse(payload.toString()).critical, {
      identity: { 'docker-reference': `${reg.host}/signed/app:1` },
      image: { 'docker-manifest-digest': image.descriptor.digest },
      type: 'cosign container image signature',
    });
    const raw = join(dir.path, 'sig.der');
    const payloadFile = join(dir.path, 'payload.json');
    await writeFile(
      raw,
      Buffer.from(sig.annotations['dev.cosignproject.cosign/signature']!, 'base64'),
    );
    await writeFile(payloadFile, payload);
    const openssl = (pub: string) =>
      new Promise<number | null>((resolve) => {
        execFile(
          'openssl',
          ['dgst', '-sha256', '-verify', pub, '-signature', raw, payloadFile],
          (err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0),
        );
      });
    assert.equal(await openssl(files.pub), 0, 'openssl verifies it with the public key');
    assert.notEqual(await openssl(files.otherPub), 0, 'and not with another');
  });

  it('ocipeek verifies the attachment skopeo wrote (copied with the image to another repository)', async () => {
    const out = join(dir.path, 'skopeo-dir-2');
    await skopeoCopy(`docker://${reg.host}/signed/app:1`, `dir:${out}`);
    await skopeoCopy(`dir:${out}`, `docker://${reg.host}/stored-by-skopeo/app:1`);
    const r = await ocipeek(['verify', `${reg.host}/stored-by-skopeo/app:1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`as ${reg.host}/signed/app:1`));
  });

  it('refuses it with another key', async () => {
    const r = await ocipeek(['verify', `${reg.host}/signed/app:1`], files.policyOtherKey);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /rejected by policy: sigstoreSigned \(keyPath .*other\.pub\) in docker scope/,
    );
    assert.match(r.stderr, /no trusted key made the signature/);
  });

  it('refuses a manifest the signature does not name (a signature moved to another image)', async () => {
    const sigTag = `sha256-${image.descriptor.digest.slice(7)}.sig`;
    const movedTag = `sha256-${other.descriptor.digest.slice(7)}.sig`;
    const moved = await runCli([
      'copy',
      '--insecure-policy',
      `docker://${reg.host}/signed/app:${sigTag}`,
      `docker://${reg.host}/signed/app:${movedTag}`,
    ]);
    assert.equal(moved.code, 0, moved.stderr);
    const r = await ocipeek(['verify', `${reg.host}/signed/app:2`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `the signature is for manifest ${image.descriptor.digest}, not ${other.descriptor.digest}`,
      ),
    );
  });

  it('refuses a signature for another identity', async () => {
    const sigTag = `sha256-${image.descriptor.digest.slice(7)}.sig`;
    const copied = await runCli([
      'copy',
      '--insecure-policy',
      `docker://${reg.host}/signed/app:${sigTag}`,
      `docker://${reg.host}/signed/copy:${sigTag}`,
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    const r = await ocipeek(['verify', `${reg.host}/signed/copy:1`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `signed identity ${reg.host}/signed/app:1 is not accepted for ${reg.host}/signed/copy:1`,
      ),
    );
  });

  it('a refused pull stores nothing and names the requirement; reject applies outside the scopes', async () => {
    const store = join(dir.path, 'store');
    const r = await ocipeek(['pull', `${reg.host}/unsigned/app:1`, '--store', store]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /rejected by policy: sigstoreSigned .* in docker scope .*unsigned.*: no sigstore signature/,
    );
    const blobs = await readdir(join(store, 'blobs', 'sha256')).catch(() => []);
    assert.deepEqual(blobs, []);
    const elsewhere = await ocipeek(['pull', `${reg.host}/elsewhere/app:1`, '--store', store]);
    assert.match(
      elsewhere.stderr,
      /rejected by policy: reject in default of .*policy\.json: the policy rejects every image here/,
    );
    const accepted = await ocipeek(['pull', `${reg.host}/signed/app:1`, '--store', store]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.ok(
      (await readdir(join(store, 'blobs', 'sha256'))).includes(image.descriptor.digest.slice(7)),
    );
  });

  it('a refused unpack writes no file and stores nothing; the signed image unpacks', async () => {
    const store = join(dir.path, 'unpack-store');
    const out = join(dir.path, 'unpacked');
    const r = await ocipeek(['unpack', `${reg.host}/unsigned/app:1`, out, '--store', store]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rejected by policy: sigstoreSigned .*: no sigstore signature/);
    assert.deepEqual(await readdir(out).catch(() => []), [], 'no file unpacked');
    assert.deepEqual(await readdir(join(store, 'blobs', 'sha256')).catch(() => []), []);
    const ok = await ocipeek(['unpack', `${reg.host}/signed/app:1`, out, '--store', store]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((await readdir(out)).length > 0);
  });

  it('copy --sign-by-sigstore-private-key signs what it pushed; a wrong passphrase pushes nothing', async () => {
    const r = await ocipeek([
      'copy',
      `oci:${layout}:v2`,
      `docker://${reg.host}/signed/by-copy:7`,
      '--sign-by-sigstore-private-key',
      files.key,
      '--sign-passphrase-file',
      files.pass,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.out,
      new RegExp(`signed ${reg.host}/signed/by-copy:7@${other.descriptor.digest}`),
    );
    const verified = await ocipeek(['verify', `${reg.host}/signed/by-copy:7`]);
    assert.equal(verified.code, 0, verified.stderr);
    const wrongPass = join(dir.path, 'wrong-pass');
    await writeFile(wrongPass, 'nope\n');
    const refused = await ocipeek([
      'copy',
      `oci:${layout}:v2`,
      `docker://${reg.host}/signed/never:1`,
      '--sign-by-sigstore-private-key',
      files.key,
      '--sign-passphrase-file',
      wrongPass,
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /wrong passphrase/);
    const tags = await runCli(['tags', `${reg.host}/signed/never`]);
    assert.notEqual(tags.code, 0, 'the repository was never created');
  });
});
