// The scheme an upstream is given with decides how the pull-through cache speaks to it:
// `--upstream http://HOST` is plain HTTP even to a host that is not loopback (as
// distribution's `proxy.remoteurl` is), `https://HOST` is TLS even on loopback, and a bare
// host keeps the client's rule (HTTPS; loopback finds its scheme out). The upstream is a
// real docker-registry on 127.0.0.1 reached as `plainreg.test`, a name only the serve
// process resolves (test/harness/dns-fault.mjs, loaded with NODE_OPTIONS --import) and
// which the scheme rule does not take for loopback.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { type ServeProcess, startServe } from '../harness/serve-process.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DNS_FAULT = fileURLToPath(new URL('../harness/dns-fault.mjs', import.meta.url));
const NAME = 'plainreg.test';
/** The serve process resolves NAME to 127.0.0.1 and nothing else differently. */
const ENV = {
  NODE_OPTIONS: `--import=${pathToFileURL(DNS_FAULT).href}`,
  DNS_FAULT_HOST: NAME,
  DNS_FAULT_FAILS: '0',
};
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('pull-through cache: the scheme an upstream is given with', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let plain: RunningRegistry;
  let secure: RunningRegistry;
  let image: BuiltImage;
  const servers: ServeProcess[] = [];
  let n = 0;

  /** An `ocipeek serve` with these upstreams, on a store of its own. */
  const serveWith = async (...args: string[]) => {
    const server = await startServe(join(dir.path, `store-${n++}`), ENV, args);
    servers.push(server);
    return server;
  };
  const get = async (server: ServeProcess, path: string) => {
    const res = await fetch(new URL(path, server.url), { headers: { Accept: OCI_MANIFEST } });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const errorOf = (body: Buffer): string => JSON.parse(body.toString()).errors[0].message;

  before(async () => {
    dir = await tempDir('cache-scheme');
    plain = await startRegistry();
    secure = await startRegistry({ tls: 'tls' });
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    await w.finish();
    await pushLayout(layout, 'v1', plain, 'team/app:1');
    await pushLayout(layout, 'v1', secure, 'team/app:1');
  });

  after(async () => {
    for (const server of servers) await server.stop();
    await plain?.stop();
    await secure?.stop();
    await dir?.remove();
  });

  it('http:// is plain HTTP to a host that is not loopback; https:// is TLS on loopback', async () => {
    const server = await serveWith(
      '--upstream',
      `plain=http://${NAME}:${plain.port}`,
      '--upstream',
      `tls=https://${secure.host}`,
      '--ca-file',
      secure.caFile as string,
    );
    for (const prefix of ['plain', 'tls']) {
      const m = await get(server, `/v2/${prefix}/team/app/manifests/1`);
      assert.equal(m.status, 200, `${prefix}: ${m.body}`);
      assert.equal(sha256(m.body), image.descriptor.digest);
      const layer = image.layers[0];
      assert.ok(layer);
      const b = await get(server, `/v2/${prefix}/team/app/blobs/${layer.digest}`);
      assert.equal(b.status, 200, `${prefix}: ${b.body}`);
      assert.ok(b.body.equals(layer.blob), `${prefix}: the layer's bytes`);
    }
    // https:// on loopback goes to TLS at once: no plain request was tried first.
    assert.doesNotMatch(secure.logs(), /client sent an HTTP request to an HTTPS server/);
  });

  it('https:// against a plain registry, on loopback too, fails saying it answered in plain HTTP', async () => {
    const server = await serveWith(
      '--upstream',
      `remote=https://${NAME}:${plain.port}`,
      '--upstream',
      `loop=https://${plain.host}`,
    );
    for (const [prefix, host] of [
      ['remote', `${NAME}:${plain.port}`],
      ['loop', plain.host],
    ] as const) {
      const m = await get(server, `/v2/${prefix}/team/app/manifests/1`);
      assert.equal(m.status, 502, `${prefix}: ${m.body}`);
      assert.match(
        errorOf(m.body),
        new RegExp(
          `^upstream ${host}: TLS failure talking to ${host} \\(it answered in plain HTTP, not TLS\\): `,
        ),
      );
    }
  });

  it('a bare host keeps the rule: HTTPS to a name that is not loopback, found out on loopback', async () => {
    const server = await serveWith(
      '--upstream',
      `remote=${NAME}:${plain.port}`,
      '--upstream',
      `loop=${plain.host}`,
    );
    const remote = await get(server, '/v2/remote/team/app/manifests/1');
    assert.equal(remote.status, 502, remote.body.toString());
    assert.match(errorOf(remote.body), /TLS failure talking to .* \(it answered in plain HTTP/);
    const loop = await get(server, '/v2/loop/team/app/manifests/1');
    assert.equal(loop.status, 200, loop.body.toString());
    assert.equal(sha256(loop.body), image.descriptor.digest);
  });

  it('one registry given as both http:// and https:// is refused at start', async () => {
    await assert.rejects(
      serveWith(
        '--upstream',
        `a=http://${NAME}:${plain.port}`,
        '--upstream',
        `b=https://PlainReg.test:${plain.port}`,
      ),
      new RegExp(`PlainReg.test:${plain.port} is given both as http:// and as https://`),
    );
  });
});
