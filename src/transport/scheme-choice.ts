import { isLoopbackRegistry } from './loopback.js';
import { errorCode, isPlainHttpAnswer } from './network-errors.js';

/** The URL scheme a registry is spoken to with. */
export type Scheme = 'http' | 'https';

/** What came back from one attempt: a response status, or an error before any response. */
export type Outcome = { status: number } | { error: unknown };

/**
 * Which scheme each registry is spoken to with.
 *
 * Remote registries: HTTPS, always (plain HTTP only with `plainHttp`). Loopback
 * registries (localhost, 127.0.0.0/8, ::1) may be either, as docker and containers/image
 * allow, and so may registries registries.conf marks `insecure`. For those, plain HTTP is tried first and the answer decides. Trying HTTPS first
 * cost every pull from a plain loopback registry a TLS set-up and a failed handshake (~35 ms
 * of a 0.4 s pull, measured in bench/ANALYSIS.md); a loopback HTTPS registry costs one
 * extra round trip instead. The first request to a registry never carries credentials
 * (they are only sent after a 401 challenge), so nothing secret goes out in the clear.
 *
 * How an HTTPS server answers a plain request: Go (the CNCF registry) and nginx send
 * `400 Bad Request`; OpenSSL-based servers reset or close the connection, or send a TLS
 * alert that the HTTP parser rejects. Any of those switches the registry to HTTPS. If
 * HTTPS then meets a plain-HTTP answer, the 400 was the server's real answer and the
 * registry is plain after all.
 */
export class SchemeChoice {
  readonly #known = new Map<string, Scheme>();

  /**
   * @param plainHttp plain HTTP to every registry
   * @param httpsOnly HTTPS to every registry, loopback ones too (`tls` and `ra-tls` modes)
   * @param insecure registries marked insecure (registries.conf): found out like loopback ones
   */
  constructor(
    private readonly plainHttp = false,
    private readonly httpsOnly = false,
    private readonly insecure?: (registry: string) => boolean,
  ) {}

  /** Loopback and insecure registries may speak plain HTTP. */
  private mayBePlain(registry: string): boolean {
    return isLoopbackRegistry(registry) || (this.insecure?.(registry) ?? false);
  }

  /** The scheme to use for the next request to `registry`. */
  current(registry: string): Scheme {
    if (this.plainHttp) return 'http';
    if (this.httpsOnly) return 'https';
    return this.#known.get(registry) ?? (this.mayBePlain(registry) ? 'http' : 'https');
  }

  /** True while a loopback registry's scheme is still being found out. */
  probing(registry: string): boolean {
    if (this.plainHttp || this.httpsOnly) return false;
    return !this.#known.has(registry) && this.mayBePlain(registry);
  }

  /**
   * Learn from one attempt made over `used`. Returns the scheme to repeat the request with,
   * or undefined when the outcome stands (a response to hand back, an error to report).
   */
  decide(registry: string, used: Scheme, outcome: Outcome): Scheme | undefined {
    if (this.plainHttp || this.httpsOnly || !this.mayBePlain(registry)) return undefined;
    const known = this.#known.get(registry);
    // Another request found the scheme out while this one was on its way.
    if (known && known !== used) return known;
    if ('error' in outcome) {
      if (used === 'http' && !known && looksLikeTlsServer(outcome.error)) {
        return this.#learn(registry, 'https');
      }
      if (used === 'https' && isPlainHttpAnswer(outcome.error))
        return this.#learn(registry, 'http');
      return undefined;
    }
    if (!known) {
      if (used === 'http' && outcome.status === 400) return this.#learn(registry, 'https');
      this.#known.set(registry, used);
    }
    return undefined;
  }

  #learn(registry: string, scheme: Scheme): Scheme {
    this.#known.set(registry, scheme);
    return scheme;
  }
}

/**
 * A plain request failed the way it does against a TLS server: the connection reset or
 * closed, or bytes that are not HTTP (a TLS alert). A refused connection or a timeout says
 * nothing about the scheme.
 */
function looksLikeTlsServer(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ECONNRESET' || code === 'EPIPE' || (code?.startsWith('HPE_') ?? false);
}
