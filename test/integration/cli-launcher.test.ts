import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
  testCerts,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * The installed executable (`dist/bin/ocipeek`, src/cli/launch.sh) keeps Node from parsing
 * NODE_EXTRA_CA_CERTS at start; ocipeek adds those CAs itself when it opens a TLS
 * connection (src/transport/tls.ts). Registries and the CA are real: docker-registry on
 * loopback over TLS, a certificate signed by the harness's test CA.
 */
describe('the executable and NODE_EXTRA_CA_CERTS', () => {
  let dir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let tlsRegistry: RunningRegistry;
  let plainRegistry: RunningRegistry;
  const missingFile = () => join(dir.path, 'no-such-bundle.pem');

  before(async () => {
    dir = await tempDir('cli-launcher');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 1, refName: 'img' });
    await w.finish();
    tlsRegistry = await startRegistry({ tls: 'tls' });
    plainRegistry = await startRegistry({ auth: 'htpasswd' });
    await pushLayout(layout, 'img', tlsRegistry, 'team/app:1');
    await pushLayout(layout, 'img', plainRegistry, 'team/app:1');
  });
  after(async () => {
    await Promise.all([tlsRegistry?.stop(), plainRegistry?.stop()]);
    await dir?.remove();
  });

  it('a CA given only through NODE_EXTRA_CA_CERTS is trusted, and without it TLS fails', async () => {
    const ref = `${tlsRegistry.host}/team/app:1`;
    const trusted = await runCli(['digest', ref], {
      bin: true,
      env: { NODE_EXTRA_CA_CERTS: tlsRegistry.caFile! },
    });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.out.trim(), image.descriptor.digest);
    assert.equal(trusted.stderr, '');

    const untrusted = await runCli(['digest', ref], { bin: true });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^ocipeek: TLS failure talking to 127\.0\.0\.1:\d+: /);
  });

  it('the file is read only when a TLS connection is opened, never for plain HTTP', async () => {
    // Node warns at start when it cannot read NODE_EXTRA_CA_CERTS; through the
    // executable nothing reads it for a plain-HTTP loopback registry.
    const env = { NODE_EXTRA_CA_CERTS: missingFile() };
    const ref = `${plainRegistry.host}/team/app:1`;
    const creds = ['--username', plainRegistry.username!, '--password-stdin'];
    const stdin = `${plainRegistry.password}\n`;
    const plain = await runCli([...creds, 'digest', ref], { bin: true, env, stdin });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.out.trim(), image.descriptor.digest);
    assert.equal(plain.stderr, '', 'the bundle was never read');

    const direct = await runCli([...creds, 'digest', ref], { env, stdin });
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stderr, /Ignoring extra certs from .*no-such-bundle\.pem/, 'node read it');

    const tls = await runCli(['digest', `${tlsRegistry.host}/team/app:1`], { bin: true, env });
    assert.equal(tls.code, 1);
    assert.match(
      tls.stderr,
      /Warning: Ignoring extra certs from `.*no-such-bundle\.pem`, load failed/,
    );
    assert.match(tls.stderr, /^ocipeek: TLS failure/m);
  });

  it('NODE_EXTRA_CA_CERTS and --ca-file add up, and a client certificate joins them', async () => {
    const certs = await testCerts();
    // A CA file that does not sign the registry (the token signer's own root).
    const otherCa = certs.jwt.cert.path;
    const ref = `${tlsRegistry.host}/team/app:1`;
    for (const [envCa, flagCa] of [
      [tlsRegistry.caFile!, otherCa],
      [otherCa, tlsRegistry.caFile!],
    ]) {
      const r = await runCli(['digest', ref, '--ca-file', flagCa!], {
        bin: true,
        env: { NODE_EXTRA_CA_CERTS: envCa! },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out.trim(), image.descriptor.digest);
    }
    const neither = await runCli(['digest', ref, '--ca-file', otherCa], {
      bin: true,
      env: { NODE_EXTRA_CA_CERTS: otherCa },
    });
    assert.equal(neither.code, 1);

    const mtls = await startRegistry({ tls: 'mtls' });
    try {
      await pushLayout(join(dir.path, 'layout'), 'img', mtls, 'team/app:1');
      const pair = ['--cert', mtls.clientCert!, '--key', mtls.clientKey!];
      const r = await runCli([...pair, 'digest', `${mtls.host}/team/app:1`], {
        bin: true,
        env: { NODE_EXTRA_CA_CERTS: mtls.caFile! },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out.trim(), image.descriptor.digest);
    } finally {
      await mtls.stop();
    }
  });

  it('processes ocipeek starts get NODE_EXTRA_CA_CERTS back', async () => {
    const bin = join(dir.path, 'helper-bin');
    await mkdir(bin, { recursive: true });
    const seen = join(dir.path, 'helper-env');
    await writeFile(
      join(bin, 'docker-credential-envcheck'),
      `#!/bin/sh\nread server\nprintf '%s' "\${NODE_EXTRA_CA_CERTS-unset}" > '${seen}'\nprintf '{"ServerURL":"%s","Username":"${plainRegistry.username}","Secret":"${plainRegistry.password}"}' "$server"\n`,
      { mode: 0o755 },
    );
    const dockerDir = join(dir.path, 'docker');
    await mkdir(dockerDir, { recursive: true });
    await writeFile(
      join(dockerDir, 'config.json'),
      JSON.stringify({ credHelpers: { [plainRegistry.host]: 'envcheck' } }),
    );
    const bundle = tlsRegistry.caFile!;
    const r = await runCli(['digest', `${plainRegistry.host}/team/app:1`], {
      bin: true,
      env: {
        DOCKER_CONFIG: dockerDir,
        PATH: `${bin}:${process.env.PATH}`,
        NODE_EXTRA_CA_CERTS: bundle,
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(seen, 'utf8'), bundle);
  });
});
