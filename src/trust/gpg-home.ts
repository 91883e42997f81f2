import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as OpenPgp from 'openpgp';
import { InvalidArgumentError } from '../errors/index.js';
import { field, keyFileSexp, type Sexp, unprotectKey } from './gpg-sexp.js';
import { openpgp } from './simple-signing.js';

/*
 * `--sign-by FINGERPRINT`, as skopeo's: the secret key is found in a GnuPG home
 * (`$GNUPGHOME`, else ~/.gnupg) without running gpg. The public key block comes from the
 * keybox (`pubring.kbx`; a legacy `pubring.gpg` too), the secret parameters from
 * gpg-agent's `private-keys-v1.d` (matched by public point or modulus, which saves
 * computing libgcrypt's keygrips); together they make the OpenPGP secret key OpenPGP.js
 * signs with. EdDSA, ECDSA and RSA keys; not keys on smartcards.
 */

/** The key blocks of a keybox file (`pubring.kbx`): its OpenPGP blobs. */
function keyboxBlocks(kbx: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let at = 0; at + 16 <= kbx.length; ) {
    const length = kbx.readUInt32BE(at);
    if (length < 16 || at + length > kbx.length) break;
    if (kbx[at + 4] === 2) {
      const offset = kbx.readUInt32BE(at + 8);
      const size = kbx.readUInt32BE(at + 12);
      blocks.push(kbx.subarray(at + offset, at + offset + size));
    }
    at += length;
  }
  return blocks;
}

async function publicKeys(home: string): Promise<OpenPgp.Key[]> {
  const pgp = openpgp();
  try {
    const kbx = await readFile(join(home, 'pubring.kbx'));
    const keys: OpenPgp.Key[] = [];
    for (const block of keyboxBlocks(kbx)) {
      keys.push(await pgp.readKey({ binaryKey: block }).catch(() => undefined as never));
    }
    return keys.filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const legacy = await readFile(join(home, 'pubring.gpg')).catch(() => undefined);
  return legacy ? pgp.readKeys({ binaryKeys: legacy }) : [];
}

/** One packet of a binary key block: its tag and body. */
interface Packet {
  tag: number;
  body: Buffer;
}

function splitPackets(bytes: Uint8Array): Packet[] {
  const b = Buffer.from(bytes);
  const packets: Packet[] = [];
  for (let i = 0; i < b.length; ) {
    const head = b[i]!;
    let tag: number;
    let length: number;
    let start: number;
    if (head & 0x40) {
      tag = head & 0x3f;
      const l0 = b[i + 1]!;
      if (l0 < 192) [length, start] = [l0, i + 2];
      else if (l0 < 224) [length, start] = [((l0 - 192) << 8) + b[i + 2]! + 192, i + 3];
      else [length, start] = [b.readUInt32BE(i + 2), i + 6];
    } else {
      tag = (head >> 2) & 0x0f;
      const type = head & 3;
      if (type === 0) [length, start] = [b[i + 1]!, i + 2];
      else if (type === 1) [length, start] = [b.readUInt16BE(i + 1), i + 3];
      else [length, start] = [b.readUInt32BE(i + 1), i + 5];
    }
    packets.push({ tag, body: b.subarray(start, start + length) });
    i = start + length;
  }
  return packets;
}

function writePacket(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const length =
    n < 192
      ? Buffer.from([n])
      : n < 8384
        ? Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff])
        : Buffer.concat([Buffer.from([0xff]), Buffer.alloc(4)]).fill(0, 1);
  if (n >= 8384) length.writeUInt32BE(n, 1);
  return Buffer.concat([Buffer.from([0xc0 | tag]), length, body]);
}

/** An OpenPGP MPI of unsigned big-endian `value`. */
function mpi(value: Buffer): Buffer {
  let v = value;
  while (v.length > 0 && v[0] === 0) v = v.subarray(1);
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bits);
  return Buffer.concat([head, v]);
}

const atom = (algo: Sexp[], name: string) => {
  const v = field(algo, name)?.[0];
  return Buffer.isBuffer(v) ? v : undefined;
};

/** A secret key file's public identity (ECC point or RSA modulus) and its S-expression. */
interface AgentKey {
  file: string;
  publicValue: Buffer;
  sexp: Sexp;
}

async function agentKeys(home: string): Promise<AgentKey[]> {
  const dir = join(home, 'private-keys-v1.d');
  const names = await readdir(dir).catch(() => [] as string[]);
  const keys: AgentKey[] = [];
  for (const name of names.filter((n) => n.endsWith('.key'))) {
    const file = join(dir, name);
    try {
      const sexp = keyFileSexp(await readFile(file));
      const algo = (sexp as Sexp[])[1] as Sexp[];
      const publicValue = atom(algo, 'q') ?? atom(algo, 'n');
      if (publicValue) keys.push({ file, publicValue, sexp });
    } catch {
      // Not a key this reader understands: others may still match.
    }
  }
  return keys;
}

/** The public value gpg-agent files name a key by: its point (ECC) or modulus (RSA). */
function publicValueOf(packet: OpenPgp.PublicKeyPacket): Buffer | undefined {
  const params = packet.publicParams as { Q?: Uint8Array; n?: Uint8Array };
  const v = params.Q ?? params.n;
  return v ? Buffer.from(v) : undefined;
}

/** The secret MPIs of an OpenPGP secret key packet from gpg-agent's algorithm list. */
function secretMpis(algo: Sexp[], publicKey: OpenPgp.PublicKeyPacket): Buffer {
  const need = (name: string) => {
    const v = atom(algo, name);
    if (!v) throw new InvalidArgumentError(`the secret key lacks its ${name}`);
    return v;
  };
  if (field(algo, 'd') && atom(algo, 'n')) {
    return Buffer.concat(['d', 'p', 'q', 'u'].map((n) => mpi(need(n))));
  }
  const d = need('d');
  // EdDSA (legacy) and ECDSA keep the scalar as an MPI; GnuPG may store a leading 0x40.
  const native = publicKey.algorithm === 22 && d.length === 33 && d[0] === 0x40;
  return mpi(native ? d.subarray(1) : d);
}

function secretPacketBody(publicBody: Buffer, mpis: Buffer): Buffer {
  let sum = 0;
  for (const byte of mpis) sum = (sum + byte) & 0xffff;
  const check = Buffer.alloc(2);
  check.writeUInt16BE(sum);
  // S2K usage 0: the secret parameters in clear (held in memory only).
  return Buffer.concat([publicBody, Buffer.from([0]), mpis, check]);
}

/**
 * The secret key of `fingerprint` (a primary key or subkey, 40 hex digits) in the GnuPG
 * home `home` (default `$GNUPGHOME`, else ~/.gnupg), unlocked with `passphrase` when
 * gpg-agent keeps it protected.
 */
export async function readGpgHomeKey(
  fingerprint: string,
  passphrase: string | undefined,
  home = process.env.GNUPGHOME ?? join(process.env.HOME ?? homedir(), '.gnupg'),
): Promise<OpenPgp.PrivateKey> {
  const wanted = fingerprint.replace(/\s/g, '').toUpperCase().replace(/^0X/, '');
  if (!/^[0-9A-F]{40}$/.test(wanted)) {
    throw new InvalidArgumentError(
      `--sign-by takes a key fingerprint (40 hex digits), not ${fingerprint}`,
    );
  }
  const key = (await publicKeys(home)).find((k) =>
    [k, ...k.getSubkeys()].some((s) => s.getFingerprint().toUpperCase() === wanted),
  );
  if (!key) throw new InvalidArgumentError(`no key ${wanted} in the GnuPG home ${home}`);
  const agent = await agentKeys(home);
  const pgp = openpgp();
  const out: Buffer[] = [];
  let secrets = 0;
  for (const packet of splitPackets(key.toPacketList().write())) {
    if (packet.tag !== 6 && packet.tag !== 14) {
      out.push(writePacket(packet.tag, packet.body));
      continue;
    }
    const parsed = new pgp.PublicKeyPacket();
    parsed.read(packet.body);
    const value = publicValueOf(parsed);
    const held = value && agent.find((a) => a.publicValue.equals(value));
    if (!held) {
      out.push(writePacket(packet.tag, packet.body));
      continue;
    }
    const algo = unprotectKey(held.sexp, passphrase);
    const body = secretPacketBody(packet.body, secretMpis(algo, parsed));
    out.push(writePacket(packet.tag === 6 ? 5 : 7, body));
    secrets++;
  }
  if (secrets === 0) {
    throw new InvalidArgumentError(
      `no secret key for ${wanted} in ${join(home, 'private-keys-v1.d')}`,
    );
  }
  try {
    return await pgp.readPrivateKey({ binaryKey: Buffer.concat(out) });
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read the secret key ${wanted}: ${(err as Error).message}`,
    );
  }
}
