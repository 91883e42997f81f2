import { NetworkError, RegistryError, UnauthorizedError } from '../errors/index.js';
import { basicAuthorization, type Credentials } from './credentials.js';

/** A request to a token server, as {@link TokenFetcher} receives it. */
export interface TokenRequestInit {
  /** `GET` (the default) or `POST` for the OAuth2 refresh-token form. */
  method?: 'GET' | 'POST';
  /** Headers to send; may hold `Authorization`, so never log them unredacted. */
  headers: Record<string, string>;
  /** The url-encoded form body of a `POST`. */
  body?: string;
  /** Abort the request. */
  signal?: AbortSignal;
}

/** A token server's answer, body read in full (the fetcher should cap its size). */
export interface TokenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request to a token server. The HTTP transport supplies this so token requests
 * share its TLS settings, proxy and user agent; {@link globalFetchTokenFetcher} is a plain
 * default.
 */
export type TokenFetcher = (url: URL, init: TokenRequestInit) => Promise<TokenResponse>;

/** What {@link requestBearerToken} needs to know. */
export interface BearerTokenRequest {
  /** The registry the token is for, for error messages. */
  registry: string;
  /** The challenge's `realm`: the token endpoint. */
  realm: string;
  /** The challenge's `service`, when given. */
  service?: string;
  /** Scopes to ask for, each sent as its own `scope` parameter. */
  scopes: string[];
  /** Credentials to present; anonymous when undefined. */
  credentials?: Credentials;
  /** OAuth2 `client_id` for the refresh-token form. */
  clientId: string;
  /** Sends the request. */
  fetchToken: TokenFetcher;
  /** The current time in ms (the authenticator's clock). */
  now: number;
  /** Abort the request. */
  signal?: AbortSignal;
}

/** A token and when to stop using it. */
export interface BearerToken {
  token: string;
  /** In the same clock as `now`; already moved a few seconds early. */
  expiresAt: number;
}

/** docker's lifetime for a token whose response gives none. */
export const DEFAULT_TOKEN_LIFETIME_S = 60;
const EARLY_EXPIRY_MS = 5_000;
const MAX_TOKEN_BODY = 1024 * 1024;

interface TokenBody {
  token?: unknown;
  access_token?: unknown;
  expires_in?: unknown;
  issued_at?: unknown;
  details?: unknown;
  error_description?: unknown;
  error?: unknown;
  errors?: Array<{ message?: unknown }>;
}

function parseBody(text: string): TokenBody | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as TokenBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The token server's own explanation, short, with any secret we sent cut out. */
function serverDetail(body: TokenBody | undefined, credentials?: Credentials): string {
  const raw = body?.details ?? body?.error_description ?? body?.errors?.[0]?.message ?? body?.error;
  if (typeof raw !== 'string' || !raw.trim()) return '';
  let text = raw.trim().slice(0, 200);
  for (const secret of [credentials?.password, credentials?.identityToken]) {
    if (secret && secret.length >= 3) text = text.split(secret).join('<redacted>');
  }
  return `: ${text}`;
}

function tokenExpiry(body: TokenBody, now: number): number {
  const lifetimeS =
    typeof body.expires_in === 'number' && body.expires_in > 0
      ? body.expires_in
      : DEFAULT_TOKEN_LIFETIME_S;
  const lifetime = lifetimeS * 1000;
  // issued_at lets a cached token from the server count its age, but a server clock ahead of
  // ours must not stretch the lifetime.
  const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : Number.NaN;
  const start = Number.isFinite(issued) && issued <= now ? Math.max(issued, now - lifetime) : now;
  return start + lifetime - Math.min(EARLY_EXPIRY_MS, lifetime / 2);
}

function refreshForm(req: BearerTokenRequest, refreshToken: string): string {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (req.service) form.set('service', req.service);
  if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '));
  form.set('client_id', req.clientId);
  return form.toString();
}

function getUrl(realm: URL, req: BearerTokenRequest): URL {
  const url = new URL(realm);
  if (req.service) url.searchParams.append('service', req.service);
  for (const scope of req.scopes) url.searchParams.append('scope', scope);
  if (req.credentials?.username) url.searchParams.append('account', req.credentials.username);
  return url;
}

/**
 * Obtain a bearer token from a `Bearer` challenge's realm (the distribution token protocol).
 * With an identity token it uses the OAuth2 refresh-token `POST` form, falling back to `GET`
 * when the server has no OAuth2 endpoint (404), as docker does; otherwise a `GET` with
 * `service`, repeated `scope` parameters and Basic auth when a user name is known.
 *
 * Throws {@link UnauthorizedError} when the server refuses (4xx) and {@link RegistryError}
 * when it fails (5xx) or answers without a token. Messages never hold a secret.
 */
export async function requestBearerToken(req: BearerTokenRequest): Promise<BearerToken> {
  let realm: URL;
  try {
    realm = new URL(req.realm);
  } catch {
    throw new UnauthorizedError(`${req.registry} named an invalid token realm`);
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new UnauthorizedError(`${req.registry} named a token realm that is not http(s)`);
  }
  const creds = req.credentials;
  const accept = { Accept: 'application/json' };
  let res: TokenResponse | undefined;
  if (creds?.identityToken) {
    res = await req.fetchToken(realm, {
      method: 'POST',
      headers: { ...accept, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: refreshForm(req, creds.identityToken),
      signal: req.signal,
    });
    if (res.status === 404) res = undefined;
  }
  if (!res) {
    const basic = basicAuthorization(creds);
    res = await req.fetchToken(getUrl(realm, req), {
      method: 'GET',
      headers: basic ? { ...accept, Authorization: basic } : accept,
      signal: req.signal,
    });
  }
  const body = parseBody(res.body);
  const where = `token server ${realm.host} for ${req.registry}`;
  if (res.status < 200 || res.status >= 300) {
    const what =
      creds && (creds.username || creds.identityToken) ? 'the credentials' : 'anonymous access';
    const msg = `${where} refused ${what} (HTTP ${res.status})${serverDetail(body, creds)}`;
    if (res.status >= 500) throw new RegistryError(msg, res.status);
    throw new UnauthorizedError(msg, res.status);
  }
  const token = body?.token ?? body?.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new RegistryError(`${where} answered without a token`, res.status);
  }
  return { token, expiresAt: tokenExpiry(body!, req.now) };
}

/**
 * A {@link TokenFetcher} over the global `fetch` (undici), reading at most 1 MiB of body.
 * Network failures become {@link NetworkError}; an abort rethrows the abort reason.
 */
export const globalFetchTokenFetcher: TokenFetcher = async (url, init) => {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      redirect: 'follow',
    });
  } catch (err) {
    init.signal?.throwIfAborted();
    throw new NetworkError(`cannot reach token server ${url.host}`, { cause: err });
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_TOKEN_BODY) {
        throw new RegistryError(`token server ${url.host} sent more than 1 MiB`, res.status);
      }
      chunks.push(chunk);
    }
  }
  return { status: res.status, headers, body: Buffer.concat(chunks).toString('utf8') };
};
