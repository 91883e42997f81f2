import { createHash, createHmac, type Hash } from 'node:crypto';
import { HandshakeType } from './wire.js';

/** A TLS 1.3 cipher suite: its AEAD (as Node names it) and hash. */
export interface CipherSuite {
  id: number;
  name: string;
  /** `aes-128-gcm`, `aes-256-gcm`, `chacha20-poly1305`. */
  aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  hash: 'sha256' | 'sha384';
  hashLength: number;
}

/** The suites offered, in order of preference (RFC 8446 §B.4). */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  {
    id: 0x1301,
    name: 'TLS_AES_128_GCM_SHA256',
    aead: 'aes-128-gcm',
    keyLength: 16,
    hash: 'sha256',
    hashLength: 32,
  },
  {
    id: 0x1302,
    name: 'TLS_AES_256_GCM_SHA384',
    aead: 'aes-256-gcm',
    keyLength: 32,
    hash: 'sha384',
    hashLength: 48,
  },
  {
    id: 0x1303,
    name: 'TLS_CHACHA20_POLY1305_SHA256',
    aead: 'chacha20-poly1305',
    keyLength: 32,
    hash: 'sha256',
    hashLength: 32,
  },
];

function hmac(hash: string, key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

/** HKDF-Extract (RFC 5869 §2.2). */
export function hkdfExtract(hash: string, salt: Uint8Array, ikm: Uint8Array): Buffer {
  return hmac(hash, salt, ikm);
}

/**
 * HKDF-Expand-Label (RFC 8446 §7.1). Written out (a few HMACs) because `crypto.hkdf`
 * always runs Extract first and TLS 1.3 needs Expand on its own.
 */
export function expandLabel(
  hash: string,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, fullLabel.length]),
    fullLabel,
    Buffer.of(context.length),
    context,
  ]);
  const blocks: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let i = 1, have = 0; have < length; i++) {
    previous = hmac(hash, secret, Buffer.concat([previous, info, Buffer.of(i)]));
    blocks.push(previous);
    have += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The key and IV of one direction's traffic secret (§7.3). */
export interface TrafficKeys {
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
}

/** Key and IV for `secret` under `suite`. */
export function trafficKeys(suite: CipherSuite, secret: Buffer): TrafficKeys {
  return {
    secret,
    key: expandLabel(suite.hash, secret, 'key', Buffer.alloc(0), suite.keyLength),
    iv: expandLabel(suite.hash, secret, 'iv', Buffer.alloc(0), 12),
  };
}

/** The next generation of a traffic secret, after a KeyUpdate (§7.2). */
export function nextTrafficSecret(suite: CipherSuite, secret: Buffer): Buffer {
  return expandLabel(suite.hash, secret, 'traffic upd', Buffer.alloc(0), suite.hashLength);
}

/** `verify_data` of a Finished message (§4.4.4) over `transcriptHash`. */
export function finishedData(
  suite: CipherSuite,
  baseSecret: Buffer,
  transcriptHash: Buffer,
): Buffer {
  const key = expandLabel(suite.hash, baseSecret, 'finished', Buffer.alloc(0), suite.hashLength);
  return hmac(suite.hash, key, transcriptHash);
}

/**
 * The running hash of the handshake messages (§4.4.1). Messages seen before the suite (and
 * so the hash) is known are kept and hashed once it is; a HelloRetryRequest replaces the
 * first ClientHello with a `message_hash` message.
 */
export class Transcript {
  private pending: Buffer[] = [];
  private hash: Hash | undefined;
  private suite: CipherSuite | undefined;

  add(message: Buffer): void {
    if (this.hash) this.hash.update(message);
    else this.pending.push(message);
  }

  /** Fix the hash, hashing the messages kept so far. */
  start(suite: CipherSuite): void {
    this.suite = suite;
    this.hash = createHash(suite.hash);
    for (const message of this.pending) this.hash.update(message);
    this.pending = [];
  }

  /** After a HelloRetryRequest: ClientHello1 becomes `message_hash(Hash(ClientHello1))`. */
  replaceWithMessageHash(suite: CipherSuite): void {
    const first = createHash(suite.hash);
    for (const message of this.pending) first.update(message);
    const digest = first.digest();
    this.pending = [
      Buffer.concat([Buffer.of(HandshakeType.messageHash, 0, 0, digest.length), digest]),
    ];
  }

  /** The hash of everything added so far. */
  current(): Buffer {
    if (!this.hash) throw new Error('transcript hash used before the cipher suite is known');
    return this.hash.copy().digest();
  }

  get hashName(): string {
    return (this.suite as CipherSuite).hash;
  }
}

/** The secrets of one handshake (§7.1), derived step by step as the handshake goes. */
export class KeySchedule {
  private readonly zeros: Buffer;
  private readonly emptyHash: Buffer;
  private handshakeSecret: Buffer | undefined;

  constructor(private readonly suite: CipherSuite) {
    this.zeros = Buffer.alloc(suite.hashLength);
    this.emptyHash = createHash(suite.hash).digest();
  }

  private derive(secret: Buffer, label: string, transcriptHash: Buffer): Buffer {
    return expandLabel(this.suite.hash, secret, label, transcriptHash, this.suite.hashLength);
  }

  /** Client and server handshake traffic secrets, from the (EC)DHE shared secret. */
  handshakeSecrets(shared: Buffer, helloHash: Buffer): { client: Buffer; server: Buffer } {
    const early = hkdfExtract(this.suite.hash, this.zeros, this.zeros);
    const salt = this.derive(early, 'derived', this.emptyHash);
    this.handshakeSecret = hkdfExtract(this.suite.hash, salt, shared);
    return {
      client: this.derive(this.handshakeSecret, 'c hs traffic', helloHash),
      server: this.derive(this.handshakeSecret, 's hs traffic', helloHash),
    };
  }

  /** Client and server application traffic secrets, over the hash up to server Finished. */
  applicationSecrets(serverFinishedHash: Buffer): { client: Buffer; server: Buffer } {
    if (!this.handshakeSecret) throw new Error('application secrets before handshake secrets');
    const salt = this.derive(this.handshakeSecret, 'derived', this.emptyHash);
    const master = hkdfExtract(this.suite.hash, salt, this.zeros);
    return {
      client: this.derive(master, 'c ap traffic', serverFinishedHash),
      server: this.derive(master, 's ap traffic', serverFinishedHash),
    };
  }
}
