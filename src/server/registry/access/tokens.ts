import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  X509Certificate,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { InvalidArgumentError } from '../../../errors/index.js';
import type { Action } from './rules.js';

/** One grant of a token: the Docker token format's `access` entries. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** What a verified token says. */
export interface VerifiedToken {
  /** The user it was issued to (`sub`); empty for an anonymous token. */
  subject: string;
  access: TokenAccess[];
}

/** Options of {@link TokenIssuer.create}. */
export interface TokenIssuerOptions {
  /** `iss` of the tokens. */
  issuer: string;
  /** `aud`: the service name clients pass to the token endpoint. */
  service: string;
  /**
   * PEM private key (EC P-256) that signs the tokens. Without one, a key is made when the
   * server starts: tokens then die with the process, and instances on one bucket need a
   * shared key file to honour each other's tokens.
   */
  keyFile?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

/**
 * Signs Docker registry tokens: ES256 JWTs with the repository grants in `access`,
 * verified by the same server (and by any registry given the public key).
 */
export class TokenIssuer {
  private constructor(
    private readonly options: TokenIssuerOptions,
    private readonly privateKey: KeyObject,
    /** The public key, for verifying what this issuer signed. */
    readonly publicKey: KeyObject,
    /** `kid` of the key (a hash of the public key), put in each token's header. */
    readonly keyId: string,
  ) {}

  static async create(options: TokenIssuerOptions): Promise<TokenIssuer> {
    let privateKey: KeyObject;
    let publicKey: KeyObject;
    if (options.keyFile) {
      const pem = await readFile(options.keyFile, 'utf8').catch((err: unknown) => {
        throw new InvalidArgumentError(
          `cannot read token key ${options.keyFile}: ${(err as Error).message}`,
        );
      });
      privateKey = createPrivateKey(pem);
      if (
        privateKey.asymmetricKeyType !== 'ec' ||
        privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
      ) {
        throw new InvalidArgumentError(
          `token key ${options.keyFile} must be an EC P-256 private key (ES256)`,
        );
      }
      publicKey = createPublicKey(privateKey);
    } else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      privateKey = pair.privateKey;
      publicKey = pair.publicKey;
    }
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const keyId = createHash('sha256').update(der).digest('hex').slice(0, 32);
    return new TokenIssuer(options, privateKey, publicKey, keyId);
  }

  get service(): string {
    return this.options.service;
  }

  get issuer(): string {
    return this.options.issuer;
  }

  /** Lifetime of a token in seconds. */
  get expiresIn(): number {
    return this.options.expiresIn ?? 300;
  }

  /** Sign a token for `subject` (empty: anonymous) granting `access`. */
  sign(subject: string, access: TokenAccess[]): Promise<string> {
    return new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', kid: this.keyId, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject)
      .setIssuedAt()
      .setNotBefore('-10s')
      .setExpirationTime(`${this.expiresIn}s`)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }
}

/** A key tokens may be signed with, and the issuer and service they must name. */
export interface TrustedIssuer {
  issuer: string;
  service: string;
  key: KeyObject;
}

/** Read a PEM public key or certificate (an external token server's). */
export async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new InvalidArgumentError(`cannot read token key ${path}: ${(err as Error).message}`);
  });
  return pem.includes('CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

/**
 * Verifies bearer tokens against the trusted issuers (the built-in one and any external
 * token server configured): signature, `iss`, `aud`, `exp` and `nbf` (30 s of skew).
 * Returns `undefined` for anything that does not check out.
 */
export async function verifyToken(
  token: string,
  trusted: TrustedIssuer[],
): Promise<VerifiedToken | undefined> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    return undefined;
  }
  if (!alg || alg === 'none') return undefined;
  for (const t of trusted) {
    try {
      const { payload } = await jwtVerify(token, t.key, {
        issuer: t.issuer,
        audience: t.service,
        clockTolerance: 30,
      });
      const access = Array.isArray(payload.access) ? (payload.access as TokenAccess[]) : [];
      return { subject: payload.sub ?? '', access };
    } catch {
      // Not this issuer's (or bad): try the next.
    }
  }
  return undefined;
}

/** True when `token` grants `action` on repository `name`. */
export function tokenAllows(token: VerifiedToken, name: string, action: Action | '*'): boolean {
  return token.access.some(
    (a) =>
      a.type === 'repository' &&
      a.name === name &&
      (a.actions.includes(action) || a.actions.includes('*')),
  );
}
