// policy.json in the pull-through cache: `ocipeek serve --upstream ... --signature-policy
// FILE` serves an upstream image only when the policy the rest of ocipeek obeys accepts
// it (reject, insecureAcceptAnything, sigstoreSigned with a key made here and an image
// signed by `ocipeek sign` on the upstream docker-registry). A refused image answers the
// spec's DENIED and is not stored.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreStorage } from '../../src/server/storage/store-storage.js';
import { generateSigstoreKeyPair } from '../../src/trust/index.js';
import {
  type BuiltImage,
  LayoutWriter,
  pullFromHost,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { type ServeProcess, startServe } from '../harness/serve-process.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('pull-through cache under policy.json', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  let image: BuiltImage;
  let server: ServeProcess;
  let store: string;
  let trustFlags: string[];
  let files: Record<'key' | 'pass' | 'pub' | 'policy' | 'registriesD', string>;

  /** GET a manifest through the cache: status and body. */
  const manifest = async (path: string) => {
    const res = await fetch(new URL(`/v2/up/${path}/manifests/1`, server.url), {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    dir = await tempDir('cache-policy');
    registry = await startRegistry();
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    await w.finish();
    for (const repo of ['signed/app', 'unsigned/app', 'denied/app', 'open/app']) {
      await pushLayout(layout, 'v1', registry, `${repo}:1`);
    }
    // The signed image under a second tag, for which no signature names it.
    await pushLayout(layout, 'v1', registry, 'signed/app:2');
    const pair = await generateSigstoreKeyPair('pass');
    files = {
      key: join(dir.path, 'sigstore.key'),
      pass: join(dir.path, 'pass'),
      pub: join(dir.path, 'sigstore.pub'),
      policy: join(dir.path, 'policy.json'),
      registriesD: join(dir.path, 'registries.d'),
    };
    await writeFile(files.key, pair.privateKeyPem);
    await writeFile(files.pass, 'pass\n');
    await writeFile(files.pub, pair.publicKeyPem);
    await mkdir(files.registriesD);
    await writeFile(
      join(files.registriesD, 'default.yaml'),
      'default-docker:\n  use-sigstore-attachments: true\n',
    );
    const host = registry.host;
    await writeFile(
      files.policy,
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: {
          docker: {
            [`${host}/signed`]: [{ type: 'sigstoreSigned', keyPath: files.pub }],
            [`${host}/unsigned`]: [{ type: 'sigstoreSigned', keyPath: files.pub }],
            [`${host}/denied`]: [{ type: 'reject' }],
          },
        },
      }),
    );
    trustFlags = ['--signature-policy', files.policy, '--registries.d', files.registriesD];
    const signed = await runCli([
      'sign',
      `${host}/signed/app:1`,
      '--sign-by-sigstore-private-key',
      files.key,
      '--sign-passphrase-file',
      files.pass,
      ...trustFlags,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    store = join(dir.path, 'store');
    server = await startServe(store, {}, ['--upstream', `up=http://${host}`, ...trustFlags]);
  });

  after(async () => {
    await server?.stop();
    await registry?.stop();
    await dir?.remove();
  });

  it('serves an image signed as the policy wants, and one the policy accepts unsigned', async () => {
    for (const repo of ['signed/app', 'open/app']) {
      const got = await manifest(repo);
      assert.equal(got.status, 200, `${repo}: ${got.body}`);
      assert.equal(sha256(got.body), image.descriptor.digest);
    }
    const out = join(dir.path, 'out');
    await pullFromHost(new URL(server.url).host, 'up/signed/app:1', out, '1');
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, image.descriptor.digest);
  });

  it('an image accepted under one tag is not thereby accepted under another tag of the same digest', async () => {
    assert.equal((await manifest('signed/app')).status, 200);
    // The signature names signed/app:1; the default identity rule (matchRepoDigestOrExact)
    // wants a tag pulled to be the one signed, as skopeo does.
    const res = await fetch(new URL('/v2/up/signed/app/manifests/2', server.url), {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const body = await res.text();
    assert.equal(res.status, 403, body);
    assert.match(JSON.parse(body).errors[0].message, /signed\/app:2 rejected by policy/);
    // By digest, the signed identity's repository matches: accepted.
    const byDigest = await fetch(
      new URL(`/v2/up/signed/app/manifests/${image.descriptor.digest}`, server.url),
      { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } },
    );
    assert.equal(byDigest.status, 200, await byDigest.text());
  });

  it('refuses with DENIED and the policy’s reason: a rejected scope, a missing signature; keeps neither', async () => {
    const denied = await manifest('denied/app');
    assert.equal(denied.status, 403);
    const [deniedError] = JSON.parse(denied.body.toString()).errors;
    assert.equal(deniedError.code, 'DENIED');
    assert.match(
      deniedError.message,
      new RegExp(`^${registry.host}/denied/app:1 rejected by policy: reject in docker scope`),
    );
    const unsigned = await manifest('unsigned/app');
    assert.equal(unsigned.status, 403);
    const [unsignedError] = JSON.parse(unsigned.body.toString()).errors;
    assert.equal(unsignedError.code, 'DENIED');
    assert.match(
      unsignedError.message,
      /rejected by policy: sigstoreSigned .*no sigstore signature/,
    );
    // By digest too: the image is the same bytes the signed repository serves.
    const byDigest = await fetch(
      new URL(`/v2/up/unsigned/app/manifests/${image.descriptor.digest}`, server.url),
    );
    assert.equal(byDigest.status, 403);
    await byDigest.arrayBuffer();
    // skopeo is refused too, and nothing of either image was stored.
    await assert.rejects(
      pullFromHost(new URL(server.url).host, 'up/denied/app:1', join(dir.path, 'refused'), '1'),
    );
    const storage = await StoreStorage.open(store, { create: false });
    for (const repo of ['up/denied/app', 'up/unsigned/app']) {
      assert.equal(await storage.getManifest(repo, image.descriptor.digest), undefined, repo);
      assert.deepEqual(await storage.tags(repo), [], repo);
    }
    assert.ok(await storage.getManifest('up/signed/app', image.descriptor.digest));
  });

  it('after a restart with upstream stopped, a signed image cached before is served on its kept verdict; a changed policy checks again and is refused', async () => {
    const upstream = `up=http://${registry.host}`;
    await server.stop();
    await registry.stop(); // upstream gone: its signatures cannot be read again
    server = await startServe(store, {}, ['--upstream', upstream, ...trustFlags]);
    const out = join(dir.path, 'after-restart');
    await pullFromHost(new URL(server.url).host, 'up/signed/app:1', out, '1');
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, image.descriptor.digest);
    // The same requirements in another order are the same policy: still served.
    const policy = JSON.parse(await readFile(files.policy, 'utf8'));
    const reordered = join(dir.path, 'policy-reordered.json');
    await writeFile(
      reordered,
      JSON.stringify({ transports: policy.transports, default: policy.default }, null, 2),
    );
    await server.stop();
    const flags = (file: string) => [
      '--upstream',
      upstream,
      '--signature-policy',
      file,
      '--registries.d',
      files.registriesD,
    ];
    server = await startServe(store, {}, flags(reordered));
    assert.equal((await manifest('signed/app')).status, 200);
    // A changed requirement (an identity rule spelled out) has no kept verdict: checked
    // again, and with upstream down the signature cannot be read, so it is refused.
    const scope = `${registry.host}/signed`;
    policy.transports.docker[scope][0].signedIdentity = { type: 'matchRepository' };
    const changed = join(dir.path, 'policy-changed.json');
    await writeFile(changed, JSON.stringify(policy));
    await server.stop();
    server = await startServe(store, {}, flags(changed));
    const refused = await manifest('signed/app');
    const [error] = JSON.parse(refused.body.toString()).errors;
    // Upstream's port is free now: should another test's registry take it meanwhile, the
    // signature is missing there instead (403); either way the image is not served.
    if (refused.status === 403) assert.equal(error.code, 'DENIED');
    else {
      assert.equal(refused.status, 502, refused.body.toString());
      assert.equal(error.code, 'UNAVAILABLE');
      assert.match(
        error.message,
        new RegExp(`^cannot check ${registry.host}/signed/app:1 against policy.json: upstream `),
      );
    }
    // Restored: the first policy's verdict is still kept.
    await server.stop();
    server = await startServe(store, {}, flags(files.policy));
    assert.equal((await manifest('signed/app')).status, 200);
  });
});
