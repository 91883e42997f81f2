import { type CipherGCM, createCipheriv, createDecipheriv, type DecipherGCM } from 'node:crypto';
import {
  type CipherSuite,
  nextTrafficSecret,
  type TrafficKeys,
  trafficKeys,
} from './key-schedule.js';
import { Alert, ContentType, fail, LEGACY_VERSION, MAX_PLAINTEXT } from './wire.js';

const TAG_LENGTH = 16;

/**
 * The AEAD protection of one direction of records (RFC 8446 §5.2-5.3): per-record nonce
 * from the IV and a 64-bit sequence number, the record header as additional data, the
 * real content type and zero padding inside.
 */
export class RecordProtection {
  private keys: TrafficKeys;
  private sequence = 0n;

  constructor(
    private readonly suite: CipherSuite,
    secret: Buffer,
  ) {
    this.keys = trafficKeys(suite, secret);
  }

  /** Move to the next traffic secret (KeyUpdate, §4.6.3); the sequence starts again. */
  update(): void {
    this.keys = trafficKeys(this.suite, nextTrafficSecret(this.suite, this.keys.secret));
    this.sequence = 0n;
  }

  private nonce(): Buffer {
    // "The 64-bit record sequence number ... MUST NOT wrap" (§5.3): 2^64 records is far
    // beyond any connection, but the check costs nothing.
    if (this.sequence >= 0xffffffffffffffffn) throw fail(Alert.internalError, 'sequence exhausted');
    const nonce = Buffer.from(this.keys.iv);
    const padded = Buffer.alloc(12);
    padded.writeBigUInt64BE(this.sequence, 4);
    for (let i = 0; i < 12; i++) nonce[i] = (nonce[i] as number) ^ (padded[i] as number);
    this.sequence++;
    return nonce;
  }

  /** One protected record holding `content` (at most 2^14 bytes) of type `type`. */
  seal(type: number, content: Uint8Array): Buffer {
    const length = content.length + 1 + TAG_LENGTH;
    const header = Buffer.from([
      ContentType.applicationData,
      LEGACY_VERSION >> 8,
      LEGACY_VERSION & 0xff,
      length >> 8,
      length & 0xff,
    ]);
    // GCM and ChaCha20-Poly1305 share the AEAD calls (setAAD, getAuthTag, setAuthTag).
    const cipher = createCipheriv(this.suite.aead as 'aes-128-gcm', this.keys.key, this.nonce(), {
      authTagLength: TAG_LENGTH,
    }) as CipherGCM;
    cipher.setAAD(header);
    const body = Buffer.concat([
      cipher.update(content),
      cipher.update(Buffer.of(type)),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return Buffer.concat([header, body]);
  }

  /**
   * Decrypt one record (`header` its 5 bytes, `body` the rest). A record that fails
   * authentication is `bad_record_mac`; one whose plaintext is too long `record_overflow`;
   * one with no content type (all padding) `unexpected_message`.
   */
  open(header: Buffer, body: Buffer): { type: number; content: Buffer } {
    if (body.length < TAG_LENGTH + 1) throw fail(Alert.badRecordMac, 'a record is too short');
    const decipher = createDecipheriv(
      this.suite.aead as 'aes-128-gcm',
      this.keys.key,
      this.nonce(),
      {
        authTagLength: TAG_LENGTH,
      },
    ) as DecipherGCM;
    decipher.setAAD(header);
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_LENGTH)),
        decipher.final(),
      ]);
    } catch (err) {
      throw fail(Alert.badRecordMac, 'a record failed authentication', err);
    }
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0) throw fail(Alert.unexpectedMessage, 'a record has no content type');
    if (end - 1 > MAX_PLAINTEXT) throw fail(Alert.recordOverflow, 'a record is longer than 2^14');
    return { type: plain[end - 1] as number, content: plain.subarray(0, end - 1) };
  }
}
