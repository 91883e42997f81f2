import type { Command } from 'commander';
import { type CredentialSource, Keychain } from '../auth/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Platform } from '../media/index.js';
import { parsePlatform } from '../platform/index.js';
import { RegistryClient } from '../registry/index.js';
import type { TlsOptions } from '../transport/index.js';
import { type GlobalOptions, globalsOf } from './global-options.js';
import { existingContext, runSignal, setContext } from './run-state.js';
import { readStdin } from './stdin.js';
import { VERSION } from './version.js';

/** What a command needs from the global options, built once per run. */
export interface CliContext {
  options: GlobalOptions;
  client: RegistryClient;
  platform?: Platform;
  /** Cancelled on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** What a command sets beyond the global options (the proxy's skopeo-compatible flags). */
export interface ContextOverrides {
  /** Send no credentials at all (`--no-creds`). */
  anonymous?: boolean;
  /** TLS files replacing `--ca-file`, `--cert` and `--key` (`--cert-dir`). */
  tls?: Pick<TlsOptions, 'caFile' | 'certFile' | 'keyFile'>;
  /** The platform, replacing `--platform`. */
  platform?: Platform;
}

/** Credentials for no registry. */
const ANONYMOUS: CredentialSource = { resolve: async () => undefined };

/** The client and settings for this run (created on first use). */
export async function contextFor(
  command: Command,
  overrides: ContextOverrides = {},
): Promise<CliContext> {
  const existing = existingContext();
  if (existing) return existing;
  const options = globalsOf(command);
  let credentials: { username: string; password: string } | undefined;
  if (options.username !== undefined) {
    if (!options.passwordStdin) {
      throw new InvalidArgumentError('--username needs --password-stdin to read the password');
    }
    credentials = {
      username: options.username,
      password: (await readStdin()).replace(/\r?\n$/, ''),
    };
  }
  const keychain = overrides.anonymous
    ? ANONYMOUS
    : new Keychain({ authFile: options.authfile, credentials });
  const client = new RegistryClient({
    keychain,
    tls: {
      caFile: options.caFile,
      certFile: options.cert,
      keyFile: options.key,
      ...overrides.tls,
      verify: options.tlsVerify,
    },
    plainHttp: options.plainHttp,
    timeoutMs: options.timeout,
    bodyTimeoutMs: options.timeout,
    retry: options.retries === undefined ? undefined : { retries: options.retries },
    userAgent: `ocipeek/${VERSION}`,
    log: options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  const ctx: CliContext = {
    options,
    client,
    platform:
      overrides.platform ?? (options.platform ? parsePlatform(options.platform) : undefined),
    signal: runSignal,
  };
  setContext(ctx);
  return ctx;
}
