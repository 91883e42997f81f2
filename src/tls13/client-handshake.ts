import { type KeyObject, randomBytes, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { clientHello, type HelloParts } from './client-hello.js';
import {
  CIPHER_SUITES,
  type CipherSuite,
  finishedData,
  KeySchedule,
  Transcript,
} from './key-schedule.js';
import { GROUPS, newKeyShare } from './key-share.js';
import { RecordProtection } from './record-protection.js';
import { verifyServerChain } from './server-chain.js';
import {
  certificateVerifyContent,
  chooseScheme,
  HANDSHAKE_SCHEMES,
  signHandshake,
  verifyHandshakeSignature,
} from './signatures.js';
import {
  Alert,
  allowOnly,
  Extension,
  fail,
  HandshakeType as H,
  HELLO_RETRY_RANDOM,
  handshakeMessage,
  LEGACY_VERSION,
  parseExtensions,
  Reader,
  TLS13,
  u16,
  vec,
} from './wire.js';

/** A server's request for a client certificate (RFC 8446 §4.3.2), as the client sees it. */
export interface CertificateRequestInfo {
  /**
   * The entries of the `certificate_authorities` extension, raw: normally DER names, but
   * whatever bytes the server put there (an RA-TLS server puts a base64 nonce).
   */
  authorities: Buffer[];
  /** The signature schemes the server accepts in CertificateVerify. */
  signatureSchemes: number[];
}

/** A client certificate chain (DER, leaf first) and the private key of its leaf. */
export interface ClientCredentials {
  chain: Uint8Array[];
  key: KeyObject;
}

/** Answers a certificate request: credentials, or undefined to send no certificate. */
export type ClientCertificateProvider = (
  request: CertificateRequestInfo,
) => Promise<ClientCredentials | undefined>;

/** What the handshake needs from the connection. */
export interface HandshakeSettings {
  /** Host name or IP address the server's certificate must be issued for. */
  host: string;
  /** SNI name (none for IP addresses). */
  serverName?: string;
  trusted: readonly X509Certificate[];
  alpn?: readonly string[];
  clientCertificate?: ClientCertificateProvider;
  now: () => Date;
}

/** How the handshake talks to the record layer. */
export interface HandshakeIo {
  /** Send handshake bytes under the current write protection (none at first). */
  send(message: Buffer): void;
  setReadProtection(protection: RecordProtection): void;
  setWriteProtection(protection: RecordProtection): void;
}

type State = 'hello' | 'extensions' | 'certificate' | 'verify' | 'finished' | 'done';

/**
 * The client side of a full TLS 1.3 handshake (RFC 8446 §2, §4) with (EC)DHE key
 * exchange: no PSK, resumption or 0-RTT, which a registry pull does not need. Fed one
 * handshake message at a time, in order; {@link receive} resolves when the message is
 * dealt with (asking for a client certificate may take a while).
 */
export class ClientHandshake {
  private state: State = 'hello';
  private readonly transcript = new Transcript();
  private readonly parts: HelloParts;
  private retried = false;
  private suite: CipherSuite | undefined;
  private schedule: KeySchedule | undefined;
  private secrets: { client: Buffer; server: Buffer } | undefined;
  private request: (CertificateRequestInfo & { context: Buffer }) | undefined;
  private serverKey: KeyObject | undefined;
  /** The ALPN protocol the server chose. */
  alpnProtocol: string | undefined;
  /** The server's certificate chain (leaf first), once checked. */
  serverCertificate: X509Certificate | undefined;

  constructor(
    private readonly settings: HandshakeSettings,
    private readonly io: HandshakeIo,
  ) {
    this.parts = {
      random: randomBytes(32),
      sessionId: Buffer.alloc(0),
      serverName: settings.serverName,
      alpn: settings.alpn,
      share: newKeyShare(GROUPS[0]),
    };
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Send the first ClientHello. */
  start(): void {
    const hello = clientHello(this.parts);
    this.transcript.add(hello);
    this.io.send(hello);
  }

  /** Handle one complete handshake message (`message` includes its 4-byte header). */
  async receive(type: number, body: Buffer, message: Buffer): Promise<void> {
    const expected: Record<State, number[]> = {
      hello: [H.serverHello],
      extensions: [H.encryptedExtensions],
      certificate: [H.certificateRequest, H.certificate],
      verify: [H.certificateVerify],
      finished: [H.finished],
      done: [],
    };
    if (!expected[this.state].includes(type)) {
      throw fail(
        Alert.unexpectedMessage,
        `unexpected handshake message ${type} in state ${this.state}`,
      );
    }
    if (type === H.serverHello) return this.serverHello(body, message);
    if (type === H.encryptedExtensions) return this.encryptedExtensions(body, message);
    if (type === H.certificateRequest) return this.certificateRequest(body, message);
    if (type === H.certificate) return this.certificate(body, message);
    if (type === H.certificateVerify) return this.certificateVerify(body, message);
    return this.finished(body, message);
  }

  private serverHello(body: Buffer, message: Buffer): void {
    const r = new Reader(body);
    const version = r.u16();
    const random = r.bytesOf(32);
    const sessionId = r.vector(1);
    const suiteId = r.u16();
    const compression = r.u8();
    const extensions = parseExtensions(r.vector(2));
    r.done('ServerHello');
    const hrr = random.equals(HELLO_RETRY_RANDOM);
    const supported = extensions.get(Extension.supportedVersions);
    if (supported?.length !== 2 || supported.readUInt16BE(0) !== TLS13) {
      throw fail(Alert.protocolVersion, 'the server does not speak TLS 1.3');
    }
    if (version !== LEGACY_VERSION || compression !== 0) {
      throw fail(Alert.illegalParameter, 'ServerHello has a wrong legacy version or compression');
    }
    if (!sessionId.equals(this.parts.sessionId)) {
      throw fail(Alert.illegalParameter, 'ServerHello does not echo the session id');
    }
    const suite = CIPHER_SUITES.find((s) => s.id === suiteId);
    if (!suite || (this.suite && this.suite !== suite)) {
      throw fail(Alert.illegalParameter, `the server chose cipher suite 0x${suiteId.toString(16)}`);
    }
    const keyShare = extensions.get(Extension.keyShare);
    if (!keyShare) throw fail(Alert.missingExtension, 'ServerHello has no key share');
    if (hrr) {
      this.helloRetry(suite, extensions, keyShare, message);
      return;
    }
    allowOnly(extensions, [Extension.supportedVersions, Extension.keyShare], 'ServerHello');
    const share = new Reader(keyShare);
    const group = share.u16();
    const value = share.vector(2);
    share.done('key_share');
    if (group !== this.parts.share.group) {
      throw fail(Alert.illegalParameter, `the server answered with a share of group ${group}`);
    }
    this.suite = suite;
    this.transcript.start(suite);
    this.transcript.add(message);
    this.schedule = new KeySchedule(suite);
    this.secrets = this.schedule.handshakeSecrets(
      this.parts.share.agree(value),
      this.transcript.current(),
    );
    this.io.setReadProtection(new RecordProtection(suite, this.secrets.server));
    this.state = 'extensions';
  }

  /** HelloRetryRequest (§4.1.4): one more ClientHello with the share (and cookie) asked for. */
  private helloRetry(
    suite: CipherSuite,
    extensions: Map<number, Buffer>,
    keyShare: Buffer,
    message: Buffer,
  ): void {
    if (this.retried) throw fail(Alert.unexpectedMessage, 'a second HelloRetryRequest');
    this.retried = true;
    allowOnly(
      extensions,
      [Extension.supportedVersions, Extension.keyShare, Extension.cookie],
      'HelloRetryRequest',
    );
    if (keyShare.length !== 2) throw fail(Alert.decodeError, 'HelloRetryRequest key_share');
    const group = keyShare.readUInt16BE(0);
    if (!(GROUPS as readonly number[]).includes(group) || group === this.parts.share.group) {
      throw fail(Alert.illegalParameter, `HelloRetryRequest asks for group ${group}`);
    }
    const cookie = extensions.get(Extension.cookie);
    this.suite = suite;
    this.transcript.replaceWithMessageHash(suite);
    this.transcript.add(message);
    this.parts.share = newKeyShare(group);
    this.parts.cookie = cookie ? new Reader(cookie).vector(2) : undefined;
    const hello = clientHello(this.parts);
    this.transcript.add(hello);
    this.io.send(hello);
  }

  private encryptedExtensions(body: Buffer, message: Buffer): void {
    const r = new Reader(body);
    const extensions = parseExtensions(r.vector(2));
    r.done('EncryptedExtensions');
    allowOnly(
      extensions,
      [Extension.serverName, Extension.supportedGroups, Extension.alpn],
      'EncryptedExtensions',
    );
    const alpn = extensions.get(Extension.alpn);
    if (alpn) {
      const list = new Reader(alpn);
      const names = new Reader(list.vector(2));
      const chosen = names.vector(1).toString('ascii');
      names.done('ALPN');
      list.done('ALPN');
      if (!this.settings.alpn?.includes(chosen)) {
        throw fail(Alert.illegalParameter, `the server chose protocol ${chosen}`);
      }
      this.alpnProtocol = chosen;
    }
    this.transcript.add(message);
    this.state = 'certificate';
  }

  private certificateRequest(body: Buffer, message: Buffer): void {
    if (this.request) throw fail(Alert.unexpectedMessage, 'a second CertificateRequest');
    const r = new Reader(body);
    const context = r.vector(1);
    const extensions = parseExtensions(r.vector(2));
    r.done('CertificateRequest');
    const algorithms = extensions.get(Extension.signatureAlgorithms);
    if (!algorithms)
      throw fail(Alert.missingExtension, 'CertificateRequest has no signature_algorithms');
    const schemes = new Reader(algorithms);
    const list = new Reader(schemes.vector(2));
    schemes.done('signature_algorithms');
    const signatureSchemes: number[] = [];
    while (list.left > 0) signatureSchemes.push(list.u16());
    const authorities: Buffer[] = [];
    const cas = extensions.get(Extension.certificateAuthorities);
    if (cas) {
      const outer = new Reader(cas);
      const entries = new Reader(outer.vector(2));
      outer.done('certificate_authorities');
      while (entries.left > 0) {
        const entry = entries.vector(2);
        if (entry.length === 0) throw fail(Alert.decodeError, 'an empty certificate authority');
        authorities.push(Buffer.from(entry));
      }
    }
    this.request = { context: Buffer.from(context), authorities, signatureSchemes };
    this.transcript.add(message);
    this.state = 'certificate';
  }

  private certificate(body: Buffer, message: Buffer): void {
    const r = new Reader(body);
    const context = r.vector(1);
    const list = new Reader(r.vector(3));
    r.done('Certificate');
    if (context.length !== 0)
      throw fail(Alert.illegalParameter, 'server Certificate has a context');
    const chain: Buffer[] = [];
    while (list.left > 0) {
      chain.push(list.vector(3));
      list.vector(2); // per-certificate extensions (OCSP, SCT): not requested, not used
    }
    const leaf = verifyServerChain(chain, {
      trusted: this.settings.trusted,
      host: this.settings.host,
      now: this.settings.now(),
    });
    this.serverCertificate = leaf;
    this.serverKey = leaf.publicKey;
    this.transcript.add(message);
    this.state = 'verify';
  }

  private certificateVerify(body: Buffer, message: Buffer): void {
    const r = new Reader(body);
    const scheme = r.u16();
    const signature = r.vector(2);
    r.done('CertificateVerify');
    if (!HANDSHAKE_SCHEMES.includes(scheme as never)) {
      throw fail(Alert.illegalParameter, `the server signed with scheme 0x${scheme.toString(16)}`);
    }
    const content = certificateVerifyContent(true, this.transcript.current());
    verifyHandshakeSignature(scheme, this.serverKey as KeyObject, content, signature);
    this.transcript.add(message);
    this.state = 'finished';
  }

  private async finished(body: Buffer, message: Buffer): Promise<void> {
    const suite = this.suite as CipherSuite;
    const secrets = this.secrets as { client: Buffer; server: Buffer };
    const expected = finishedData(suite, secrets.server, this.transcript.current());
    if (body.length !== expected.length || !timingSafeEqual(body, expected)) {
      throw fail(Alert.decryptError, 'the server Finished message is wrong');
    }
    this.transcript.add(message);
    const application = (this.schedule as KeySchedule).applicationSecrets(
      this.transcript.current(),
    );
    this.io.setReadProtection(new RecordProtection(suite, application.server));
    this.io.setWriteProtection(new RecordProtection(suite, secrets.client));
    if (this.request) await this.sendClientCertificate(this.request);
    const finished = handshakeMessage(
      H.finished,
      finishedData(suite, secrets.client, this.transcript.current()),
    );
    this.transcript.add(finished);
    this.io.send(finished);
    this.io.setWriteProtection(new RecordProtection(suite, application.client));
    this.state = 'done';
  }

  /** Certificate and CertificateVerify of the client (§4.4.2-4.4.3), or an empty Certificate. */
  private async sendClientCertificate(
    request: CertificateRequestInfo & { context: Buffer },
  ): Promise<void> {
    const { context, authorities, signatureSchemes } = request;
    const credentials = await this.settings.clientCertificate?.({ authorities, signatureSchemes });
    const entries = (credentials?.chain ?? []).map((der) => Buffer.concat([vec(3, der), vec(2)]));
    const certificate = handshakeMessage(H.certificate, vec(1, context), vec(3, ...entries));
    this.transcript.add(certificate);
    this.io.send(certificate);
    if (!credentials || credentials.chain.length === 0) return;
    const scheme = chooseScheme(credentials.key, signatureSchemes);
    const content = certificateVerifyContent(false, this.transcript.current());
    const verify = handshakeMessage(
      H.certificateVerify,
      u16(scheme),
      vec(2, signHandshake(scheme, credentials.key, content)),
    );
    this.transcript.add(verify);
    this.io.send(verify);
  }
}
