import { UnauthorizedError } from '../errors/index.js';
import type { AuthChallenge } from './challenge.js';
import { basicAuthorization, type Credentials } from './credentials.js';
import type { CredentialSource } from './keychain.js';
import { splitScopes } from './scope.js';
import { TokenCache } from './token-cache.js';
import { requestBearerToken, type TokenFetcher } from './token-request.js';

/** Options for {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** Where credentials come from; anonymous when absent. Usually a {@link Keychain}. */
  keychain?: CredentialSource;
  /** Sends token requests; supplied by the HTTP transport. */
  fetchToken: TokenFetcher;
  /** The clock, in ms. Default `Date.now`; tests inject their own. */
  now?: () => number;
  /** OAuth2 `client_id` sent with refresh-token requests. Default `ocipeek`. */
  clientId?: string;
}

/** Options for {@link Authenticator.authorize}. */
export interface AuthorizeOptions {
  /** Stop waiting; the shared token request is aborted once every waiter has. */
  signal?: AbortSignal;
}

// Basic auth covers the whole registry, so it is cached under one key whatever the scope.
// A NUL cannot appear in a real scope.
const BASIC_SCOPE = '\u0000basic';

/**
 * One token request shared by every concurrent `authorize` for the same registry and scope.
 * It is aborted only when all of its waiters have given up.
 */
class Flight {
  readonly controller = new AbortController();
  readonly promise: Promise<string>;
  #waiters = 0;

  constructor(run: (signal: AbortSignal) => Promise<string>) {
    this.promise = run(this.controller.signal);
    // A flight whose waiters all left still settles; do not report that as unhandled.
    this.promise.catch(() => {});
  }

  join(signal: AbortSignal | undefined): Promise<string> {
    if (!signal) {
      this.#waiters++;
      return this.promise;
    }
    signal.throwIfAborted();
    this.#waiters++;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters--;
        if (this.#waiters === 0) this.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }
}

/**
 * Turns a registry's `401` challenges into an `Authorization` header value and remembers it:
 * the piece the HTTP transport calls. Bearer challenges get a token from the challenge's
 * realm (cached per registry and scope until shortly before it expires); Basic challenges
 * get `Basic base64(user:pass)` from the keychain (cached per registry). Concurrent calls for
 * the same registry and scope share one token request.
 *
 * The transport's loop: send with {@link cached}; on a 401, {@link invalidate} if a cached
 * value was sent, then {@link authorize} with the parsed challenges and retry once.
 */
export class Authenticator {
  readonly #keychain?: CredentialSource;
  readonly #fetchToken: TokenFetcher;
  readonly #now: () => number;
  readonly #clientId: string;
  readonly #cache: TokenCache;
  readonly #inflight = new Map<string, Flight>();

  constructor(options: AuthenticatorOptions) {
    this.#keychain = options.keychain;
    this.#fetchToken = options.fetchToken;
    this.#now = options.now ?? Date.now;
    this.#clientId = options.clientId ?? 'ocipeek';
    this.#cache = new TokenCache(this.#now);
  }

  /**
   * The `Authorization` header value to send pre-emptively for `scope` on `registry`, while a
   * cached one is still valid, or undefined.
   */
  cached(registry: string, scope: string): string | undefined {
    return (
      this.#cache.get(TokenCache.key(registry, scope)) ??
      this.#cache.get(TokenCache.key(registry, BASIC_SCOPE))
    );
  }

  /**
   * Obtain, cache and return an `Authorization` header value answering `challenges` (parsed
   * from a 401's `WWW-Authenticate`) for `scope` on `registry`. `repository` picks per-repository
   * credentials from the keychain. A still-valid cached value is returned as is, so call
   * {@link invalidate} first when the 401 answered that value.
   *
   * Bearer is preferred over Basic when both are offered. A `registryToken` credential is used
   * directly as the bearer token. Throws {@link UnauthorizedError} when no challenge is usable,
   * Basic is asked for without credentials, or the token server refuses.
   */
  async authorize(
    registry: string,
    repository: string | undefined,
    scope: string,
    challenges: AuthChallenge[],
    options: AuthorizeOptions = {},
  ): Promise<string> {
    options.signal?.throwIfAborted();
    const hit = this.cached(registry, scope);
    if (hit) return hit;
    const key = TokenCache.key(registry, scope);
    let flight = this.#inflight.get(key);
    // A flight all of whose waiters left is being aborted: start afresh rather than join it.
    if (!flight || flight.controller.signal.aborted) {
      const started = new Flight((signal) =>
        this.#obtain(registry, repository, scope, challenges, signal),
      );
      flight = started;
      this.#inflight.set(key, started);
      const done = () => {
        if (this.#inflight.get(key) === started) this.#inflight.delete(key);
      };
      started.promise.then(done, done);
    }
    return flight.join(options.signal);
  }

  /** Forget the cached value for `scope` on `registry`, and the registry's Basic value. */
  invalidate(registry: string, scope: string): void {
    this.#cache.delete(TokenCache.key(registry, scope));
    this.#cache.delete(TokenCache.key(registry, BASIC_SCOPE));
  }

  async #obtain(
    registry: string,
    repository: string | undefined,
    scope: string,
    challenges: AuthChallenge[],
    signal: AbortSignal,
  ): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (!bearer && !basic) {
      const schemes = [...new Set(challenges.map((c) => c.scheme))].join(', ');
      throw new UnauthorizedError(
        schemes
          ? `${registry} asks for authentication ocipeek does not support (${schemes})`
          : `${registry} refused the request and offered no way to authenticate`,
      );
    }
    const creds = await this.#credentials(registry, repository, signal);
    if (bearer) {
      const key = TokenCache.key(registry, scope);
      if (creds?.registryToken) {
        const value = `Bearer ${creds.registryToken}`;
        this.#cache.set(key, value);
        return value;
      }
      const challenged = splitScopes(bearer.params.scope);
      const { token, expiresAt } = await requestBearerToken({
        registry,
        realm: bearer.params.realm!,
        service: bearer.params.service,
        scopes: challenged.length > 0 ? challenged : splitScopes(scope),
        credentials: creds,
        clientId: this.#clientId,
        fetchToken: this.#fetchToken,
        now: this.#now(),
        signal,
      });
      const value = `Bearer ${token}`;
      this.#cache.set(key, value, expiresAt);
      return value;
    }
    const value = basicAuthorization(creds);
    if (!value) {
      throw new UnauthorizedError(
        `unauthorized: ${registry} requires a user name and password; none were found (ocipeek login, --authfile or --username)`,
      );
    }
    this.#cache.set(TokenCache.key(registry, BASIC_SCOPE), value);
    return value;
  }

  async #credentials(
    registry: string,
    repository: string | undefined,
    signal: AbortSignal,
  ): Promise<Credentials | undefined> {
    return this.#keychain?.resolve(registry, repository, { signal });
  }
}
