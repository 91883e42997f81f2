import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A key and certificate, PEM text and the files holding them. */
export interface Issued {
  keyPath: string;
  certPath: string;
  key: string;
  cert: string;
}

/** The certificates the TLS 1.3 client tests use, made with the `openssl` CLI. */
export interface Tls13Pki {
  dir: string;
  /** The trusted CA (EC P-256). */
  ca: Issued;
  /** A CA the client does not trust. */
  otherCa: Issued;
  /** EC P-256 server certificate for 127.0.0.1, ::1, localhost, signed by `ca`. */
  server: Issued;
  /** RSA-2048 server certificate, same names (RSA-PSS CertificateVerify). */
  serverRsa: Issued;
  /** P-384 server certificate, same names. */
  serverP384: Issued;
  /** Same names, signed by `otherCa`. */
  untrusted: Issued;
  /** Issued for `elsewhere.test` only. */
  wrongHost: Issued;
  /** Valid for no time at all (`-days 0`): expired a second after it was made. */
  expired: Issued;
  /** An intermediate CA signed by `ca`. */
  intermediate: Issued;
  /** Server certificate signed by `intermediate` (send it with the intermediate). */
  viaIntermediate: Issued;
  /** Server certificate signed by `server`, which is no CA. */
  viaLeaf: Issued;
  /** RSA-2048 client certificate signed by `ca`. */
  clientRsa: Issued;
}

export const SERVER_EXT = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1',
];
export const CA_EXT = [
  'basicConstraints=critical,CA:TRUE',
  'keyUsage=critical,keyCertSign,cRLSign',
];

let cached: Promise<Tls13Pki> | undefined;

/** The certificates, made once per process (removed when it exits). */
export function tls13Pki(): Promise<Tls13Pki> {
  cached ??= make();
  return cached;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

function keyArgs(kind: string): string[] {
  if (kind === 'rsa') return ['-newkey', 'rsa:2048'];
  return ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${kind}`];
}

async function files(dir: string, name: string): Promise<Issued> {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  return {
    keyPath,
    certPath,
    key: await readFile(keyPath, 'utf8'),
    cert: await readFile(certPath, 'utf8'),
  };
}

/** A self-signed EC P-256 CA named `name` in `dir`. */
export async function selfSignedCa(dir: string, name: string): Promise<Issued> {
  await openssl([
    'req',
    '-x509',
    ...keyArgs('P-256'),
    '-nodes',
    '-keyout',
    path.join(dir, `${name}.key`),
    '-out',
    path.join(dir, `${name}.crt`),
    '-subj',
    `/CN=tls13 test ${name}`,
    '-days',
    '365',
    ...CA_EXT.flatMap((e) => ['-addext', e]),
  ]);
  return files(dir, name);
}

/** A certificate for `name` signed by `issuer`, with `ext` (default: a loopback server's). */
export async function issue(
  dir: string,
  name: string,
  issuer: Issued,
  options: { kind?: string; ext?: string[]; days?: string } = {},
): Promise<Issued> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await openssl(
    ['req', '-new', ...keyArgs(options.kind ?? 'P-256'), '-nodes', '-keyout', key].concat([
      '-out',
      csr,
      '-subj',
      `/CN=tls13 test ${name}`,
    ]),
  );
  await writeFile(ext, `${(options.ext ?? SERVER_EXT).join('\n')}\n`);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    issuer.certPath,
    '-CAkey',
    issuer.keyPath,
    '-CAcreateserial',
    '-out',
    path.join(dir, `${name}.crt`),
    '-days',
    options.days ?? '365',
    '-sha256',
    '-extfile',
    ext,
  ]);
  return files(dir, name);
}

async function make(): Promise<Tls13Pki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ocipeek-tls13-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const ca = await selfSignedCa(dir, 'ca');
  const otherCa = await selfSignedCa(dir, 'other-ca');
  const server = await issue(dir, 'server', ca);
  const intermediate = await issue(dir, 'intermediate', ca, { ext: CA_EXT });
  const pki: Tls13Pki = {
    dir,
    ca,
    otherCa,
    server,
    serverRsa: await issue(dir, 'server-rsa', ca, { kind: 'rsa' }),
    serverP384: await issue(dir, 'server-p384', ca, { kind: 'P-384' }),
    untrusted: await issue(dir, 'untrusted', otherCa),
    wrongHost: await issue(dir, 'wrong-host', ca, {
      ext: [...SERVER_EXT.slice(0, 3), 'subjectAltName=DNS:elsewhere.test'],
    }),
    expired: await issue(dir, 'expired', ca, { days: '0' }),
    intermediate,
    viaIntermediate: await issue(dir, 'via-intermediate', intermediate),
    viaLeaf: await issue(dir, 'via-leaf', server),
    clientRsa: await issue(dir, 'client-rsa', ca, {
      kind: 'rsa',
      ext: ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth'],
    }),
  };
  return pki;
}
