import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateExtensions } from '../../../src/tls13/certificate-extensions.js';
import { verifyServerChain } from '../../../src/tls13/server-chain.js';
import { CA_EXT, type Issued, issue, SERVER_EXT, selfSignedCa } from '../../harness/tls13-pki.js';

const der = (c: Issued) => new X509Certificate(c.cert).raw;

/**
 * The chain rules beyond Node's own checks: path length constraints, and critical
 * extensions the client does not process (name constraints, unknown ones) refused.
 * Certificates are made with the openssl CLI; verifyServerChain is called directly.
 */
describe('server chain: path length and critical extensions', () => {
  let dir: string;
  let root: Issued;
  let trusted: X509Certificate[];
  const certs: Record<string, Issued> = {};

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ocipeek-chain-'));
    root = await selfSignedCa(dir, 'root');
    trusted = [new X509Certificate(root.cert)];
    const pathLen0 = ['basicConstraints=critical,CA:TRUE,pathlen:0', CA_EXT[1]!];
    certs.len0 = await issue(dir, 'len0', root, { ext: pathLen0 });
    certs.leafUnderLen0 = await issue(dir, 'leaf-len0', certs.len0);
    certs.subCa = await issue(dir, 'sub-ca', certs.len0, { ext: CA_EXT });
    certs.leafUnderSub = await issue(dir, 'leaf-sub', certs.subCa);
    certs.constrained = await issue(dir, 'constrained', root, {
      ext: [...CA_EXT, 'nameConstraints=critical,permitted;DNS:example.com'],
    });
    certs.leafUnderConstrained = await issue(dir, 'leaf-constrained', certs.constrained);
    certs.leafCriticalUnknown = await issue(dir, 'leaf-unknown', root, {
      ext: [...SERVER_EXT, '1.2.3.4.5=critical,ASN1:NULL'],
    });
    certs.leafNonCriticalUnknown = await issue(dir, 'leaf-unknown-ok', root, {
      ext: [...SERVER_EXT, '1.2.3.4.5=ASN1:NULL'],
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const verify = (...chain: Issued[]) =>
    verifyServerChain(chain.map(der), { trusted, host: '127.0.0.1', now: new Date() });

  it('reads extensions: OIDs, criticality, values', () => {
    const exts = certificateExtensions(der(certs.constrained!));
    const names = exts.find((e) => e.oid === '2.5.29.30');
    assert.ok(names?.critical, JSON.stringify(exts.map((e) => e.oid)));
    assert.ok(names.value.includes(Buffer.from('example.com')));
    const unknown = certificateExtensions(der(certs.leafNonCriticalUnknown!));
    const ext = unknown.find((e) => e.oid === '1.2.3.4.5');
    assert.equal(ext?.critical, false);
    assert.deepEqual(ext?.value, Buffer.of(0x05, 0x00));
    assert.throws(() => certificateExtensions(der(root).subarray(0, 100)), /truncated/);
  });

  it('accepts a chain within a path length constraint, refuses one beyond it', () => {
    assert.equal(
      verify(certs.leafUnderLen0!, certs.len0!).raw.equals(der(certs.leafUnderLen0!)),
      true,
    );
    assert.throws(
      () => verify(certs.leafUnderSub!, certs.subCa!, certs.len0!),
      /allows 0 intermediate CA\(s\) below it, the chain has 1/,
    );
  });

  it('refuses critical name constraints and unknown critical extensions; non-critical ones pass', () => {
    assert.throws(
      () => verify(certs.leafUnderConstrained!, certs.constrained!),
      /an intermediate certificate of the server has a critical extension this TLS client does not check \(name constraints, 2\.5\.29\.30\)/,
    );
    assert.throws(
      () => verify(certs.leafCriticalUnknown!),
      /the server certificate has a critical extension this TLS client does not check \(1\.2\.3\.4\.5\)/,
    );
    verify(certs.leafNonCriticalUnknown!);
  });
});
