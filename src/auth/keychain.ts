import {
  type AuthFileContents,
  type AuthFileLocationOptions,
  authFileSearchPath,
  entryCredentials,
  findAuthEntry,
  findCredHelper,
  readAuthFile,
} from './auth-file.js';
import { runCredentialHelper } from './credential-helper.js';
import { type Credentials, hasCredentials } from './credentials.js';
import { helperServerUrl } from './registry-key.js';

/**
 * Anything that can find credentials for a registry: a {@link Keychain}, or a caller's own
 * object (a fixed map, a secrets manager).
 */
export interface CredentialSource {
  /** Credentials for `repository` on `registry`, or undefined to go anonymous. */
  resolve(
    registry: string,
    repository?: string,
    options?: { signal?: AbortSignal },
  ): Promise<Credentials | undefined>;
}

/** Options for {@link Keychain}. */
export interface KeychainOptions extends AuthFileLocationOptions {
  /** Credentials to use for every registry; when set, no file or helper is consulted. */
  credentials?: Credentials;
  /** Kill a credential helper after this many milliseconds. Default 30 000. */
  helperTimeoutMs?: number;
}

/** Options for {@link Keychain.resolve}. */
export interface KeychainResolveOptions {
  /** Abort reading files or running a helper. */
  signal?: AbortSignal;
}

/**
 * Finds registry credentials the way podman, skopeo and docker do: the auth files in
 * {@link authFileSearchPath} order, each consulted for a per-registry credential helper
 * (`credHelpers`), then an `auths` entry (most specific repository prefix first), then its
 * default helper (`credsStore`). The first file that yields credentials wins.
 *
 * Files are read on every call, so a `login` in between is seen; a missing file is skipped
 * and a malformed one throws {@link CredentialsError}.
 */
export class Keychain implements CredentialSource {
  readonly #options: KeychainOptions;

  constructor(options: KeychainOptions = {}) {
    this.#options = { ...options };
  }

  /** The auth files this keychain reads, in order. */
  get searchPath(): string[] {
    return authFileSearchPath(this.#options);
  }

  /**
   * Credentials for `repository` (e.g. `library/alpine`) on `registry` (e.g. `docker.io`,
   * `localhost:5000`), or undefined when none are configured.
   */
  async resolve(
    registry: string,
    repository?: string,
    options: KeychainResolveOptions = {},
  ): Promise<Credentials | undefined> {
    if (this.#options.credentials) return { ...this.#options.credentials };
    for (const path of this.searchPath) {
      options.signal?.throwIfAborted();
      const contents = await readAuthFile(path, { signal: options.signal });
      if (!contents) continue;
      const found = await this.#fromFile(path, contents, registry, repository, options.signal);
      if (found) return found;
    }
    return undefined;
  }

  async #fromFile(
    path: string,
    contents: AuthFileContents,
    registry: string,
    repository: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Credentials | undefined> {
    const helper = findCredHelper(contents, registry);
    if (helper) {
      const creds = await this.#helper(helper, registry, signal);
      if (creds) return creds;
    }
    const match = findAuthEntry(contents, registry, repository);
    if (match) {
      const creds = entryCredentials(path, match.key, match.entry);
      if (hasCredentials(creds)) return creds;
    }
    // docker keeps only `{}` placeholders in `auths` when a credsStore holds the secrets, so
    // the store comes after real entries rather than before them.
    if (contents.credsStore && contents.credsStore !== helper) {
      return this.#helper(contents.credsStore, registry, signal);
    }
    return undefined;
  }

  #helper(
    helper: string,
    registry: string,
    signal: AbortSignal | undefined,
  ): Promise<Credentials | undefined> {
    return runCredentialHelper(helper, helperServerUrl(registry), {
      env: this.#options.env,
      timeoutMs: this.#options.helperTimeoutMs,
      signal,
    });
  }
}
