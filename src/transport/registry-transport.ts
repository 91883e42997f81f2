import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import {
  type AuthChallenge,
  Authenticator,
  type CredentialSource,
  parseWwwAuthenticate,
  redactHeaders,
  redactUrl,
} from '../auth/index.js';
import { InvalidArgumentError, NetworkError, UnauthorizedError } from '../errors/index.js';
import { registryApiHost } from '../ref/index.js';
import { discardBody, HttpPool, type HttpResponse } from './http-client.js';
import type { SecureConnect } from './http1-connection.js';
import {
  isAbort,
  isHeadersTimeout,
  isRetryableNetworkError,
  toNetworkError,
} from './network-errors.js';
import { bodyOf, readCapped } from './read-capped.js';
import {
  backoffDelay,
  isRepeatedRegistryError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  sleep,
} from './retry.js';
import { type Scheme, SchemeChoice } from './scheme-choice.js';
import { readPem, type TlsOptions, tlsAgentOptions } from './tls.js';
import { TransferStats } from './transfer-stats.js';

/**
 * How registries are spoken to: `no-tls` plain HTTP, `tls` HTTPS, `ra-tls` HTTPS with an
 * attested client (RA-TLS: a CCA token in the client certificate, `tls.tokenProvider`).
 * Without a mode: HTTPS, and loopback registries find their scheme by themselves.
 */
export type ConnectionMode = 'no-tls' | 'tls' | 'ra-tls';

/** Settings shared by every request a transport sends. */
export interface TransportOptions {
  /** The connection mode; see {@link ConnectionMode}. */
  mode?: ConnectionMode;
  /** TLS trust and client certificates. */
  tls?: TlsOptions;
  /** Speak plain HTTP to every registry (loopback registries find their scheme by themselves). */
  plainHttp?: boolean;
  /**
   * Retry policy for network errors, 429 and 5xx. Refused connections, unknown hosts, TLS
   * failures and answers that are not HTTP fail at once; a response-header timeout is
   * retried at most once.
   */
  retry?: RetryOptions;
  /** Connect and response-header timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** How long a response body may stall, in milliseconds (default 60 s). */
  bodyTimeoutMs?: number;
  /** `User-Agent` header. */
  userAgent?: string;
  /** Where credentials come from (auth files, helpers, explicit ones). */
  keychain?: CredentialSource;
  /** Receives one line per request and response, secrets redacted (`--verbose`). */
  log?: (line: string) => void;
  /** Counters to add to; a fresh one is made when omitted. */
  stats?: TransferStats;
  /**
   * Send nothing: every request fails at once with a `NetworkError` saying the registry
   * is not contacted (the CLI's `--offline`, for commands that only a registry can answer).
   */
  offline?: boolean;
  /** Which registries may be asked at all, and which are insecure (registries.conf). */
  access?: RegistryAccess;
}

/**
 * Per-registry rules every request obeys (registries.conf's `blocked` and `insecure`,
 * `containers-conf/`), asked by the transport so that no request gets around them.
 */
export interface RegistryAccess {
  /** Throw when requests for `repository` of `registry` are not allowed (blocked). */
  checkAllowed(registry: string, repository: string | undefined): void;
  /** Certificates of `registry` are not verified and plain HTTP is allowed. */
  isInsecure(registry: string): boolean;
}

/** One request to a registry's API. */
export interface RegistryRequest {
  /** The registry as written in references (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository the request is about (for credential lookup). */
  repository?: string;
  /** The token scope (`repository:NAME:pull`, `registry:catalog:*`). */
  scope: string;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path starting with `/v2/`, or an absolute URL (upload locations, `Link` pages). */
  path: string;
  headers?: Record<string, string>;
  /** A buffer can be re-sent on retry; a stream cannot, so it is sent once. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

/** A registry's response, body not yet read. */
export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** The URL that finally answered (after redirects). */
  url: URL;
}

const MAX_REDIRECTS = 5;
const TOKEN_BODY_LIMIT = 1024 * 1024;
/** Error bodies are small; a longer one is not compared, only discarded. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** First value of a header that may repeat. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The request chain every registry call goes through: scheme choice (HTTPS, with plain
 * HTTP only for loopback or when told; {@link SchemeChoice}), bearer/basic auth on 401
 * (re-authenticating once), bounded retries with backoff honouring `Retry-After`, redirects that never carry
 * credentials to another origin, timeouts, abort signals, stats and redacted logging.
 */
export class RegistryTransport {
  readonly stats: TransferStats;
  readonly authenticator: Authenticator;
  private readonly pool: HttpPool;
  private readonly schemes: SchemeChoice;
  /** `ra-tls`: the connector, loaded before the first request (`raTlsLoaded`). */
  private raTls: SecureConnect | undefined;
  private raTlsLoaded: Promise<void> | undefined;
  private readonly apiStatuses = new Map<string, number>();

  constructor(private readonly options: TransportOptions = {}) {
    this.stats = options.stats ?? new TransferStats();
    const mode = options.mode;
    const access = options.access;
    // Plain HTTP in a mode that speaks HTTPS would be a silent downgrade: refuse it.
    if (options.plainHttp && (mode === 'tls' || mode === 'ra-tls')) {
      throw new InvalidArgumentError(
        `plain HTTP (--plain-http) contradicts the connection mode ${mode}, which speaks HTTPS only`,
      );
    }
    this.schemes = new SchemeChoice(
      options.plainHttp || mode === 'no-tls',
      mode === 'tls' || mode === 'ra-tls',
      access && ((r) => access.isInsecure(r)),
    );
    if (mode === 'ra-tls') this.raTlsLoaded = this.loadRaTls(options.tls ?? {});
    this.pool = new HttpPool({
      tls: tlsAgentOptions(options.tls ?? {}),
      skipVerify: access && ((host) => access.isInsecure(host)),
      timeoutMs: options.timeoutMs ?? 30_000,
      bodyTimeoutMs: options.bodyTimeoutMs ?? 60_000,
      connect:
        mode === 'ra-tls'
          ? (target, onread) => (this.raTls as SecureConnect)(target, onread)
          : undefined,
    });
    this.authenticator = new Authenticator({
      keychain: options.keychain,
      fetchToken: async (url, init) => {
        const body = init.body === undefined ? undefined : Buffer.from(init.body);
        const res = await this.raw(init.method ?? 'GET', url, init.headers, body, init.signal);
        const text = (await readCapped(res.body, TOKEN_BODY_LIMIT, 'token response')).toString(
          'utf8',
        );
        return { status: res.statusCode, headers: res.headers, body: text };
      },
    });
  }

  /**
   * RA-TLS lives in its own modules (`ratls/`, `tls13/`), loaded only in that mode. The
   * token provider is required and the root CA file read now, so that mistakes are
   * reported before any request.
   */
  private loadRaTls(tls: TlsOptions): Promise<void> {
    const tokens = tls.tokenProvider;
    if (!tokens) throw new InvalidArgumentError('ra-tls needs a token (--token FILE)');
    const rootCaPem = tls.rootCaFile ? readPem(tls.rootCaFile, 'root CA file') : undefined;
    const loaded = import('../ratls/ra-tls-connect.js').then((m) => {
      this.raTls = m.raTlsConnect({ rootCaPem, tokens });
    });
    loaded.catch(() => {}); // reported by the first request that awaits it
    return loaded;
  }

  /** Close pooled connections. */
  async close(): Promise<void> {
    this.pool.close();
  }

  /** {@link RegistryTransport.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Speak `scheme` to `registry` from now on, and nothing else: for a registry given as a
   * URL (`--upstream http://reg.example:5000`), whose scheme is the user's word, not
   * found out (see {@link SchemeChoice}). Throws `InvalidArgumentError` for `http` in an
   * HTTPS-only mode, or when the registry was already given the other scheme.
   */
  useScheme(registry: string, scheme: 'http' | 'https'): void {
    this.schemes.fix(registry, scheme);
  }

  /** The base URL (`https://host`) used for a registry right now. */
  baseUrl(registry: string): string {
    return this.baseUrlFor(registry, this.schemes.current(registry));
  }

  private baseUrlFor(registry: string, scheme: Scheme): string {
    return `${scheme}://${registryApiHost(registry)}`;
  }

  /** Send a request through the whole chain; the caller reads or discards the body. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    this.refuseWhenOffline(req.registry);
    const retries = this.options.retry?.retries ?? 4;
    const replayable = !(req.body && typeof (req.body as Readable).pipe === 'function');
    this.options.access?.checkAllowed(req.registry, req.repository);
    let reauthenticated = false;
    /** The last attempt carried Basic credentials the authenticator chose for a challenge. */
    let sentBasic = false;
    let schemeSwitches = 0;
    let lastError: Buffer | undefined;
    // A body that cannot be sent twice must not be the request that finds the scheme out.
    if (!replayable && this.schemes.probing(req.registry)) await this.ping(req);
    for (let attempt = 0; ; attempt++) {
      const scheme = this.schemes.current(req.registry);
      let res: RegistryResponse;
      try {
        res = await this.sendOnce(req, scheme);
      } catch (err) {
        if (isAbort(err, req.signal)) throw err;
        const next = this.schemes.decide(req.registry, scheme, { error: err });
        if (next && replayable && schemeSwitches++ < 2) {
          this.stats.requests--; // no HTTP exchange took place
          this.log(`* ${req.registry}: ${scheme} failed, trying ${next}`);
          attempt--;
          continue;
        }
        const wrapped = toNetworkError(err, registryApiHost(req.registry));
        // A server that took the connection and then sat on it for the whole timeout
        // rarely answers the next time: one more try (a lost packet, a restart), not four.
        const limit = isHeadersTimeout(err) ? Math.min(retries, 1) : retries;
        if (attempt < limit && replayable && isRetryableNetworkError(wrapped)) {
          await sleep(backoffDelay(attempt, this.options.retry), req.signal);
          continue;
        }
        throw wrapped;
      }
      const next = this.schemes.decide(req.registry, scheme, { status: res.status });
      if (next && replayable && schemeSwitches++ < 2) {
        await discardBody(res.body);
        this.log(`* ${req.registry}: ${res.status} over ${scheme}, trying ${next}`);
        attempt--;
        continue;
      }
      if (res.status === 401 && sentBasic) {
        // Basic credentials are the whole decision: a 401 to them is a wrong user name or
        // password, not a missing login (the registry's own body says "authentication
        // required"). A token's 401 may be about scope, so it is left to the caller.
        await discardBody(res.body);
        throw new UnauthorizedError(
          `unauthorized: credentials rejected by ${req.registry} (check the user name and password: ocipeek login, --authfile, --username)`,
        );
      }
      if (res.status === 401 && !reauthenticated) {
        const challenges = parseWwwAuthenticate(res.headers['www-authenticate'] ?? '');
        await discardBody(res.body);
        if (!replayable) {
          throw new UnauthorizedError(`unauthorized: ${req.registry} rejected the request`);
        }
        await this.authorize(req, challenges);
        reauthenticated = true;
        sentBasic = !challenges.some((c) => c.scheme === 'bearer' && c.params.realm);
        attempt--;
        continue;
      }
      if (isRetryableStatus(res.status) && attempt < retries && replayable) {
        if (res.status === 500) {
          // A registry that answers the same error twice has decided: five tries of a
          // broken manifest only make the user wait (skopeo stops too).
          const body = await readCapped(res.body, ERROR_BODY_LIMIT, 'error body').catch(
            () => undefined,
          );
          if (isRepeatedRegistryError(body, lastError)) {
            this.log('* 500 with the same error as before: not retrying');
            return { ...res, body: bodyOf(body as Buffer) };
          }
          lastError = body;
        }
        const asked = parseRetryAfter(res.headers['retry-after']);
        const max = this.options.retry?.maxDelayMs ?? 30_000;
        await discardBody(res.body);
        const delay =
          asked !== undefined ? Math.min(asked, max) : backoffDelay(attempt, this.options.retry);
        this.log(`* ${res.status}: retrying in ${delay} ms`);
        await sleep(delay, req.signal);
        continue;
      }
      return res;
    }
  }

  /**
   * The status of `GET /v2/` (the distribution API's version check) at `registry`, sent
   * without credentials, redirects or retries, asked once per registry: a registry answers
   * 200, or 401 when it wants credentials. Used to tell "no such manifest" from "not a
   * registry" after a 404.
   */
  async apiStatus(registry: string, signal?: AbortSignal): Promise<number> {
    const known = this.apiStatuses.get(registry);
    if (known !== undefined) return known;
    this.refuseWhenOffline(registry);
    const url = new URL('/v2/', this.baseUrl(registry));
    const res = await this.plainGet(url, registryApiHost(registry), signal);
    await discardBody(res.body);
    this.apiStatuses.set(registry, res.statusCode);
    return res.statusCode;
  }

  /**
   * One GET of a URL outside any registry's API (a registries.d lookaside holding
   * signatures): the run's TLS, timeouts, stats and logging; no credentials, retries or
   * redirects. Resolves to the status, and to the body (at most `maxBytes`) when it is 200.
   */
  async fetchUrl(
    url: URL,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<{ status: number; body?: Buffer }> {
    if (this.options.offline) throw new NetworkError(`offline: ${url.host} is not contacted`);
    const res = await this.plainGet(url, url.host, signal);
    if (res.statusCode !== 200) {
      await discardBody(res.body);
      return { status: res.statusCode };
    }
    return { status: 200, body: await readCapped(res.body, maxBytes, redactUrl(url.toString())) };
  }

  /** A GET with only the user agent: no credentials, retries or redirects. */
  private async plainGet(url: URL, host: string, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    try {
      return await this.raw('GET', url, headers, undefined, signal);
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      throw toNetworkError(err, host);
    }
  }

  /** Find out a loopback registry's scheme with a `GET /v2/` before a one-shot request. */
  private async ping(req: RegistryRequest): Promise<void> {
    const res = await this.send({
      registry: req.registry,
      repository: req.repository,
      scope: req.scope,
      method: 'GET',
      path: '/v2/',
      signal: req.signal,
    });
    await discardBody(res.body);
  }

  private async authorize(req: RegistryRequest, challenges: AuthChallenge[]): Promise<void> {
    this.authenticator.invalidate(req.registry, req.scope);
    await this.authenticator.authorize(req.registry, req.repository, req.scope, challenges, {
      signal: req.signal,
    });
  }

  /** One attempt: auth header from cache, then redirects followed by hand. */
  private async sendOnce(req: RegistryRequest, scheme: Scheme): Promise<RegistryResponse> {
    const base = new URL(this.baseUrlFor(req.registry, scheme));
    let url = new URL(req.path, base);
    // Credentials belong to the registry's own origin; an absolute upload `Location` or
    // `Link` on another host gets none.
    const origin = base.origin;
    const headers: Record<string, string> = { ...req.headers };
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    const auth = this.authenticator.cached(req.registry, req.scope);
    if (auth) headers.authorization = auth;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      // Credentials belong to the registry's origin only: blob storage behind a redirect
      // (S3, a CDN) must never see them.
      const sendHeaders = url.origin === origin ? headers : withoutAuth(headers);
      const res = await this.raw(method, url, sendHeaders, body, req.signal);
      const location = headerValue(res.headers, 'location');
      if (res.statusCode >= 300 && res.statusCode < 400 && location && res.statusCode !== 304) {
        await discardBody(res.body);
        if (hop >= MAX_REDIRECTS) {
          throw toNetworkError(new Error(`too many redirects (${MAX_REDIRECTS})`), url.host);
        }
        url = new URL(location, url);
        if (
          res.statusCode === 303 ||
          ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
        ) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    }
  }

  /** A bare HTTP exchange with stats and logging; no auth, retries or redirects. */
  private async raw(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | Readable | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    if (this.raTlsLoaded) await this.raTlsLoaded;
    this.stats.requests++;
    if (Buffer.isBuffer(body)) this.stats.bytesSent += body.length;
    if (this.options.log) {
      this.log(
        `> ${method} ${redactUrl(url.toString())} ${JSON.stringify(redactHeaders(headers))}`,
      );
    }
    const res = await this.pool.request(method, url, headers, body, signal, (n) => {
      this.stats.bytesFetched += n;
    });
    if (this.options.log) {
      this.log(
        `< ${res.statusCode} ${method} ${redactUrl(url.toString())} ${JSON.stringify(redactHeaders(res.headers as Record<string, string>))}`,
      );
    }
    return res;
  }

  private refuseWhenOffline(registry: string): void {
    if (this.options.offline) {
      throw new NetworkError(`offline: the registry ${registryApiHost(registry)} is not contacted`);
    }
  }

  /** Write one line to the `log` option (`--verbose`), if any. */
  log(line: string): void {
    this.options.log?.(line);
  }
}

function withoutAuth(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== 'authorization' && k.toLowerCase() !== 'cookie') out[k] = v;
  }
  return out;
}
