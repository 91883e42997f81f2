import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM file on disk and its text. */
export interface PemFile {
  /** Absolute path of the PEM file. */
  path: string;
  /** The PEM text. */
  pem: string;
}

/** A private key and the certificate for it. */
export interface KeyPair {
  /** The PEM private key (PKCS#8). */
  key: PemFile;
  /** The PEM certificate. */
  cert: PemFile;
}

/** Every certificate the integration tests need, generated once per process. */
export interface TestCerts {
  /** The folder holding all files below. Removed when the process exits. */
  dir: string;
  /** The test CA (self-signed, EC P-256) that signs the server and client certificates. */
  ca: KeyPair;
  /** Server certificate for 127.0.0.1, ::1 and localhost, signed by the CA. */
  server: KeyPair;
  /** Client certificate for mutual TLS, signed by the CA. */
  client: KeyPair;
  /** EC P-256 key and self-signed certificate that sign registry token JWTs. */
  jwt: KeyPair;
  /**
   * A containers/image style certificate folder (`ca.crt`, `client.cert`, `client.key`),
   * for `skopeo --cert-dir` / `--src-cert-dir` / `--dest-cert-dir`.
   */
  certDir: string;
}

let cached: Promise<TestCerts> | undefined;

/**
 * The test certificates, generated with the `openssl` CLI on first use and cached for the
 * life of the process (generation takes a few hundred milliseconds).
 */
export function testCerts(): Promise<TestCerts> {
  cached ??= generate().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function pemFile(file: string): Promise<PemFile> {
  return { path: file, pem: await readFile(file, 'utf8') };
}

async function keyPair(dir: string, name: string): Promise<KeyPair> {
  return {
    key: await pemFile(path.join(dir, `${name}.key`)),
    cert: await pemFile(path.join(dir, `${name}.crt`)),
  };
}

/** A fresh P-256 key in PKCS#8 PEM (what both Go and jose read). */
async function ecKey(file: string): Promise<void> {
  await openssl([
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    file,
  ]);
}

async function selfSigned(dir: string, name: string, subject: string, exts: string[]) {
  const key = path.join(dir, `${name}.key`);
  await ecKey(key);
  const extArgs = exts.flatMap((e) => ['-addext', e]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    path.join(dir, `${name}.crt`),
    '-subj',
    subject,
    '-days',
    '3650',
    '-sha256',
    ...extArgs,
  ]);
}

async function signedByCa(dir: string, name: string, subject: string, extLines: string[]) {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject]);
  await writeFile(ext, `${extLines.join('\n')}\n`);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    path.join(dir, `${name}.crt`),
    '-days',
    '3650',
    '-sha256',
    '-extfile',
    ext,
  ]);
}

async function generate(): Promise<TestCerts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ocipeek-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

  await selfSigned(dir, 'ca', '/CN=ocipeek test CA', [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await signedByCa(dir, 'server', '/CN=127.0.0.1', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1',
  ]);
  await signedByCa(dir, 'client', '/CN=ocipeek test client', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
  // The token signer is its own root: the registry's rootcertbundle holds exactly this cert.
  await selfSigned(dir, 'jwt', '/CN=ocipeek test token signer', [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,digitalSignature,keyCertSign',
  ]);

  const certs: TestCerts = {
    dir,
    ca: await keyPair(dir, 'ca'),
    server: await keyPair(dir, 'server'),
    client: await keyPair(dir, 'client'),
    jwt: await keyPair(dir, 'jwt'),
    certDir: path.join(dir, 'cert-dir'),
  };
  // containers/image reads *.crt as CAs and *.cert + *.key as a client pair.
  await mkdir(certs.certDir, { recursive: true });
  await writeFile(path.join(certs.certDir, 'ca.crt'), certs.ca.cert.pem);
  await writeFile(path.join(certs.certDir, 'client.cert'), certs.client.cert.pem);
  await writeFile(path.join(certs.certDir, 'client.key'), certs.client.key.pem, { mode: 0o600 });
  return certs;
}
