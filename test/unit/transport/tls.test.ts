import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { HttpPool } from '../../../src/transport/http-client.js';
import { DEFERRED_EXTRA_CA_ENV, tlsAgentOptions } from '../../../src/transport/tls.js';
import { testCerts } from '../../harness/certs.js';
import { tempDir } from '../../harness/temp-dir.js';

/**
 * The deferred NODE_EXTRA_CA_CERTS (set by the sh launcher) against a real TLS server with
 * a certificate signed by the harness's test CA: trusted through ocipeek's agent, read only
 * when the first HTTPS connection is made, and never added to Node's own default trust.
 */
describe('tlsAgentOptions with a deferred NODE_EXTRA_CA_CERTS', () => {
  let server: https.Server;
  let url: URL;
  let caFile: string;
  const saved = process.env[DEFERRED_EXTRA_CA_ENV];

  before(async () => {
    const certs = await testCerts();
    caFile = certs.ca.cert.path;
    server = https.createServer(
      { cert: certs.server.cert.pem, key: certs.server.key.pem },
      (_, res) => res.end('hello over tls'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[DEFERRED_EXTRA_CA_ENV];
    else process.env[DEFERRED_EXTRA_CA_ENV] = saved;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function get(pool: HttpPool): Promise<string> {
    const res = await pool.request('GET', url, {}, undefined, undefined);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  }

  function defaultTrustGet(): Promise<string> {
    return new Promise((resolve, reject) => {
      https
        .get(url, { agent: false }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        })
        .on('error', (err) => reject(err));
    });
  }

  it('trusts the deferred CAs on ocipeek connections only', async () => {
    process.env[DEFERRED_EXTRA_CA_ENV] = caFile;
    const pool = new HttpPool({
      tls: tlsAgentOptions({}),
      timeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
    });
    try {
      assert.equal(await get(pool), 'hello over tls');
      assert.equal(await get(pool), 'hello over tls', 'a second connection shares the context');
    } finally {
      pool.close();
    }
    // Added to a copy of the store: the process's default trust is unchanged.
    await assert.rejects(defaultTrustGet(), /self[- ]signed|unable to (get|verify)/i);
  });

  it('without the deferred file the same server is refused', async () => {
    delete process.env[DEFERRED_EXTRA_CA_ENV];
    const options = tlsAgentOptions({});
    assert.equal('secureContext' in options, false, "Node's default context");
    const pool = new HttpPool({ tls: options, timeoutMs: 10_000, bodyTimeoutMs: 10_000 });
    try {
      await assert.rejects(get(pool), /self[- ]signed|unable to (get|verify)/i);
    } finally {
      pool.close();
    }
  });

  it('reads the file on the first TLS use, not before; a bad file is a warning', async () => {
    const dir = await tempDir('tls-deferred');
    try {
      process.env[DEFERRED_EXTRA_CA_ENV] = join(dir.path, 'missing.pem');
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      try {
        const options = tlsAgentOptions({ verify: true });
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(warnings, [], 'nothing read while no HTTPS connection exists');
        assert.ok(options.secureContext, 'a context still comes out');
        await new Promise((r) => setImmediate(r));
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /^Ignoring extra certs from `.*missing\.pem`, load failed/);
        assert.equal(options.secureContext, options.secureContext, 'made once');
        await new Promise((r) => setImmediate(r));
        assert.equal(warnings.length, 1, 'read once');
      } finally {
        process.off('warning', onWarning);
      }
    } finally {
      await dir.remove();
    }
  });
});
