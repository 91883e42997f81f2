import net from 'node:net';
import { Duplex } from 'node:stream';
import {
  type CertificateRequestInfo,
  ClientHandshake,
  type HandshakeSettings,
} from './client-handshake.js';
import type { RecordProtection } from './record-protection.js';
import {
  Alert,
  alertName,
  ContentType,
  fail,
  HandshakeType,
  handshakeMessage,
  LEGACY_VERSION,
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  Reader,
  TlsAlertError,
} from './wire.js';

/*
 * Why a TLS 1.3 client of our own, used for `ra-tls` only: an RA-TLS server (islet's)
 * sends a CertificateRequest whose certificate_authorities entry is a raw base64 nonce,
 * not a DER name. OpenSSL, and so Node's `tls`, aborts the handshake while parsing it,
 * before any callback could see it. The other way, a koffi binding to GnuTLS (whose
 * certificate retrieve callback gets the raw entries), was weighed and not taken: the
 * callback is synchronous, inside `gnutls_handshake`, while the client's token must come
 * from an asynchronous provider (a realm asks its attestation service for a token bound to
 * the challenge), so the binding would need a worker thread blocking on Atomics around
 * every connection; and it would tie `ra-tls` to a system library that is not on every
 * platform Node runs on. Here the handshake simply awaits the provider.
 *
 * The parts that are easy to get wrong are not written here: key exchange, AEAD, HKDF's
 * HMAC, signature checks and certificate parsing and signature verification are
 * `node:crypto` (OpenSSL); host names are checked by `tls.checkServerIdentity`, as for
 * `tls`. What is here is the protocol's framing and state machine, strict: every message
 * in its place, every length bounded, every alert the RFC asks for.
 */

/** Longest handshake message accepted (a certificate chain), in bytes. */
const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

/** How a {@link Tls13Socket} connects. */
export interface Tls13ConnectOptions extends Omit<HandshakeSettings, 'now'> {
  port: number;
  /** Where to connect (defaults to `host`). */
  address?: string;
  /** A connected socket to speak TLS over instead of connecting. */
  socket?: net.Socket;
  /** Read the way `net.connect`'s `onread` does: decrypted bytes into the given buffers. */
  onread?: net.OnReadOpts;
  now?: () => Date;
}

/**
 * A TLS 1.3 client connection as a Duplex, shaped like the socket `tls.connect` returns
 * for what the HTTP client uses: `secureConnect`, `onread`, `setTimeout` and `timeout`,
 * `setNoDelay`, `ref`/`unref`, `end` at the server's close_notify.
 */
export class Tls13Socket extends Duplex {
  private readonly raw: net.Socket;
  private readonly handshake: ClientHandshake;
  private readonly onread: net.OnReadOpts | undefined;
  private readProtection: RecordProtection | undefined;
  private writeProtection: RecordProtection | undefined;
  /** Received bytes not yet made into records. */
  private inbound: Buffer = Buffer.alloc(0);
  /** Handshake bytes of messages not complete yet. */
  private handshakeBytes: Buffer = Buffer.alloc(0);
  /** Decrypted application bytes the reader did not take yet. */
  private pendingPlain: Buffer[] = [];
  private pumping = false;
  /** True while the reader asked for no more bytes (`onread` callback false, `push` full). */
  private paused = false;
  /** The server sent close_notify or closed its side: no more records come. */
  private receivedEnd = false;
  private endPushed = false;
  private readonly waitingWrites: (() => void)[] = [];
  /** The server's certificate request, if it sent one. */
  certificateRequest: CertificateRequestInfo | undefined;
  /** A client certificate went out in answer to it. */
  certificateSent = false;

  constructor(options: Tls13ConnectOptions) {
    super({ allowHalfOpen: false });
    this.onread = options.onread;
    this.raw =
      options.socket ?? net.connect({ host: options.address ?? options.host, port: options.port });
    const settings: HandshakeSettings = {
      ...options,
      now: options.now ?? (() => new Date()),
      clientCertificate: options.clientCertificate
        ? async (request) => {
            this.certificateRequest = request;
            const provide = options.clientCertificate as NonNullable<
              typeof options.clientCertificate
            >;
            const credentials = await provide(request);
            this.certificateSent = (credentials?.chain.length ?? 0) > 0;
            return credentials;
          }
        : undefined,
    };
    this.handshake = new ClientHandshake(settings, {
      send: (message) => this.sendRecords(ContentType.handshake, message),
      setReadProtection: (protection) => {
        if (this.handshakeBytes.length > 0) {
          throw fail(Alert.unexpectedMessage, 'a handshake message spans a key change');
        }
        this.readProtection = protection;
      },
      setWriteProtection: (protection) => {
        this.writeProtection = protection;
      },
    });
    this.raw.on('data', (chunk: Buffer) => this.onData(chunk));
    this.raw.on('end', () => this.onRawEnd());
    this.raw.on('error', (err) => this.destroy(err));
    // A normal end goes through `end` (and `push(null)` once every byte is delivered, when
    // the Duplex closes itself); a close without it is a failure.
    this.raw.on('close', () => {
      if (!this.receivedEnd) this.destroy(connectionReset());
    });
    this.raw.on('timeout', () => this.emit('timeout'));
    if (this.onread) super.resume(); // only the end of the stream goes through `push`
    const start = () => this.guard(() => this.handshake.start());
    if (options.socket) start();
    else this.raw.once('connect', start);
  }

  /** The ALPN protocol the server chose. */
  get alpnProtocol(): string | false {
    return this.handshake.alpnProtocol ?? false;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.raw.setTimeout(ms);
    if (callback) this.once('timeout', callback);
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    this.raw.setNoDelay(noDelay);
    return this;
  }

  ref(): this {
    this.raw.ref();
    return this;
  }

  unref(): this {
    this.raw.unref();
    return this;
  }

  /** Read again after the `onread` callback said stop (as on a `net.Socket`). */
  override resume(): this {
    super.resume();
    this.release();
    return this;
  }

  override _read(): void {
    this.release();
  }

  private hold(): void {
    this.paused = true;
    this.raw.pause();
  }

  private release(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.receivedEnd) this.raw.resume();
    this.pump();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    const send = () => {
      if (this.destroyed) return callback(new Error('the TLS connection is closed'));
      try {
        this.sendRecords(ContentType.applicationData, chunk, callback);
      } catch (err) {
        callback(err as Error);
      }
    };
    if (this.handshake.done) send();
    else this.waitingWrites.push(send);
  }

  override _final(callback: (err?: Error) => void): void {
    const close = () => {
      if (this.raw.writable) this.raw.end(this.alertRecord(Alert.closeNotify));
      callback();
    };
    if (this.handshake.done) close();
    else this.waitingWrites.push(close);
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }

  /** Records of `type` holding `bytes`, protected once keys are set, fragments of 2^14. */
  private sendRecords(type: number, bytes: Buffer, callback?: (err?: Error | null) => void): void {
    const records: Buffer[] = [];
    for (let at = 0; at < bytes.length || at === 0; at += MAX_PLAINTEXT) {
      const fragment = bytes.subarray(at, at + MAX_PLAINTEXT);
      records.push(
        this.writeProtection
          ? this.writeProtection.seal(type, fragment)
          : plainRecord(type, fragment),
      );
      if (bytes.length === 0) break;
    }
    this.raw.write(Buffer.concat(records), callback);
  }

  private alertRecord(description: number): Buffer {
    const level = description === Alert.closeNotify || description === Alert.userCanceled ? 1 : 2;
    const content = Buffer.of(level, description);
    return this.writeProtection
      ? this.writeProtection.seal(ContentType.alert, content)
      : plainRecord(ContentType.alert, content);
  }

  private onData(chunk: Buffer): void {
    this.inbound = this.inbound.length === 0 ? chunk : Buffer.concat([this.inbound, chunk]);
    this.pump();
  }

  /** Work through the complete records received, one at a time, in order. */
  private pump(): void {
    if (this.pumping || this.destroyed) return;
    this.pumping = true;
    void this.pumpRecords();
  }

  private async pumpRecords(): Promise<void> {
    try {
      while (!this.destroyed && !this.paused) {
        if (this.pendingPlain.length > 0) {
          this.deliver();
          continue;
        }
        if (this.inbound.length < 5) break;
        const length = this.inbound.readUInt16BE(3);
        const type = this.inbound[0] as number;
        this.checkRecordHead(type, length);
        if (this.inbound.length < 5 + length) break;
        const header = this.inbound.subarray(0, 5);
        const body = this.inbound.subarray(5, 5 + length);
        this.inbound = this.inbound.subarray(5 + length);
        const work = this.record(type, header, body);
        if (work) await work;
      }
      const drained = !this.destroyed && !this.paused && this.pendingPlain.length === 0;
      if (this.receivedEnd && drained && !this.endPushed) {
        if (!this.handshake.done) {
          throw connectionReset('the server closed the connection during the TLS handshake');
        }
        if (this.inbound.length > 0) {
          throw fail(Alert.decodeError, 'the connection closed in the middle of a TLS record');
        }
        this.endPushed = true;
        this.push(null);
      }
    } catch (err) {
      this.failWith(err);
    } finally {
      // Set here, synchronously at the loop's end, so a `pump` right after sees it.
      this.pumping = false;
    }
  }

  private checkRecordHead(type: number, length: number): void {
    const known = [
      ContentType.changeCipherSpec,
      ContentType.alert,
      ContentType.handshake,
      ContentType.applicationData,
    ] as number[];
    if (!known.includes(type) || (this.inbound[1] as number) !== 3) {
      const what = this.handshake.done ? 'a record' : 'the server answered with something';
      throw fail(Alert.unexpectedMessage, `${what} that is not TLS (type ${type})`);
    }
    const limit = this.readProtection ? MAX_CIPHERTEXT : MAX_PLAINTEXT;
    if (length > limit) throw fail(Alert.recordOverflow, `a record of ${length} bytes`);
  }

  /** One record; a promise when a handshake message takes time (a client certificate). */
  private record(type: number, header: Buffer, body: Buffer): Promise<void> | undefined {
    if (type === ContentType.changeCipherSpec) {
      // Middlebox compatibility (§5): one byte 0x01, dropped, only during the handshake.
      if (this.handshake.done || body.length !== 1 || body[0] !== 1) {
        throw fail(Alert.unexpectedMessage, 'an unexpected change_cipher_spec record');
      }
      return undefined;
    }
    let content = body;
    let inner = type;
    if (this.readProtection) {
      if (type !== ContentType.applicationData) {
        throw fail(Alert.unexpectedMessage, `an unprotected record of type ${type}`);
      }
      ({ type: inner, content } = this.readProtection.open(header, body));
    } else if (type === ContentType.applicationData) {
      throw fail(Alert.unexpectedMessage, 'application data before the handshake');
    }
    if (inner === ContentType.alert) return this.alert(content);
    if (inner === ContentType.handshake) return this.handshakeRecord(content);
    if (inner === ContentType.applicationData) {
      if (!this.handshake.done || this.handshakeBytes.length > 0) {
        throw fail(Alert.unexpectedMessage, 'application data inside the handshake');
      }
      if (content.length > 0) {
        this.pendingPlain.push(content);
        this.deliver();
      }
      return undefined;
    }
    throw fail(Alert.unexpectedMessage, `a protected record of type ${inner}`);
  }

  private alert(content: Buffer): undefined {
    if (content.length !== 2) throw fail(Alert.decodeError, 'a malformed alert');
    const description = content[1] as number;
    if (description === Alert.closeNotify) {
      // Whatever follows close_notify is ignored (§6.1); the end is pushed by the pump.
      this.receivedEnd = true;
      this.inbound = Buffer.alloc(0);
      return undefined;
    }
    const error = new TlsAlertError(
      description,
      true,
      `the server sent the TLS alert ${alertName(description)}`,
    );
    // The server judged the client certificate it asked for (in TLS 1.3 its verdict comes
    // after the client's Finished, often on the first read).
    error.afterCertificateRequest = this.certificateRequest !== undefined;
    error.certificateSent = this.certificateSent;
    throw error;
  }

  private async handshakeRecord(content: Buffer): Promise<void> {
    if (content.length === 0) throw fail(Alert.unexpectedMessage, 'an empty handshake record');
    this.handshakeBytes =
      this.handshakeBytes.length === 0 ? content : Buffer.concat([this.handshakeBytes, content]);
    while (this.handshakeBytes.length >= 4) {
      const length = this.handshakeBytes.readUIntBE(1, 3);
      if (length > MAX_HANDSHAKE_MESSAGE) {
        throw fail(Alert.illegalParameter, `a handshake message of ${length} bytes`);
      }
      if (this.handshakeBytes.length < 4 + length) break;
      const message = this.handshakeBytes.subarray(0, 4 + length);
      this.handshakeBytes = this.handshakeBytes.subarray(4 + length);
      const type = message[0] as number;
      const body = message.subarray(4);
      if (this.handshake.done) {
        this.postHandshake(type, body);
        continue;
      }
      // The client's flight (certificate, verify, Finished) and the application data
      // waiting for it leave in one write: a server that refuses the certificate closes
      // at once, and a later write of ours would fail (EPIPE) before its alert is read.
      this.raw.cork();
      try {
        await this.handshake.receive(type, body, message);
        if (this.handshake.done) this.connected();
      } finally {
        this.raw.uncork();
      }
    }
  }

  private connected(): void {
    this.emit('secureConnect');
    for (const write of this.waitingWrites.splice(0)) write();
  }

  /** Messages after the handshake (§4.6): tickets are ignored, key updates followed. */
  private postHandshake(type: number, body: Buffer): void {
    if (type === HandshakeType.newSessionTicket) return; // no resumption here
    if (type === HandshakeType.keyUpdate) {
      const r = new Reader(body);
      const requested = r.u8();
      r.done('KeyUpdate');
      if (requested > 1) throw fail(Alert.illegalParameter, 'a KeyUpdate with a wrong value');
      if (this.handshakeBytes.length > 0) {
        throw fail(Alert.unexpectedMessage, 'a handshake message spans a key update');
      }
      (this.readProtection as RecordProtection).update();
      if (requested === 1) {
        this.sendRecords(
          ContentType.handshake,
          handshakeMessage(HandshakeType.keyUpdate, Buffer.of(0)),
        );
        (this.writeProtection as RecordProtection).update();
      }
      return;
    }
    throw fail(Alert.unexpectedMessage, `unexpected handshake message ${type} after the handshake`);
  }

  /** Hand decrypted bytes to the reader (`onread` buffers or the readable side). */
  private deliver(): void {
    while (this.pendingPlain.length > 0 && !this.paused && !this.destroyed) {
      const piece = this.pendingPlain[0] as Buffer;
      if (this.onread) {
        const target = resolveBuffer(this.onread);
        const n = Math.min(target.length, piece.length);
        piece.copy(target, 0, 0, n);
        this.takeFront(n);
        const callback = this.onread.callback as (n: number, b: Uint8Array) => boolean | undefined;
        if (callback(n, target) === false) this.hold();
      } else {
        this.takeFront(piece.length);
        if (!this.push(piece)) this.hold();
      }
    }
  }

  private takeFront(n: number): void {
    const piece = this.pendingPlain[0] as Buffer;
    if (n >= piece.length) this.pendingPlain.shift();
    else this.pendingPlain[0] = piece.subarray(n);
  }

  private onRawEnd(): void {
    if (this.receivedEnd) return;
    this.receivedEnd = true;
    // Without close_notify the HTTP layer sees the end and judges from its framing whether
    // the response was complete (as with Node's `tls`); before the handshake is done the
    // pump finds it cannot complete.
    this.pump();
  }

  /** Fail: tell the server with an alert when the failure is this side's, then close. */
  private failWith(err: unknown): void {
    if (this.destroyed) return;
    if (err instanceof TlsAlertError && !err.received && !this.raw.destroyed) {
      try {
        this.raw.end(this.alertRecord(err.alert));
      } catch {
        // the alert is a courtesy; the error below is what matters
      }
    }
    this.destroy(err as Error);
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.failWith(err);
    }
  }
}

/** The error `node:net` gives a connection that broke: code ECONNRESET. */
function connectionReset(message = 'the TLS connection was reset'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

function plainRecord(type: number, content: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([
      type,
      LEGACY_VERSION >> 8,
      LEGACY_VERSION & 0xff,
      content.length >> 8,
      content.length & 0xff,
    ]),
    content,
  ]);
}

function resolveBuffer(onread: net.OnReadOpts): Buffer {
  const buffer = typeof onread.buffer === 'function' ? onread.buffer() : onread.buffer;
  return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Connect and complete the handshake; rejects with the handshake's error. */
export function connectTls13(options: Tls13ConnectOptions): Promise<Tls13Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Tls13Socket(options);
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
