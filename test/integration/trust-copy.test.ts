import assert from 'node:assert/strict';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigstoreKeyPair } from '../../src/trust/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  LayoutWriter,
  multiPlatformIndex,
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

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * `copy` carries an image's signatures as `skopeo copy` does: sigstore attachments
 * (`sha256-<hex>.sig`) to registries and into `oci:` layouts, GPG simple signatures from
 * the source's lookaside to the destination's; `--remove-signatures` drops them. The
 * copies are checked by `ocipeek verify` on the destination and by skopeo 1.9.3 reading
 * them (Debian's skopeo checks GPG signatures itself; sigstore ones it only carries).
 */
describe('copy carries signatures (sigstore attachments, lookaside signatures) as skopeo does', () => {
  let dir: TempDir;
  let reg: RunningRegistry;
  let image: BuiltImage;
  let multi: BuiltIndex;
  let layout: string;
  let gnupg: TestGnupgHome;
  let gnupgHome: string;
  let signerFpr = '';
  const f = {
    key: '',
    pass: '',
    pub: '',
    gpgPub: '',
    regD: '',
    lookaside: '',
    policy: '',
  };

  const ocipeek = (args: string[]) =>
    runCli([...args, '--signature-policy', f.policy, '--registries.d', f.regD]);
  const at = (digest: string) => digest.replace(':', '=');
  const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;

  function skopeoArgs(policy: string | undefined, args: string[]): string[] {
    return [
      ...(policy ? ['--policy', policy] : ['--insecure-policy']),
      '--registries.d',
      f.regD,
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-no-creds',
      '--dest-no-creds',
      ...args,
    ];
  }
  const skopeoCopy = (args: string[], policy?: string) =>
    skopeo(skopeoArgs(policy, args), { env: { GNUPGHOME: gnupgHome } });

  before(async () => {
    dir = await tempDir('trust-copy');
    reg = await startRegistry();
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    multi = await multiPlatformIndex(w, { refName: 'multi' });
    await w.finish();
    gnupg = await testGnupgHome(join(dir.path, 'gnupg'));
    gnupgHome = gnupg.home;
    signerFpr = await gnupg.newKey('Signer <signer@example.test>');
    const pair = await generateSigstoreKeyPair('pw');
    Object.assign(f, {
      key: join(dir.path, 'sigstore.key'),
      pass: join(dir.path, 'pass'),
      pub: join(dir.path, 'sigstore.pub'),
      gpgPub: join(dir.path, 'signer.gpg'),
      regD: join(dir.path, 'registries.d'),
      lookaside: join(dir.path, 'lookaside'),
      policy: join(dir.path, 'policy.json'),
    });
    await writeFile(f.key, pair.privateKeyPem);
    await writeFile(f.pass, 'pw\n');
    await writeFile(f.pub, pair.publicKeyPem);
    await writeFile(f.gpgPub, await gnupg.gpg(['--export', signerFpr]));
    await mkdir(f.regD);
    await writeFile(
      join(f.regD, 'default.yaml'),
      `default-docker:\n  use-sigstore-attachments: true\n  lookaside: file://${f.lookaside}\n`,
    );
    const sigstore = (identity: object) => [
      { type: 'sigstoreSigned', keyPath: f.pub, signedIdentity: identity },
    ];
    const signedBy = (identity: object) => [
      { type: 'signedBy', keyType: 'GPGKeys', keyPath: f.gpgPub, signedIdentity: identity },
    ];
    // Copies keep the identity signed at the origin: remapIdentity accepts it elsewhere.
    const remap = (prefix: string, signedPrefix: string) => ({
      type: 'remapIdentity',
      prefix: `${reg.host}/${prefix}`,
      signedPrefix: `${reg.host}/${signedPrefix}`,
    });
    await writeFile(
      f.policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${reg.host}/sig`]: sigstore({ type: 'matchRepoDigestOrExact' }),
            [`${reg.host}/mirror`]: sigstore(remap('mirror', 'sig')),
            [`${reg.host}/back`]: sigstore(remap('back', 'sig')),
            [`${reg.host}/bare`]: sigstore(remap('bare', 'sig')),
            [`${reg.host}/fromstore`]: sigstore(remap('fromstore', 'sig')),
            [`${reg.host}/gpg`]: signedBy({ type: 'matchRepoDigestOrExact' }),
            [`${reg.host}/gmirror`]: signedBy(remap('gmirror', 'gpg')),
          },
          oci: {
            [layout]: [{ type: 'insecureAcceptAnything' }],
            [join(dir.path, 'out')]: sigstore({
              type: 'exactReference',
              dockerReference: `${reg.host}/sig/app:1`,
            }),
          },
        },
      }),
    );
    // The origins: sigstore-signed by ocipeek, GPG-signed by skopeo --sign-by.
    const signed = await ocipeek([
      'copy',
      `oci:${layout}:v1`,
      `${reg.host}/sig/app:1`,
      '--sign-by-sigstore-private-key',
      f.key,
      '--sign-passphrase-file',
      f.pass,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    await skopeoCopy([
      '--sign-by',
      signerFpr,
      `oci:${layout}:v1`,
      `docker://${reg.host}/gpg/app:1`,
    ]);
  });

  after(async () => {
    await gnupg?.stop();
    await reg?.stop();
    await dir?.remove();
  });

  /**
   * skopeo's view of a registry image's signatures: the `signature-N` files of a dir: copy
   * (with `--all`, also each platform manifest's `<hex>.signature-N`), by file name.
   */
  async function skopeoSignatureFiles(
    ref: string,
    name: string,
    flags: string[] = [],
  ): Promise<Map<string, Buffer>> {
    const out = join(dir.path, name);
    await skopeoCopy([...flags, `docker://${ref}`, `dir:${out}`]);
    const files = (await readdir(out)).filter((n) => /(^|\.)signature-\d+$/.test(n)).sort();
    return new Map(
      await Promise.all(files.map(async (n) => [n, await readFile(join(out, n))] as const)),
    );
  }
  async function skopeoSignatures(ref: string, name: string): Promise<Buffer[]> {
    return [...(await skopeoSignatureFiles(ref, name)).values()];
  }

  it('a sigstore signature goes with the image to another repository; verify and skopeo find the same one', async () => {
    const r = await ocipeek(['copy', `${reg.host}/sig/app:1`, `${reg.host}/mirror/app:1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.out,
      new RegExp(
        `signatures: 1 copied \\(${reg.host}/mirror/app:${sigTag(image.descriptor.digest)}\\)`,
      ),
    );
    const v = await ocipeek(['verify', `${reg.host}/mirror/app:1`]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.out,
      new RegExp(`sigstoreSigned .*: signed by .*sigstore\\.pub as ${reg.host}/sig/app:1`),
    );
    const origin = await skopeoSignatures(`${reg.host}/sig/app:1`, 'skopeo-sig');
    const copied = await skopeoSignatures(`${reg.host}/mirror/app:1`, 'skopeo-mirror');
    assert.equal(origin.length, 1);
    assert.deepEqual(copied, origin, 'skopeo reads byte-identical signatures at both');
    // Copied again: the attachment keeps one copy of it.
    const again = await ocipeek(['copy', `${reg.host}/sig/app:1`, `${reg.host}/mirror/app:1`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await skopeoSignatures(`${reg.host}/mirror/app:1`, 'skopeo-mirror-2')).length, 1);
  });

  it('--all-platforms carries the signatures of each platform manifest too (sigstore and GPG), as skopeo copy --all; skopeo reads them at the copy', async () => {
    const signing = [
      '--sign-passphrase-file',
      f.pass,
      '--sign-identity',
      `${reg.host}/sig/multi:1`,
    ];
    const pushed = await ocipeek([
      'copy',
      '--all-platforms',
      `oci:${layout}:multi`,
      `${reg.host}/sig/multi:1`,
      '--sign-by-sigstore-private-key',
      f.key,
      '--sign-passphrase-file',
      f.pass,
    ]);
    assert.equal(pushed.code, 0, pushed.stderr);
    // Each platform manifest signed with sigstore; the first also with GPG.
    for (const child of multi.images) {
      const at = `${reg.host}/sig/multi@${child.descriptor.digest}`;
      const s = await ocipeek(['sign', at, '--sign-by-sigstore-private-key', f.key, ...signing]);
      assert.equal(s.code, 0, s.stderr);
    }
    const first = multi.images[0]!.descriptor.digest;
    const g = await runCli(
      [
        'sign',
        `${reg.host}/sig/multi@${first}`,
        '--sign-by',
        signerFpr,
        '--sign-identity',
        `${reg.host}/sig/multi:1`,
        '--registries.d',
        f.regD,
      ],
      { env: { GNUPGHOME: gnupgHome } },
    );
    assert.equal(g.code, 0, g.stderr);
    const r = await ocipeek([
      'copy',
      '--all-platforms',
      `${reg.host}/sig/multi:1`,
      `${reg.host}/mirror/multi:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /signatures: 5 copied \(/);
    for (const child of multi.images) {
      assert.match(r.out, new RegExp(`mirror/multi:${sigTag(child.descriptor.digest)}`));
    }
    assert.match(r.out, new RegExp(join(f.lookaside, `mirror/multi@${at(first)}`, 'signature-1')));
    const origin = await skopeoSignatureFiles(`${reg.host}/sig/multi:1`, 'multi-sig', ['--all']);
    const copied = await skopeoSignatureFiles(`${reg.host}/mirror/multi:1`, 'multi-mirror', [
      '--all',
    ]);
    // The root's one, then per platform manifest: 2 for the first, 1 for the others.
    assert.equal(origin.size, 5, [...origin.keys()].join(' '));
    for (const child of multi.images) {
      assert.ok(origin.has(`${child.descriptor.digest.slice(7)}.signature-1`));
    }
    assert.deepEqual(copied, origin, 'skopeo reads byte-identical signatures per manifest');
    // One platform picked: that manifest with its own signatures, as skopeo copies it.
    const one = await ocipeek([
      'copy',
      '--platform',
      'linux/arm64/v8',
      `${reg.host}/sig/multi:1`,
      `${reg.host}/mirror/arm64:1`,
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(
      await skopeoSignatures(`${reg.host}/mirror/arm64:1`, 'one-mirror'),
      await skopeoSignatures(
        `${reg.host}/sig/multi@${multi.images[1]!.descriptor.digest}`,
        'one-sig',
      ),
    );
  });

  it('into an oci: layout and out again: verify reads the layout signature, and the registry copy is accepted', async () => {
    const out = join(dir.path, 'out', 'layout');
    const r = await ocipeek(['copy', `${reg.host}/sig/app:1`, `oci:${out}:v1`]);
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(),
      [sigTag(image.descriptor.digest), 'v1'].sort(),
    );
    await assert.rejects(access(join(out, '.ocipeek')), 'no work area left in the layout');
    const v = await ocipeek(['verify', `oci:${out}:v1`]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.out,
      new RegExp(`oci:${out}:v1: accepted by oci scope "${join(dir.path, 'out')}"`),
    );
    assert.match(v.out, new RegExp(`as ${reg.host}/sig/app:1`));
    // The attachment is not an image of its own: the layout still reads without a tag.
    const ls = await ocipeek(['ls', `oci:${out}`, '/']);
    assert.equal(ls.code, 0, ls.stderr);
    const back = await ocipeek(['copy', `oci:${out}:v1`, `${reg.host}/back/app:1`]);
    assert.equal(back.code, 0, back.stderr);
    const vb = await ocipeek(['verify', `${reg.host}/back/app:1`]);
    assert.equal(vb.code, 0, vb.stderr);
    assert.deepEqual(
      await skopeoSignatures(`${reg.host}/back/app:1`, 'skopeo-back'),
      await skopeoSignatures(`${reg.host}/sig/app:1`, 'skopeo-sig-2'),
    );
  });

  it('a layout signature for another identity is refused by verify', async () => {
    const out = join(dir.path, 'out', 'other');
    const r = await ocipeek(['copy', `${reg.host}/mirror/app:1`, `oci:${out}:v1`]);
    assert.equal(r.code, 0, r.stderr);
    // The signature says sig/app:1; change the policy's exact identity by copying it
    // under a scope that wants another: a layout has no docker reference to match.
    const policy = join(dir.path, 'policy-layout.json');
    await writeFile(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          oci: {
            '': [
              {
                type: 'sigstoreSigned',
                keyPath: f.pub,
                signedIdentity: { type: 'matchRepository' },
              },
            ],
          },
        },
      }),
    );
    const v = await runCli([
      'verify',
      `oci:${out}:v1`,
      '--signature-policy',
      policy,
      '--registries.d',
      f.regD,
    ]);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /rejected by policy: sigstoreSigned .*: signed identity .*\/sig\/app:1 is not accepted for an image with no docker reference \(a local place\) \(matchRepository\)/,
    );
  });

  it('into the store and out again: the store keeps sigstore signatures beside the image (REPO:sha256-<hex>.sig); GPG ones are refused', async () => {
    const store = join(dir.path, 'store');
    const sig = sigTag(image.descriptor.digest);
    const r = await ocipeek([
      'copy',
      '--store',
      store,
      `${reg.host}/sig/app:1`,
      `store:${reg.host}/sig/app:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`signatures: 1 copied \\(store:${reg.host}/sig/app:${sig}\\)`));
    // Named as in a registry's tag list: the image's repository, the attachment tag.
    const images = await ocipeek(['images', '--store', store]);
    assert.equal(images.code, 0, images.stderr);
    assert.match(images.out, new RegExp(`^${reg.host}/sig/app:1 `, 'm'));
    assert.match(images.out, new RegExp(`^${reg.host}/sig/app:${sig} `, 'm'));
    const out = await ocipeek([
      'copy',
      '--store',
      store,
      `store:${reg.host}/sig/app:1`,
      `${reg.host}/fromstore/app:1`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.out,
      new RegExp(`signatures: 1 copied \\(${reg.host}/fromstore/app:${sig}\\)`),
    );
    const v = await ocipeek(['verify', `${reg.host}/fromstore/app:1`]);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(
      await skopeoSignatures(`${reg.host}/fromstore/app:1`, 'skopeo-fromstore'),
      await skopeoSignatures(`${reg.host}/sig/app:1`, 'skopeo-sig-store'),
      'skopeo reads the byte-identical signature after the trip through the store',
    );
    // GPG signatures have no place in the store: refused before anything is stored.
    const gpg = await ocipeek([
      'copy',
      '--store',
      store,
      `${reg.host}/gpg/app:1`,
      `store:${reg.host}/gpg/app:1`,
    ]);
    assert.equal(gpg.code, 1, gpg.stderr);
    assert.match(
      gpg.stderr,
      /cannot copy simple \(GPG\) signatures to the store.*--remove-signatures/,
    );
    const after = await ocipeek(['images', '--store', store]);
    assert.doesNotMatch(after.out, /\/gpg\/app/);
  });

  it('rmi removes an image’s signature names with its last name in the repository; prune removes those left behind', async () => {
    const store = join(dir.path, 'store-rmi');
    const sig = `${reg.host}/sig/app:${sigTag(image.descriptor.digest)}`;
    const copyIn = (tag: string) =>
      ocipeek([
        'copy',
        '--store',
        store,
        `${reg.host}/sig/app:1`,
        `store:${reg.host}/sig/app:${tag}`,
      ]);
    for (const tag of ['1', '2']) {
      const r = await copyIn(tag);
      assert.equal(r.code, 0, r.stderr);
    }
    const names = async () => {
      const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
      return index.manifests
        .map((d: { annotations: Record<string, string> }) => d.annotations[REF_NAME])
        .sort();
    };
    assert.deepEqual(await names(), [`${reg.host}/sig/app:1`, `${reg.host}/sig/app:2`, sig]);
    // app:2 still names the signed image: its signature stays.
    const one = await ocipeek(['rmi', '--store', store, `${reg.host}/sig/app:1`]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.out, `untagged ${reg.host}/sig/app:1\n`);
    assert.deepEqual(await names(), [`${reg.host}/sig/app:2`, sig]);
    const two = await ocipeek(['rmi', '--store', store, `${reg.host}/sig/app:2`]);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.out, `untagged ${reg.host}/sig/app:2\nremoved signature ${sig}\n`);
    assert.deepEqual(await names(), [], 'the signature name went with the image');
    const pruned = await ocipeek(['prune', '--store', store, '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(JSON.parse(pruned.out).signaturesRemoved, 0);
    assert.deepEqual(
      await readdir(join(store, 'blobs/sha256')),
      [],
      'image and signature blobs freed',
    );

    // A signature name an older rmi left behind: prune removes it, and its blobs.
    const again = await copyIn('1');
    assert.equal(again.code, 0, again.stderr);
    const indexPath = join(store, 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    index.manifests = index.manifests.filter(
      (d: { annotations: Record<string, string> }) => d.annotations[REF_NAME] === sig,
    );
    await writeFile(indexPath, JSON.stringify(index));
    const dry = await ocipeek(['prune', '--store', store, '--json', '--dry-run']);
    assert.equal(JSON.parse(dry.out).signaturesRemoved, 1);
    assert.deepEqual(await names(), [sig], 'a dry run changes nothing');
    const swept = await ocipeek(['prune', '--store', store, '--json']);
    assert.equal(swept.code, 0, swept.stderr);
    assert.equal(JSON.parse(swept.out).signaturesRemoved, 1);
    assert.deepEqual(await names(), []);
    assert.deepEqual(await readdir(join(store, 'blobs/sha256')), []);
  });

  it('an oci-archive: holds no signatures: refused before anything is written, as skopeo refuses', async () => {
    const file = join(dir.path, 'signed.tar');
    const r = await ocipeek(['copy', `${reg.host}/sig/app:1`, `oci-archive:${file}:v1`]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /oci-archive: cannot hold the source's 1 signature\(s\); --remove-signatures/,
    );
    await assert.rejects(access(file));
    await assert.rejects(
      skopeoCopy([
        `docker://${reg.host}/gpg/app:1`,
        `oci-archive:${join(dir.path, 'skopeo.tar')}:v1`,
      ]),
      (err: unknown) =>
        err instanceof SkopeoError && /Can not copy signatures to oci-archive:/.test(err.stderr),
    );
  });

  it('--remove-signatures copies the image alone; verify then finds no signature', async () => {
    const r = await ocipeek([
      'copy',
      '--remove-signatures',
      `${reg.host}/sig/app:1`,
      `${reg.host}/bare/app:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.out, /signatures:/);
    const v = await ocipeek(['verify', `${reg.host}/bare/app:1`]);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      new RegExp(
        `no sigstore signature \\(${reg.host}/bare/app has no tag ${sigTag(image.descriptor.digest)}\\)`,
      ),
    );
  });

  it('a conversion would invalidate the signatures: refused before anything is written', async () => {
    const out = join(dir.path, 'converted');
    const r = await ocipeek(['copy', '--format', 'v2s2', `${reg.host}/sig/app:1`, `oci:${out}:v1`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /has 1 signature\(s\) a conversion would invalidate; --remove-signatures/,
    );
    await assert.rejects(access(out));
  });

  it('a GPG signature goes to the destination lookaside; skopeo and verify accept it there', async () => {
    const digest = image.descriptor.digest;
    const r = await ocipeek(['copy', `${reg.host}/gpg/app:1`, `${reg.host}/gmirror/app:1`]);
    assert.equal(r.code, 0, r.stderr);
    const origin = join(f.lookaside, `gpg/app@${at(digest)}`, 'signature-1');
    const copied = join(f.lookaside, `gmirror/app@${at(digest)}`, 'signature-1');
    assert.match(r.out, new RegExp(`signatures: 1 copied \\(${copied}\\)`));
    assert.deepEqual(await readFile(copied), await readFile(origin));
    const v = await ocipeek(['verify', `${reg.host}/gmirror/app:1`]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.out, new RegExp(`signed by ${signerFpr} .* as ${reg.host}/gpg/app:1`));
    // skopeo checks the copied signature itself, with the same policy.json.
    await skopeoCopy(
      [`docker://${reg.host}/gmirror/app:1`, `dir:${join(dir.path, 'gm')}`],
      f.policy,
    );
    // And what skopeo copies with the image is what ocipeek copied.
    const viaSkopeo = join(f.lookaside, `gmirror/by-skopeo@${at(digest)}`, 'signature-1');
    await skopeoCopy([
      `docker://${reg.host}/gpg/app:1`,
      `docker://${reg.host}/gmirror/by-skopeo:1`,
    ]);
    assert.deepEqual(await readFile(viaSkopeo), await readFile(copied));
  });

  it('GPG signatures have no place in an oci: layout: refused as skopeo refuses, unless removed', async () => {
    const out = join(dir.path, 'gpg-layout');
    const r = await ocipeek(['copy', `${reg.host}/gpg/app:1`, `oci:${out}:v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot copy simple \(GPG\) signatures to an OCI layout.*--remove-signatures/,
    );
    await assert.rejects(access(out), 'nothing written');
    await assert.rejects(
      skopeoCopy([`docker://${reg.host}/gpg/app:1`, `oci:${join(dir.path, 'skopeo-gpg')}:v1`]),
      (err: unknown) =>
        err instanceof SkopeoError &&
        /Can not copy signatures to oci:.*Pushing signatures for OCI images is not supported/.test(
          err.stderr,
        ),
    );
    const removed = await ocipeek([
      'copy',
      '--remove-signatures',
      `${reg.host}/gpg/app:1`,
      `oci:${out}:v1`,
    ]);
    assert.equal(removed.code, 0, removed.stderr);
  });
});
