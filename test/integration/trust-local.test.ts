import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  LayoutWriter,
  randomImage,
  SkopeoError,
  skopeo,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * policy.json for local places, compared with skopeo 1.9.3 on the same files: `oci:`
 * scopes are the layout folder and its parents, `docker-archive:` has only the
 * transport's `""`; neither holds signatures, so signature requirements refuse them.
 */
describe('policy.json for oci: and docker-archive: sources, as skopeo applies it', () => {
  let dir: TempDir;
  let trusted: string;
  let untrusted: string;
  let archive: string;
  let policyFile: string;

  const ocipeek = (args: string[]) => runCli([...args, '--signature-policy', policyFile]);
  const skopeoCopy = (from: string, to: string) =>
    skopeo(['--policy', policyFile, 'copy', from, to]);

  before(async () => {
    dir = await tempDir('trust-local');
    trusted = join(dir.path, 'trusted', 'layout');
    untrusted = join(dir.path, 'untrusted');
    for (const path of [trusted, untrusted]) {
      const w = new LayoutWriter(path);
      await randomImage(w, { refName: 'v1' });
      await w.finish();
    }
    archive = join(dir.path, 'image.tar');
    await skopeo([
      '--insecure-policy',
      'copy',
      `oci:${trusted}:v1`,
      `docker-archive:${archive}:app:1`,
    ]);
    policyFile = join(dir.path, 'policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          // A parent folder's scope covers the layouts below it.
          oci: { [join(dir.path, 'trusted')]: [{ type: 'insecureAcceptAnything' }] },
          'docker-archive': {
            '': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: join(dir.path, 'none.gpg') }],
          },
          dir: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
    );
    await mkdir(join(dir.path, 'out'));
  });

  after(() => dir?.remove());

  it('a layout under a trusted folder is read; both tools copy it', async () => {
    const r = await ocipeek(['copy', `oci:${trusted}:v1`, `oci:${join(dir.path, 'out', 'a')}:v1`]);
    assert.equal(r.code, 0, r.stderr);
    await skopeoCopy(`oci:${trusted}:v1`, `dir:${join(dir.path, 'out', 'b')}`);
    const ls = await ocipeek(['ls', `oci:${trusted}:v1`, '/']);
    assert.equal(ls.code, 0, ls.stderr);
  });

  it('a layout in no scope falls to default reject, for copy and the views; skopeo refuses it too', async () => {
    const r = await ocipeek([
      'copy',
      `oci:${untrusted}:v1`,
      `oci:${join(dir.path, 'out', 'c')}:v1`,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `oci:${untrusted}:v1 rejected by policy: reject in default of ${policyFile}: the policy rejects every image here`,
      ),
    );
    assert.deepEqual(await readdir(join(dir.path, 'out')), ['a', 'b'], 'nothing written');
    const ls = await ocipeek(['ls', `oci:${untrusted}:v1`, '/']);
    assert.equal(ls.code, 1);
    assert.match(ls.stderr, /rejected by policy: reject in default/);
    await assert.rejects(
      skopeoCopy(`oci:${untrusted}:v1`, `dir:${join(dir.path, 'skopeo-c')}`),
      (err: unknown) => err instanceof SkopeoError && /rejected by policy/.test(err.stderr),
    );
  });

  it('a docker archive under signedBy is refused for want of signatures, as skopeo refuses it', async () => {
    const store = join(dir.path, 'store');
    const r = await ocipeek(['pull', `docker-archive:${archive}`, '--store', store]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /docker-archive:.*image\.tar rejected by policy: signedBy \(keyPath .*none\.gpg\) in docker-archive scope "" of .*policy\.json: a signature is required, but docker-archive: places hold none/,
    );
    assert.deepEqual(await readdir(join(store, 'blobs', 'sha256')).catch(() => []), []);
    await assert.rejects(
      skopeoCopy(`docker-archive:${archive}`, `dir:${join(dir.path, 'skopeo-d')}`),
      (err: unknown) =>
        err instanceof SkopeoError &&
        /A signature was required, but no signature exists/.test(err.stderr),
    );
  });

  it('verify takes local places and gives the verdict pull and copy act on', async () => {
    const ok = await ocipeek(['verify', `oci:${trusted}:v1`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.out,
      new RegExp(
        `^oci:${trusted}:v1: accepted by oci scope "${join(dir.path, 'trusted')}" of ${policyFile}\n  insecureAcceptAnything: accepts anything\n$`,
      ),
    );
    const refused = await ocipeek(['verify', `oci:${untrusted}:v1`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /rejected by policy: reject in default/);
    const archived = await ocipeek(['verify', `docker-archive:${archive}`]);
    assert.equal(archived.code, 1);
    assert.match(archived.stderr, /a signature is required, but docker-archive: places hold none/);
  });
});
