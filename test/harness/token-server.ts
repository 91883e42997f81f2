import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

/** A username and password the token server (or htpasswd file) accepts. */
export interface TestUser {
  username: string;
  password: string;
}

/** How the JWT names the key that signed it. */
export type TokenKeyMode = 'x5c' | 'kid';

/** Options for {@link startTokenServer}. */
export interface TokenServerOptions {
  /** `iss` claim; must equal the registry's `auth.token.issuer`. */
  issuer: string;
  /** `aud` claim; must equal the registry's `auth.token.service`. */
  service: string;
  /** PEM private key (EC P-256) that signs the tokens. */
  signingKeyPem: string;
  /** PEM certificate of that key (the registry's `rootcertbundle`). */
  signingCertPem: string;
  /** Accounts accepted through HTTP Basic auth (GET) or the password grant (POST). */
  users: TestUser[];
  /** Anonymous callers get `pull` (only) instead of a 401. Default false. */
  allowAnonymousPull?: boolean;
  /** Token lifetime in seconds (`expires_in`). Default 300. */
  expiresIn?: number;
  /**
   * Seconds from issuance to the JWT's `exp` claim, when it should differ from `expiresIn`.
   * distribution 2.8 allows 60 s of clock skew, so a short `expiresIn` does not make the
   * registry refuse the token soon; a value below -60 yields tokens it refuses at once
   * while the client is told they are fresh.
   */
  claimLifetime?: number;
  /**
   * `x5c` (default) puts the signing certificate chain in the JWT header; `kid` puts the
   * libtrust key ID of the signing key there instead. distribution 2.8 accepts both.
   */
  keyMode?: TokenKeyMode;
}

/** One scope a client asked for, and what it was granted. */
export interface TokenGrant {
  type: string;
  name: string;
  actions: string[];
}

/** One request the token server answered. */
export interface TokenRequestRecord {
  method: string;
  url: string;
  /** The `Authorization` header as received, if any. */
  authorization?: string;
  /** Authenticated user, or undefined for anonymous. */
  user?: string;
  /** The scopes requested, as strings. */
  scopes: string[];
  /** HTTP status answered. */
  status: number;
  /** What the issued token grants (empty when refused). */
  granted: TokenGrant[];
}

/** A running Docker token server (see {@link startTokenServer}). */
export interface TokenServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The realm to configure in the registry: `${url}/token`. */
  realm: string;
  /** The service name tokens are issued for. */
  service: string;
  /** The issuer tokens carry. */
  issuer: string;
  /** Number of token requests answered so far (any status). */
  readonly requests: number;
  /** The `Authorization` header of the last request (undefined when it had none). */
  readonly lastAuthorization: string | undefined;
  /** Every request answered, oldest first. */
  readonly log: readonly TokenRequestRecord[];
  /** Token lifetime in seconds; may be changed between requests (e.g. to 1 for expiry tests). */
  expiresIn: number;
  /** See {@link TokenServerOptions.claimLifetime}; may be changed between requests. */
  claimLifetime: number | undefined;
  /** Whether anonymous callers get pull tokens; may be changed between requests. */
  allowAnonymousPull: boolean;
  /** Forget the counters and the log. */
  resetCounters(): void;
  /** Sign a token directly (no HTTP), e.g. to build an expired or foreign token. */
  issue(
    sub: string,
    access: TokenGrant[],
    options?: { expiresIn?: number; notBefore?: number },
  ): Promise<string>;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/**
 * The libtrust key ID of a public key, as docker/libtrust computes it: the first 240 bits
 * of SHA-256 over the DER SubjectPublicKeyInfo, base32 without padding, in 12 groups of 4.
 */
export function libtrustKeyId(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const hash = createHash('sha256').update(spki).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let b32 = '';
  for (let i = 0; i < bits.length; i += 5)
    b32 += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return b32.match(/.{4}/g)!.join(':');
}

/** Split `repository:library/alpine:pull,push` into its parts (names may contain ':'). */
function parseScope(scope: string): TokenGrant | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function parseBasic(header: string | undefined): TestUser | undefined {
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Start a Docker registry token server (the `realm` of `auth.token`) on 127.0.0.1.
 *
 * Implements `GET /token?service=S&scope=T:N:A&scope=...` with optional Basic auth, and the
 * OAuth2 form `POST /token` (`grant_type=password`), answering
 * `{token, access_token, expires_in, issued_at}`. Tokens are ES256 JWTs whose `access`
 * claim grants authenticated users every action they asked for (including
 * `registry:catalog:*`) and anonymous users only `pull`, and only when allowed.
 *
 * @example
 * const ts = await startTokenServer({ issuer: 'test', service: 'reg', users,
 *   signingKeyPem: certs.jwt.key.pem, signingCertPem: certs.jwt.cert.pem });
 * // ... ts.requests counts token fetches; await ts.close();
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(options.signingKeyPem);
  const certDer = new X509Certificate(options.signingCertPem).raw.toString('base64');
  const keyId = libtrustKeyId(options.signingCertPem);
  const keyMode = options.keyMode ?? 'x5c';
  const log: TokenRequestRecord[] = [];
  let lastAuthorization: string | undefined;

  async function issue(
    sub: string,
    access: TokenGrant[],
    opts: { expiresIn?: number; notBefore?: number } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + (opts.expiresIn ?? server.claimLifetime ?? server.expiresIn);
    const header =
      keyMode === 'kid'
        ? { alg: 'ES256', typ: 'JWT', kid: keyId }
        : { alg: 'ES256', typ: 'JWT', x5c: [certDer] };
    return new SignJWT({ access })
      .setProtectedHeader(header)
      .setIssuer(options.issuer)
      .setSubject(sub)
      .setAudience(options.service)
      .setIssuedAt(now)
      .setNotBefore(opts.notBefore ?? Math.min(now, exp - 1))
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
  }

  function authenticate(user: TestUser | undefined): 'anonymous' | 'bad' | string {
    if (user === undefined) return 'anonymous';
    const ok = options.users.some(
      (u) => u.username === user.username && u.password === user.password,
    );
    return ok ? user.username : 'bad';
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    lastAuthorization = req.headers.authorization;
    const record: TokenRequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      authorization: req.headers.authorization,
      scopes: [],
      status: 0,
      granted: [],
    };
    log.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };

    if (url.pathname !== '/token') return answer(404, { error: 'not found' });
    let credentials = parseBasic(req.headers.authorization);
    let scopes = url.searchParams.getAll('scope');
    let service = url.searchParams.get('service');
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      if (form.get('grant_type') === 'password') {
        credentials = {
          username: form.get('username') ?? '',
          password: form.get('password') ?? '',
        };
      }
      scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
      service = form.get('service');
    } else if (req.method !== 'GET') {
      return answer(405, { error: 'method not allowed' });
    }
    record.scopes = scopes.flatMap((s) => s.split(' ')).filter((s) => s !== '');
    if (service !== null && service !== options.service) {
      return answer(400, { error: 'invalid_request', details: `unknown service ${service}` });
    }

    const who = authenticate(credentials);
    if (who === 'bad' || (who === 'anonymous' && !server.allowAnonymousPull)) {
      return answer(
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        {
          'www-authenticate': 'Basic realm="ocipeek test token server"',
        },
      );
    }
    const granted: TokenGrant[] = [];
    for (const scope of record.scopes) {
      const wanted = parseScope(scope);
      if (wanted === undefined) continue;
      const actions =
        who === 'anonymous' ? wanted.actions.filter((a) => a === 'pull') : wanted.actions;
      if (actions.length > 0) granted.push({ ...wanted, actions });
    }
    record.user = who === 'anonymous' ? undefined : who;
    record.granted = granted;
    const token = await issue(record.user ?? '', granted);
    answer(200, {
      token,
      access_token: token,
      expires_in: server.expiresIn,
      issued_at: new Date().toISOString(),
    });
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const server: TokenServer = {
    url,
    realm: `${url}/token`,
    service: options.service,
    issuer: options.issuer,
    get requests() {
      return log.length;
    },
    get lastAuthorization() {
      return lastAuthorization;
    },
    log,
    expiresIn: options.expiresIn ?? 300,
    claimLifetime: options.claimLifetime,
    allowAnonymousPull: options.allowAnonymousPull ?? false,
    resetCounters() {
      log.length = 0;
      lastAuthorization = undefined;
    },
    issue,
    close() {
      return new Promise((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
  return server;
}
