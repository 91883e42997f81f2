import { InvalidArgumentError } from '../errors/index.js';
import { registryHostKey } from '../ref/index.js';
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
 *
 * A registry given with a scheme ({@link SchemeChoice.fix}: a pull-through cache's
 * `--upstream http://…` or `https://…`) is spoken to with that scheme alone, whatever the
 * rules above would choose: `http://` is plain HTTP to any host, as distribution's
 * `proxy.remoteurl` is, and `https://` is TLS even on loopback. Only a mode that speaks
 * HTTPS alone refuses `http://` (a silent downgrade otherwise); `--plain-http` yields to
 * `https://`, the narrower word.
 */
export class SchemeChoice {
  readonly #known = new Map<string, Scheme>();
  /** Registries given with a scheme, by {@link registryHostKey}. */
  readonly #fixed = new Map<string, Scheme>();

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

  /**
   * Speak `scheme` to `registry` and nothing else (a registry given as a URL). Throws when
   * `http` contradicts an HTTPS-only mode or the registry was given another scheme.
   */
  fix(registry: string, scheme: Scheme): void {
    if (scheme === 'http' && this.httpsOnly) {
      throw new InvalidArgumentError(
        `http://${registry} asks for plain HTTP, which the connection mode (HTTPS only) refuses`,
      );
    }
    const key = registryHostKey(registry);
    const before = this.#fixed.get(key);
    if (before !== undefined && before !== scheme) {
      throw new InvalidArgumentError(
        `${registry} is given both as ${before}:// and as ${scheme}://`,
      );
    }
    this.#fixed.set(key, scheme);
  }

  /** The scheme `registry` was given with ({@link SchemeChoice.fix}), if any. */
  #fixedFor(registry: string): Scheme | undefined {
    return this.#fixed.size === 0 ? undefined : this.#fixed.get(registryHostKey(registry));
  }

  /** Loopback and insecure registries may speak plain HTTP. */
  private mayBePlain(registry: string): boolean {
    return isLoopbackRegistry(registry) || (this.insecure?.(registry) ?? false);
  }

  /** The scheme to use for the next request to `registry`. */
  current(registry: string): Scheme {
    const fixed = this.#fixedFor(registry);
    if (fixed) return fixed;
    if (this.plainHttp) return 'http';
    if (this.httpsOnly) return 'https';
    return this.#known.get(registry) ?? (this.mayBePlain(registry) ? 'http' : 'https');
  }

  /** True while a loopback registry's scheme is still being found out. */
  probing(registry: string): boolean {
    if (this.plainHttp || this.httpsOnly || this.#fixedFor(registry)) return false;
    return !this.#known.has(registry) && this.mayBePlain(registry);
  }

  /**
   * Learn from one attempt made over `used`. Returns the scheme to repeat the request with,
   * or undefined when the outcome stands (a response to hand back, an error to report).
   */
  decide(registry: string, used: Scheme, outcome: Outcome): Scheme | undefined {
    if (this.plainHttp || this.httpsOnly || this.#fixedFor(registry)) return undefined;
    if (!this.mayBePlain(registry)) return undefined;
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
