import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/** Build one small image into a layout (once) and push it to `reg`. */
async function seed(
  reg: RunningRegistry,
  layoutDir: string,
  image: BuiltImage | undefined,
): Promise<BuiltImage> {
  let img = image;
  if (!img) {
    const w = new LayoutWriter(layoutDir);
    img = await randomImage(w, { layers: 1, refName: 'img' });
    await w.finish();
  }
  await pushLayout(layoutDir, 'img', reg, 'secure/app:1');
  return img;
}

describe('auth and TLS against the real registry', () => {
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;
  let image: BuiltImage | undefined;
  const registries: RunningRegistry[] = [];

  before(async () => {
    dir = await tempDir('cli-auth');
    layout = join(dir.path, 'layout');
  });
  after(async () => {
    await Promise.all(registries.map((r) => r.stop()));
    await dir?.remove();
  });

  async function registry(opts: Parameters<typeof startRegistry>[0]): Promise<RunningRegistry> {
    const reg = await startRegistry(opts);
    registries.push(reg);
    image = await seed(reg, layout, image);
    return reg;
  }

  it('htpasswd: refused without credentials, login saves them, logout removes them', async () => {
    const reg = await registry({ auth: 'htpasswd' });
    const ref = `${reg.host}/secure/app:1`;
    const anonymous = await runCli(['digest', ref]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /^ocipeek: unauthorized: /);

    const authfile = join(dir.path, 'auth.json');
    const bad = await runCli(
      ['login', reg.host, '-u', reg.username!, '--password-stdin', '--authfile', authfile],
      {
        stdin: 'wrong-password\n',
      },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /credentials rejected/);
    await assert.rejects(stat(authfile), /ENOENT/);
    // A wrong password given to any command says so too, not "authentication required".
    const wrong = await runCli(['--username', reg.username!, '--password-stdin', 'digest', ref], {
      stdin: 'wrong-password\n',
    });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      `ocipeek: unauthorized: credentials rejected by ${reg.host} (check the user name and password: ocipeek login, --authfile, --username)\n`,
    );

    const good = await runCli(
      ['login', reg.host, '-u', reg.username!, '--password-stdin', '--authfile', authfile],
      {
        stdin: `${reg.password}\n`,
      },
    );
    assert.equal(good.code, 0, good.stderr);
    const saved = JSON.parse(await readFile(authfile, 'utf8'));
    assert.equal(
      Buffer.from(saved.auths[reg.host].auth, 'base64').toString(),
      `${reg.username}:${reg.password}`,
    );
    assert.equal((await stat(authfile)).mode & 0o777, 0o600);

    const withFile = await runCli(['digest', ref, '--authfile', authfile]);
    assert.equal(withFile.code, 0, withFile.stderr);
    assert.equal(withFile.out.trim(), image!.descriptor.digest);

    const viaEnv = await runCli(['digest', ref], { env: { REGISTRY_AUTH_FILE: authfile } });
    assert.equal(viaEnv.out.trim(), image!.descriptor.digest);

    const viaStdin = await runCli(
      ['digest', ref, '--username', reg.username!, '--password-stdin'],
      {
        stdin: reg.password!,
      },
    );
    assert.equal(viaStdin.out.trim(), image!.descriptor.digest);

    const out = await runCli(['logout', reg.host, '--authfile', authfile]);
    assert.equal(out.code, 0);
    assert.equal(JSON.parse(await readFile(authfile, 'utf8')).auths[reg.host], undefined);
    assert.equal((await runCli(['digest', ref, '--authfile', authfile])).code, 1);
  });

  it('docker config.json with a credential helper is honoured', async () => {
    const reg = registries[0]!;
    const bin = join(dir.path, 'bin');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-ocipeektest');
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nprintf '{"ServerURL":"%s","Username":"${reg.username}","Secret":"${reg.password}"}' "$server"\n`,
      { mode: 0o755 },
    );
    const dockerDir = join(dir.path, 'docker');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({ credHelpers: { [reg.host]: 'ocipeektest' } }),
    );
    const r = await runCli(['digest', `${reg.host}/secure/app:1`], {
      env: { DOCKER_CONFIG: dockerDir, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.trim(), image!.descriptor.digest);
  });

  it('bearer tokens: anonymous pull, authenticated catalog, one token per scope, secrets redacted', async () => {
    const reg = await registry({ auth: 'token', allowAnonymousPull: true });
    const ref = `${reg.host}/secure/app:1`;
    const ts = reg.tokenServer!;
    ts.resetCounters();
    const anon = await runCli(['inspect', ref, '--json']);
    assert.equal(anon.code, 0, anon.stderr);
    assert.equal(JSON.parse(anon.out).digest, image!.descriptor.digest);
    assert.equal(ts.requests, 1, 'manifest + config share one cached pull token');

    const catalogAnon = await runCli(['catalog', reg.host]);
    assert.equal(catalogAnon.code, 1);
    assert.match(catalogAnon.stderr, /^ocipeek: unauthorized/);

    const authed = await runCli(
      ['catalog', reg.host, '--username', reg.username!, '--password-stdin', '--verbose'],
      {
        stdin: reg.password!,
      },
    );
    assert.equal(authed.code, 0, authed.stderr);
    assert.equal(authed.out.trim(), 'secure/app');
    assert.ok(!authed.stderr.includes(reg.password!), 'password never logged');
    assert.ok(
      !authed.stderr.includes(Buffer.from(`${reg.username}:${reg.password}`).toString('base64')),
    );
    assert.match(authed.stderr, /Bearer <redacted>|Basic <redacted>/);
    assert.doesNotMatch(authed.stderr, /"authorization":"Bearer ey/);
  });

  it('bearer tokens refused by the registry end in one clear error', async () => {
    const reg = registries.at(-1)!;
    reg.tokenServer!.claimLifetime = -120;
    try {
      const r = await runCli(['digest', `${reg.host}/secure/app:1`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ocipeek: unauthorized: manifest .*secure\/app:1/);
    } finally {
      reg.tokenServer!.claimLifetime = undefined;
    }
  });

  it('TLS: trusted with --ca-file, refused without, skipped with --tls-verify=false', async () => {
    const reg = await registry({ tls: 'tls' });
    const ref = `${reg.host}/secure/app:1`;
    const untrusted = await runCli(['digest', ref]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^ocipeek: TLS failure talking to 127\.0\.0\.1:\d+: /);
    assert.equal(untrusted.stderr.split('\n').length, 2, 'one line');
    const trusted = await runCli(['digest', ref, '--ca-file', reg.caFile!]);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.out.trim(), image!.descriptor.digest);
    const insecure = await runCli(['--tls-verify=false', 'digest', ref]);
    assert.equal(insecure.out.trim(), image!.descriptor.digest);
  });

  it('mutual TLS: the client certificate is required and accepted', async () => {
    const reg = await registry({ tls: 'mtls' });
    const ref = `${reg.host}/secure/app:1`;
    const without = await runCli(['digest', ref, '--ca-file', reg.caFile!]);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /^ocipeek: (TLS failure|cannot reach)/);
    const withCert = await runCli([
      'digest',
      ref,
      '--ca-file',
      reg.caFile!,
      '--cert',
      reg.clientCert!,
      '--key',
      reg.clientKey!,
    ]);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.equal(withCert.out.trim(), image!.descriptor.digest);
    const halfPair = await runCli(['digest', ref, '--cert', reg.clientCert!]);
    assert.equal(halfPair.code, 2);
    assert.match(halfPair.stderr, /mutual TLS needs both --cert and --key/);
  });
});
