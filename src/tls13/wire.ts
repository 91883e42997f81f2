/**
 * The numbers and byte layouts of TLS 1.3 (RFC 8446) that the client needs, and a bounded
 * reader for the vectors messages are made of. Every read is checked against the bytes
 * left, so a malformed message fails with `decode_error`, never with a read past its end.
 */

/** Record content types (RFC 8446 §5.1). */
export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

/** Handshake message types (§4). */
export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  certificateRequest: 13,
  certificateVerify: 15,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;

/** Extension types (§4.2). */
export const Extension = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  certificateAuthorities: 47,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
} as const;

/** Alert descriptions (§6) and their names, as reported in errors. */
export const Alert = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  inappropriateFallback: 86,
  userCanceled: 90,
  missingExtension: 109,
  unsupportedExtension: 110,
  unrecognizedName: 112,
  badCertificateStatusResponse: 113,
  unknownPskIdentity: 115,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;

const ALERT_NAMES = new Map<number, string>(
  Object.entries(Alert).map(([name, value]) => [
    value,
    name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
  ]),
);

/** `bad_certificate` for 42; `alert 200` for one RFC 8446 does not name. */
export function alertName(description: number): string {
  return ALERT_NAMES.get(description) ?? `alert ${description}`;
}

/** Named groups (§4.2.7) this client offers. */
export const Group = { secp256r1: 0x0017, secp384r1: 0x0018, x25519: 0x001d } as const;

/** Signature schemes (§4.2.3). */
export const SignatureScheme = {
  rsaPkcs1Sha256: 0x0401,
  rsaPkcs1Sha384: 0x0501,
  rsaPkcs1Sha512: 0x0601,
  ecdsaSecp256r1Sha256: 0x0403,
  ecdsaSecp384r1Sha384: 0x0503,
  ecdsaSecp521r1Sha512: 0x0603,
  rsaPssRsaeSha256: 0x0804,
  rsaPssRsaeSha384: 0x0805,
  rsaPssRsaeSha512: 0x0806,
  ed25519: 0x0807,
  ed448: 0x0808,
  rsaPssPssSha256: 0x0809,
  rsaPssPssSha384: 0x080a,
  rsaPssPssSha512: 0x080b,
} as const;

/** The only version this client speaks. */
export const TLS13 = 0x0304;
/** `legacy_version` of every record and hello (§4.1.2, §5.1). */
export const LEGACY_VERSION = 0x0303;

/** Largest plaintext fragment (§5.1) and largest ciphertext record (§5.2). */
export const MAX_PLAINTEXT = 1 << 14;
export const MAX_CIPHERTEXT = (1 << 14) + 256;

/** ServerHello.random of a HelloRetryRequest (§4.1.3). */
export const HELLO_RETRY_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

/** A TLS failure: an alert this side sends (`received` false) or one the peer sent. */
export class TlsAlertError extends Error {
  /** `ERR_TLS_ALERT_RECEIVED` when the peer sent the alert, else `ERR_TLS_PROTOCOL`. */
  readonly code: 'ERR_TLS_ALERT_RECEIVED' | 'ERR_TLS_PROTOCOL';
  /** A received alert that came after the server asked for a client certificate. */
  afterCertificateRequest = false;
  /** Whether this side had sent a client certificate when the alert came. */
  certificateSent = false;

  constructor(
    /** The alert description (RFC 8446 §6). */
    readonly alert: number,
    /** True when the peer sent it. */
    readonly received: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TlsAlertError';
    this.code = received ? 'ERR_TLS_ALERT_RECEIVED' : 'ERR_TLS_PROTOCOL';
  }
}

/** A failure of this side that the peer is told about with `alert`. */
export function fail(alert: number, message: string, cause?: unknown): TlsAlertError {
  return new TlsAlertError(alert, false, message, cause === undefined ? undefined : { cause });
}

/** Reads the fields of one message; every overrun is a `decode_error`. */
export class Reader {
  private at: number;

  constructor(
    private readonly bytes: Buffer,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.at = start;
  }

  get left(): number {
    return this.end - this.at;
  }

  private take(n: number): number {
    if (n > this.left) throw fail(Alert.decodeError, 'a handshake message is truncated');
    const at = this.at;
    this.at += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.take(1)] as number;
  }

  u16(): number {
    return this.bytes.readUInt16BE(this.take(2));
  }

  u24(): number {
    return this.bytes.readUIntBE(this.take(3), 3);
  }

  bytesOf(n: number): Buffer {
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }

  /** A vector with a length prefix of `lengthBytes` (1, 2 or 3) bytes. */
  vector(lengthBytes: 1 | 2 | 3): Buffer {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    return this.bytesOf(n);
  }

  /** The message must have been read to its last byte. */
  done(what: string): void {
    if (this.left !== 0) throw fail(Alert.decodeError, `${what} has trailing bytes`);
  }
}

/** A length-prefixed vector. */
export function vec(lengthBytes: 1 | 2 | 3, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const max = 2 ** (8 * lengthBytes) - 1;
  if (body.length > max) throw new RangeError(`vector of ${body.length} bytes is too long`);
  const head = Buffer.alloc(lengthBytes);
  head.writeUIntBE(body.length, 0, lengthBytes);
  return Buffer.concat([head, body]);
}

/** A big-endian 16-bit number. */
export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

/** A handshake message: type, 24-bit length, body. */
export function handshakeMessage(type: number, ...body: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.of(type), vec(3, ...body)]);
}

/** An extension: type and 16-bit length-prefixed data. */
export function extension(type: number, ...data: Uint8Array[]): Buffer {
  return Buffer.concat([u16(type), vec(2, ...data)]);
}

/**
 * Split an extensions block into type → data, refusing a type that appears twice
 * (§4.2: "There MUST NOT be more than one extension of the same type").
 */
export function parseExtensions(block: Buffer): Map<number, Buffer> {
  const reader = new Reader(block);
  const found = new Map<number, Buffer>();
  while (reader.left > 0) {
    const type = reader.u16();
    const data = reader.vector(2);
    if (found.has(type)) throw fail(Alert.illegalParameter, `extension ${type} appears twice`);
    found.set(type, data);
  }
  return found;
}

/** The extensions a message may carry; any other is `unsupported_extension` (§4.2). */
export function allowOnly(extensions: Map<number, Buffer>, allowed: number[], what: string): void {
  for (const type of extensions.keys()) {
    if (!allowed.includes(type)) {
      throw fail(Alert.unsupportedExtension, `${what} carries extension ${type}`);
    }
  }
}
