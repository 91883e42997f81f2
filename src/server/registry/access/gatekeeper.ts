import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RegistryHttpError } from '../http-errors.js';
import type { Htpasswd } from './htpasswd.js';
import { type AccessRule, AccessRules, type Action, type Principal } from './rules.js';
import {
  type TokenIssuer,
  type TrustedIssuer,
  tokenAllows,
  type VerifiedToken,
  verifyToken,
} from './tokens.js';

/** How the registry authenticates and authorizes requests. */
export interface AccessOptions {
  /** Users and their bcrypt hashes (HTTP Basic, and the token endpoint's login). */
  htpasswd?: Htpasswd;
  /** The built-in token endpoint (`/token`): bearer challenges, tokens it signs. */
  tokens?: TokenIssuer;
  /** External token servers whose tokens are honoured (their realm is challenged). */
  trusted?: Array<TrustedIssuer & { realm: string }>;
  /** Per-repository rules (first match decides). */
  rules?: AccessRule[];
  /**
   * Anonymous pulls where no rule decides. Default: true when no authentication is
   * configured (then everything is open, as distribution without auth), else false.
   */
  anonymousPull?: boolean;
}

/** Who a request comes from, as its credentials say. */
export interface Identity extends Principal {
  /** The verified bearer token, when the request carried one. */
  token?: VerifiedToken;
}

/**
 * Authentication and authorization of registry requests: HTTP Basic against the
 * htpasswd users, bearer tokens from the built-in endpoint or a trusted external token
 * server, and per-repository rules. Without any of these, every request is allowed.
 */
export class Gatekeeper {
  readonly rules: AccessRules;
  /** Whether any authentication is configured. */
  readonly enabled: boolean;
  private readonly trusted: TrustedIssuer[];

  constructor(private readonly options: AccessOptions = {}) {
    this.enabled = Boolean(options.htpasswd || options.tokens || options.trusted?.length);
    const anonymousPull = options.anonymousPull ?? !this.enabled;
    const open = !this.enabled;
    this.rules = new AccessRules(options.rules ?? [], (principal, action) => {
      if (open || principal.user !== undefined) return true;
      return action === 'pull' && anonymousPull;
    });
    this.trusted = [
      ...(options.tokens
        ? [
            {
              issuer: options.tokens.issuer,
              service: options.tokens.service,
              key: options.tokens.publicKey,
            },
          ]
        : []),
      ...(options.trusted ?? []),
    ];
  }

  /** The built-in token endpoint's issuer, when there is one. */
  get tokens(): TokenIssuer | undefined {
    return this.options.tokens;
  }

  /** Who `req` comes from; a 401 for credentials that do not check out. */
  async identify(req: IncomingMessage): Promise<Identity> {
    const header = req.headers.authorization;
    if (!header) return {};
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic' && this.options.htpasswd) {
      // `user:password` both empty is how some clients say "no credentials".
      if (Buffer.from(value, 'base64').toString('utf8') === ':') return {};
      const user = await this.checkBasic(value);
      if (user !== undefined) return { user };
    } else if (scheme === 'bearer' && this.trusted.length > 0) {
      const token = await verifyToken(value, this.trusted);
      if (token) return { user: token.subject || undefined, token };
    }
    throw this.unauthorized(req, undefined, 'authentication failed');
  }

  /** The user whose `user:password` (base64) this is, if the password is right. */
  async checkBasic(encoded: string): Promise<string | undefined> {
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0 || !this.options.htpasswd) return undefined;
    const user = text.slice(0, colon);
    return (await this.options.htpasswd.verify(user, text.slice(colon + 1))) ? user : undefined;
  }

  /** True when `identity` may `action` repository `name`. */
  allows(identity: Identity, name: string, action: Action): boolean {
    if (identity.token) return tokenAllows(identity.token, name, action);
    return this.rules.allows(identity, name, action);
  }

  /**
   * Refuse unless `identity` may `action` `name`: 401 with a challenge for an anonymous
   * request (credentials may help), 403 `DENIED` for a user who has them.
   */
  authorize(req: IncomingMessage, identity: Identity, name: string, action: Action): void {
    if (this.allows(identity, name, action)) return;
    if (identity.user === undefined && !identity.token) {
      throw this.unauthorized(req, `repository:${name}:${scopeActions(action)}`);
    }
    throw new RegistryHttpError(403, 'DENIED', `${action} access to ${name} is denied`);
  }

  /** `/v2/` itself: open unless authentication is configured and nothing is anonymous. */
  authorizeBase(req: IncomingMessage, identity: Identity): void {
    if (!this.enabled || identity.user !== undefined || identity.token) return;
    if (this.options.anonymousPull) return;
    throw this.unauthorized(req);
  }

  /** A 401 `UNAUTHORIZED` with the challenge clients follow. */
  private unauthorized(req: IncomingMessage, scope?: string, message = 'authentication required') {
    return new RegistryHttpError(401, 'UNAUTHORIZED', message, {
      'WWW-Authenticate': this.challenge(req, scope),
    });
  }

  private challenge(req: IncomingMessage, scope?: string): string {
    const bearer = this.options.tokens
      ? { realm: `${originOf(req)}/token`, service: this.options.tokens.service }
      : this.options.trusted?.[0]
        ? { realm: this.options.trusted[0].realm, service: this.options.trusted[0].service }
        : undefined;
    if (!bearer) return 'Basic realm="ocipeek"';
    const parts = [`realm="${bearer.realm}"`, `service="${bearer.service}"`];
    if (scope) parts.push(`scope="${scope}"`);
    return `Bearer ${parts.join(',')}`;
  }
}

/** The actions a client should ask a token for, to do `action` (push implies pull). */
function scopeActions(action: Action): string {
  return action === 'push' ? 'pull,push' : action;
}

/** `scheme://host` of the request, as the client reached the server. */
export function originOf(req: IncomingMessage): string {
  const secure = Boolean((req.socket as TLSSocket).encrypted);
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
}
