import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  SkopeoError,
  skopeo,
  startRegistry,
  type TempDir,
  type TestGnupgHome,
  tempDir,
  testGnupgHome,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * policy.json `signedBy` (GPG simple signing) against skopeo 1.9.3, which signs with
 * `--sign-by` through gpgme and checks `signedBy` itself: keys made by gpg in a test
 * GnuPG home, signatures in registries.d lookasides (file://, and http:// on loopback).
 */
describe('policy.json signedBy: GPG simple signing as skopeo 1.9.3 does it', () => {
  let dir: TempDir;
  let reg: RunningRegistry;
  let v1: BuiltImage;
  let v2: BuiltImage;
  let layout: string;
  let gnupgHome: string;
  let httpLookaside: Server;
  const keys = { signer: '', ocipeek: '', stranger: '' };
  const f = {
    signerPub: '',
    ocipeekPubArmored: '',
    strangerPub: '',
    ocipeekSecret: '',
    pass: '',
    lookaside: '',
    staging: '',
    published: '',
    regD: '',
    regDStaging: '',
    regDHttp: '',
  };

  let gnupg: TestGnupgHome;
  const gpg = (args: string[], passphrase = '') => gnupg.gpg(args, passphrase);

  /** A policy: `signedBy` with `pub` for the test repositories, reject elsewhere. */
  async function policy(name: string, pub: string, extra: object = {}): Promise<string> {
    const file = join(dir.path, `${name}.json`);
    const signedBy = { type: 'signedBy', keyType: 'GPGKeys', keyPath: pub };
    await writeFile(
      file,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: { [`${reg.host}/gpg`]: [signedBy], ...extra },
          oci: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
    );
    return file;
  }

  const ocipeek = (args: string[], policyFile: string, regD = f.regD) =>
    runCli([...args, '--signature-policy', policyFile, '--registries.d', regD]);

  /** skopeo copy with the test GnuPG home; `--insecure-policy` unless a policy is given. */
  function skopeoCopy(
    from: string,
    to: string,
    opts: { policy?: string; signBy?: string; regD?: string } = {},
  ): Promise<string> {
    return skopeo(
      [
        ...(opts.policy ? ['--policy', opts.policy] : ['--insecure-policy']),
        '--registries.d',
        opts.regD ?? f.regD,
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--src-no-creds',
        '--dest-no-creds',
        ...(opts.signBy ? ['--sign-by', opts.signBy] : []),
        from,
        to,
      ],
      { env: { GNUPGHOME: gnupgHome } },
    );
  }

  /** Where containers/image keeps a signature: `BASE/REPO@sha256=HEX/signature-N`. */
  const sigFile = (base: string, repo: string, digest: string, n = 1) =>
    join(base, `${repo}@${digest.replace(':', '=')}`, `signature-${n}`);

  before(async () => {
    dir = await tempDir('gpg');
    reg = await startRegistry();
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    v1 = await randomImage(w, { refName: 'v1' });
    v2 = await randomImage(w, { refName: 'v2' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'gpg/other:1');
    await pushLayout(layout, 'v1', reg, 'gpg/unsigned:1');
    gnupg = await testGnupgHome(join(dir.path, 'gnupg'));
    gnupgHome = gnupg.home;
    keys.signer = await gnupg.newKey('Skopeo Signer <signer@example.test>', '');
    keys.ocipeek = await gnupg.newKey('Ocipeek Signer <ocipeek@example.test>', 'pass word');
    keys.stranger = await gnupg.newKey('Stranger <stranger@example.test>', '');
    Object.assign(f, {
      signerPub: join(dir.path, 'signer.gpg'),
      ocipeekPubArmored: join(dir.path, 'ocipeek.asc'),
      strangerPub: join(dir.path, 'stranger.gpg'),
      ocipeekSecret: join(dir.path, 'ocipeek-secret.asc'),
      pass: join(dir.path, 'pass'),
      lookaside: join(dir.path, 'lookaside'),
      staging: join(dir.path, 'staging'),
      published: join(dir.path, 'published'),
      regD: join(dir.path, 'registries.d'),
      regDStaging: join(dir.path, 'registries.d-staging'),
      regDHttp: join(dir.path, 'registries.d-http'),
    });
    await writeFile(f.signerPub, await gpg(['--export', keys.signer]));
    await writeFile(f.ocipeekPubArmored, await gpg(['--export', '--armor', keys.ocipeek]));
    await writeFile(f.strangerPub, await gpg(['--export', keys.stranger]));
    await writeFile(
      f.ocipeekSecret,
      await gpg(['--export-secret-keys', '--armor', keys.ocipeek], 'pass word'),
    );
    await writeFile(f.pass, 'pass word\n');
    // A static file server over the lookaside: the http:// kind registries.d allows.
    httpLookaside = createServer((req, res) => {
      const path = join(
        f.lookaside,
        decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname),
      );
      readFile(path).then(
        (bytes) => res.end(bytes),
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    });
    await new Promise<void>((resolve) => httpLookaside.listen(0, '127.0.0.1', resolve));
    const port = (httpLookaside.address() as { port: number }).port;
    for (const [d, yaml] of [
      [f.regD, `default-docker:\n  lookaside: file://${f.lookaside}\n`],
      [
        f.regDStaging,
        `default-docker:\n  lookaside: file://${f.published}\n  lookaside-staging: file://${f.staging}\n`,
      ],
      [f.regDHttp, `default-docker:\n  lookaside: http://127.0.0.1:${port}\n`],
    ] as const) {
      await mkdir(d);
      await writeFile(join(d, 'default.yaml'), yaml);
    }
    // skopeo signs gpg/app:1 (v1) into the lookaside.
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/gpg/app:1`, {
      signBy: keys.signer,
    });
  });

  after(async () => {
    await gnupg?.stop();
    await new Promise<void>((resolve) =>
      httpLookaside ? httpLookaside.close(() => resolve()) : resolve(),
    );
    await reg?.stop();
    await dir?.remove();
  });

  it('skopeo --sign-by wrote a signature where ocipeek looks for it; ocipeek accepts it and says why', async () => {
    const written = await readFile(sigFile(f.lookaside, 'gpg/app', v1.descriptor.digest));
    assert.ok(written.length > 0);
    const r = await ocipeek(
      ['verify', `${reg.host}/gpg/app:1`],
      await policy('p-signer', f.signerPub),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`accepted by docker scope "${reg.host}/gpg"`));
    assert.match(
      r.out,
      new RegExp(
        `signedBy \\(keyPath .*signer\\.gpg\\): signed by ${keys.signer} \\(.*signer\\.gpg\\) as ${reg.host}/gpg/app:1`,
      ),
    );
  });

  it('refuses it with another key, naming the requirement', async () => {
    const r = await ocipeek(
      ['verify', `${reg.host}/gpg/app:1`],
      await policy('p-stranger', f.strangerPub),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `rejected by policy: signedBy \\(keyPath .*stranger\\.gpg\\) in docker scope "${reg.host}/gpg" of .*: signed by key ${keys.signer.slice(-16)}, which is not trusted here`,
      ),
    );
  });

  it('refuses a tag moved to another manifest after signing (the signature names the old one)', async () => {
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/gpg/moved:1`, {
      signBy: keys.signer,
    });
    // The signature for v1's digest, copied to where v2's would be: v2 is now served.
    await pushLayout(layout, 'v2', reg, 'gpg/moved:1');
    await mkdir(join(sigFile(f.lookaside, 'gpg/moved', v2.descriptor.digest), '..'), {
      recursive: true,
    });
    await cp(
      sigFile(f.lookaside, 'gpg/moved', v1.descriptor.digest),
      sigFile(f.lookaside, 'gpg/moved', v2.descriptor.digest),
    );
    const r = await ocipeek(
      ['verify', `${reg.host}/gpg/moved:1`],
      await policy('p-moved', f.signerPub),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `the signature is for manifest ${v1.descriptor.digest}, not ${v2.descriptor.digest}`,
      ),
    );
  });

  it('refuses a signature whose bytes were changed', async () => {
    const sig = await readFile(sigFile(f.lookaside, 'gpg/app', v1.descriptor.digest));
    const target = sigFile(f.lookaside, 'gpg/other', v1.descriptor.digest);
    await mkdir(join(target, '..'), { recursive: true });
    const changed = Buffer.from(sig);
    changed[changed.length - 10]! ^= 0x55; // inside the signature value
    await writeFile(target, changed);
    const r = await ocipeek(
      ['verify', `${reg.host}/gpg/other:1`],
      await policy('p-changed', f.signerPub),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      // gpg compresses the whole message: a changed byte breaks either its framing or
      // the signature, depending on where the compressed bits land.
      /rejected by policy: signedBy .*: (not an OpenPGP signed message \(|the signature by key [0-9A-F]{16} is invalid)/,
    );
  });

  it('refuses a signature for another identity; remapIdentity accepts it where the policy says so', async () => {
    const target = sigFile(f.lookaside, 'gpg/other', v1.descriptor.digest);
    await cp(sigFile(f.lookaside, 'gpg/app', v1.descriptor.digest), target);
    const strict = await ocipeek(
      ['verify', `${reg.host}/gpg/other:1`],
      await policy('p-identity', f.signerPub),
    );
    assert.equal(strict.code, 1);
    assert.match(
      strict.stderr,
      new RegExp(
        `signed identity ${reg.host}/gpg/app:1 is not accepted for ${reg.host}/gpg/other:1 \\(matchRepoDigestOrExact\\)`,
      ),
    );
    const remap = await policy('p-remap', f.signerPub, {
      [`${reg.host}/gpg/other`]: [
        {
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: f.signerPub,
          signedIdentity: {
            type: 'remapIdentity',
            prefix: `${reg.host}/gpg/other`,
            signedPrefix: `${reg.host}/gpg/app`,
          },
        },
      ],
    });
    const r = await ocipeek(['verify', `${reg.host}/gpg/other:1`], remap);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`as ${reg.host}/gpg/app:1`));
    // skopeo agrees on both.
    await skopeoCopy(`docker://${reg.host}/gpg/other:1`, `dir:${join(dir.path, 'remapped')}`, {
      policy: remap,
    });
    await assert.rejects(
      skopeoCopy(`docker://${reg.host}/gpg/other:1`, `dir:${join(dir.path, 'strict')}`, {
        policy: await policy('p-identity-2', f.signerPub),
      }),
      (err: unknown) =>
        err instanceof SkopeoError &&
        /Source image rejected: Signature for identity .*\/gpg\/app:1 is not accepted/.test(
          err.stderr,
        ),
    );
  });

  it('a refused pull stores nothing and says where no signature was found', async () => {
    const store = join(dir.path, 'store');
    const r = await ocipeek(
      ['pull', `${reg.host}/gpg/unsigned:1`, '--store', store],
      await policy('p-pull', f.signerPub),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `rejected by policy: signedBy .*: no simple signature \\(none at file://${f.lookaside}/gpg/unsigned@sha256=`,
      ),
    );
    const blobs = await readdir(join(store, 'blobs', 'sha256')).catch(() => []);
    assert.deepEqual(blobs, []);
  });

  it('a pull that finds the stored image current still applies the policy as it is now', async () => {
    const store = join(dir.path, 'store-current');
    const ref = `${reg.host}/gpg/app:1`;
    const signer = await policy('p-current', f.signerPub);
    const first = await ocipeek(['pull', ref, '--store', store], signer);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.out, /layer\(s\) fetched/);
    const again = await ocipeek(['pull', ref, '--store', store], signer);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.out, new RegExp(`${ref}: up to date`));
    // The policy changed: the stored image, current in the registry, is refused now,
    // whatever the pull policy (missing asks the registry nothing but the signatures).
    const stranger = await policy('p-current-stranger', f.strangerPub);
    for (const pullPolicy of ['newer', 'missing', 'never']) {
      const refused = await ocipeek(
        ['pull', ref, '--store', store, '--policy', pullPolicy],
        stranger,
      );
      assert.equal(refused.code, 1, `--policy ${pullPolicy}: ${refused.out}`);
      assert.match(
        refused.stderr,
        new RegExp(
          `${ref} rejected by policy: signedBy \\(keyPath .*stranger\\.gpg\\) in docker scope "${reg.host}/gpg" .*: signed by key ${keys.signer.slice(-16)}, which is not trusted here`,
        ),
      );
      assert.doesNotMatch(refused.out, /up to date/);
    }
    // store:REF names the store's own copy: nothing is brought in, nothing is checked.
    const own = await ocipeek(['pull', `store:${ref}`, '--store', store], stranger);
    assert.equal(own.code, 0, own.stderr);
    // verify store:REF checks the stored copy with the registry's signatures, as pull does.
    const held = await ocipeek(['verify', `store:${ref}`, '--store', store], signer);
    assert.equal(held.code, 0, held.stderr);
    assert.match(
      held.out,
      new RegExp(`^store:${ref}@${v1.descriptor.digest}: accepted by docker scope`),
    );
    const heldRefused = await ocipeek(['verify', `store:${ref}`, '--store', store], stranger);
    assert.equal(heldRefused.code, 1);
    assert.match(heldRefused.stderr, /which is not trusted here/);
  });

  it('ocipeek sign --sign-by-gpg-key: skopeo accepts the signature with the same policy, and refuses it with another key', async () => {
    await pushLayout(layout, 'v2', reg, 'gpg/mine:1');
    const signed = await ocipeek(
      [
        'sign',
        `${reg.host}/gpg/mine:1`,
        '--sign-by-gpg-key',
        f.ocipeekSecret,
        '--sign-passphrase-file',
        f.pass,
      ],
      await policy('p-none', f.signerPub),
    );
    assert.equal(signed.code, 0, signed.stderr);
    const file = sigFile(f.lookaside, 'gpg/mine', v2.descriptor.digest);
    assert.match(
      signed.out,
      new RegExp(
        `signed ${reg.host}/gpg/mine:1@${v2.descriptor.digest} by ${keys.ocipeek} \\(stored as ${file}\\)`,
      ),
    );
    const accepting = await policy('p-ocipeek', f.ocipeekPubArmored);
    await skopeoCopy(`docker://${reg.host}/gpg/mine:1`, `dir:${join(dir.path, 'mine')}`, {
      policy: accepting,
    });
    // skopeo kept the signature with the image: the very bytes ocipeek wrote.
    assert.deepEqual(await readFile(join(dir.path, 'mine', 'signature-1')), await readFile(file));
    await assert.rejects(
      skopeoCopy(`docker://${reg.host}/gpg/mine:1`, `dir:${join(dir.path, 'mine-2')}`, {
        policy: await policy('p-ocipeek-stranger', f.strangerPub),
      }),
      // gpgme cannot check a signature by a key outside the policy's keyring.
      (err: unknown) =>
        err instanceof SkopeoError &&
        /Source image rejected: Invalid GPG signature/.test(err.stderr),
    );
    const r = await ocipeek(['verify', `${reg.host}/gpg/mine:1`], accepting);
    assert.equal(r.code, 0, r.stderr);
    // skopeo's own check of the one signature, against the manifest it signs.
    const manifest = join(dir.path, 'mine', 'manifest.json');
    const out = await skopeo(
      ['standalone-verify', manifest, `${reg.host}/gpg/mine:1`, keys.ocipeek, file],
      { env: { GNUPGHOME: gnupgHome } },
    );
    assert.match(out, new RegExp(`Signature verified.*${v2.descriptor.digest}`));
  });

  it('--sign-by FINGERPRINT signs with a key of the GnuPG home (no gpg run); skopeo accepts it', async () => {
    await pushLayout(layout, 'v2', reg, 'gpg/by-fpr:1');
    const withHome = (args: string[], policyFile: string) =>
      runCli([...args, '--signature-policy', policyFile, '--registries.d', f.regD], {
        env: { GNUPGHOME: gnupgHome },
      });
    // A key gpg-agent keeps protected (AES-OCB), unlocked with the passphrase file.
    const signed = await withHome(
      [
        'sign',
        `${reg.host}/gpg/by-fpr:1`,
        '--sign-by',
        keys.ocipeek,
        '--sign-passphrase-file',
        f.pass,
      ],
      await policy('p-fpr-none', f.signerPub),
    );
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.out, new RegExp(`by ${keys.ocipeek} \\(stored as `));
    const accepting = await policy('p-fpr', f.ocipeekPubArmored);
    await skopeoCopy(`docker://${reg.host}/gpg/by-fpr:1`, `dir:${join(dir.path, 'by-fpr')}`, {
      policy: accepting,
    });
    const v = await ocipeek(['verify', `${reg.host}/gpg/by-fpr:1`], accepting);
    assert.equal(v.code, 0, v.stderr);
    // An unprotected key, through copy; and the skopeo --sign-by signature of the same
    // image by the same key verifies alike.
    const copied = await withHome(
      ['copy', `oci:${layout}:v1`, `${reg.host}/gpg/by-fpr-2:1`, '--sign-by', keys.signer],
      await policy('p-fpr-2', f.signerPub),
    );
    assert.equal(copied.code, 0, copied.stderr);
    await skopeoCopy(`docker://${reg.host}/gpg/by-fpr-2:1`, `dir:${join(dir.path, 'by-fpr-2')}`, {
      policy: await policy('p-fpr-3', f.signerPub),
    });
    const wrong = join(dir.path, 'wrong-fpr');
    await writeFile(wrong, 'nope\n');
    const bad = await withHome(
      [
        'sign',
        `${reg.host}/gpg/by-fpr:1`,
        '--sign-by',
        keys.ocipeek,
        '--sign-passphrase-file',
        wrong,
      ],
      accepting,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /wrong passphrase for the OpenPGP key/);
    const missing = await withHome(
      ['sign', `${reg.host}/gpg/by-fpr:1`, '--sign-by', 'AB'.repeat(20)],
      accepting,
    );
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      new RegExp(`no key ${'AB'.repeat(20)} in the GnuPG home ${gnupgHome}`),
    );
  });

  it('copy carries lookaside signatures (no sigstore configuration); an unsigned image carries none', async () => {
    const p = await policy('p-carry', f.signerPub, {
      [`${reg.host}/gpg/carried`]: [
        {
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: f.signerPub,
          signedIdentity: {
            type: 'remapIdentity',
            prefix: `${reg.host}/gpg/carried`,
            signedPrefix: `${reg.host}/gpg/app`,
          },
        },
      ],
    });
    const r = await ocipeek(['copy', `${reg.host}/gpg/app:1`, `${reg.host}/gpg/carried:1`], p);
    assert.equal(r.code, 0, r.stderr);
    const carried = sigFile(f.lookaside, 'gpg/carried', v1.descriptor.digest);
    assert.match(r.out, new RegExp(`signatures: 1 copied \\(${carried}\\)`));
    assert.deepEqual(
      await readFile(carried),
      await readFile(sigFile(f.lookaside, 'gpg/app', v1.descriptor.digest)),
    );
    await skopeoCopy(`docker://${reg.host}/gpg/carried:1`, `dir:${join(dir.path, 'carried')}`, {
      policy: p,
    });
    const v = await ocipeek(['verify', `${reg.host}/gpg/carried:1`], p);
    assert.equal(v.code, 0, v.stderr);
    const plain = await ocipeek(
      ['copy', `${reg.host}/gpg/unsigned:1`, `oci:${join(dir.path, 'unsigned-copy')}:v1`],
      await policy('p-carry-unsigned', f.signerPub, {
        [`${reg.host}/gpg/unsigned`]: [{ type: 'insecureAcceptAnything' }],
      }),
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.doesNotMatch(plain.out, /signatures:/);
  });

  it('a wrong passphrase signs nothing', async () => {
    const wrong = join(dir.path, 'wrong');
    await writeFile(wrong, 'nope\n');
    const r = await ocipeek(
      [
        'sign',
        `${reg.host}/gpg/other:1`,
        '--sign-by-gpg-key',
        f.ocipeekSecret,
        '--sign-passphrase-file',
        wrong,
      ],
      await policy('p-x', f.signerPub),
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /wrong passphrase for the OpenPGP key/);
  });

  it('reads signatures from an http:// lookaside, as skopeo does', async () => {
    const p = await policy('p-http', f.signerPub);
    const r = await ocipeek(['verify', `${reg.host}/gpg/app:1`], p, f.regDHttp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`signed by ${keys.signer}`));
    await skopeoCopy(`docker://${reg.host}/gpg/app:1`, `dir:${join(dir.path, 'http')}`, {
      policy: p,
      regD: f.regDHttp,
    });
    const unsigned = await ocipeek(['verify', `${reg.host}/gpg/unsigned:1`], p, f.regDHttp);
    assert.equal(unsigned.code, 1);
    assert.match(
      unsigned.stderr,
      /no simple signature \(none at http:\/\/127\.0\.0\.1:\d+\/gpg\/unsigned@sha256=/,
    );
  });

  it('copy --sign-by-gpg-key writes to lookaside-staging, where skopeo --sign-by writes; readers use lookaside', async () => {
    const accepting = await policy('p-staged', f.ocipeekPubArmored);
    const r = await ocipeek(
      [
        'copy',
        `oci:${layout}:v1`,
        `docker://${reg.host}/gpg/staged:1`,
        '--sign-by-gpg-key',
        f.ocipeekSecret,
        '--sign-passphrase-file',
        f.pass,
      ],
      accepting,
      f.regDStaging,
    );
    assert.equal(r.code, 0, r.stderr);
    const staged = sigFile(f.staging, 'gpg/staged', v1.descriptor.digest);
    assert.match(r.out, new RegExp(`stored as ${staged}`));
    await skopeoCopy(`oci:${layout}:v1`, `docker://${reg.host}/gpg/staged-by-skopeo:1`, {
      signBy: keys.signer,
      regD: f.regDStaging,
    });
    const at = v1.descriptor.digest.replace(':', '=');
    assert.deepEqual(
      (await readdir(f.staging, { recursive: true }))
        .filter((p) => p.endsWith('signature-1'))
        .sort(),
      [`gpg/staged-by-skopeo@${at}/signature-1`, `gpg/staged@${at}/signature-1`],
    );
    assert.deepEqual(await readdir(f.published).catch(() => []), [], 'nothing published yet');
    // Not published yet: readers look in lookaside, which is empty.
    const before = await ocipeek(['verify', `${reg.host}/gpg/staged:1`], accepting, f.regDStaging);
    assert.equal(before.code, 1);
    assert.match(before.stderr, new RegExp(`none at file://${f.published}/gpg/staged@`));
    await cp(f.staging, f.published, { recursive: true });
    const after = await ocipeek(['verify', `${reg.host}/gpg/staged:1`], accepting, f.regDStaging);
    assert.equal(after.code, 0, after.stderr);
    await skopeoCopy(`docker://${reg.host}/gpg/staged:1`, `dir:${join(dir.path, 'staged')}`, {
      policy: accepting,
      regD: f.regDStaging,
    });
  });
});
