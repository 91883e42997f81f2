import type { Command } from 'commander';
import { type CredentialSource, Keychain } from '../auth/index.js';
import { loadRegistriesConf } from '../containers-conf/registries-conf.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Platform } from '../media/index.js';
import { parsePlatform } from '../platform/index.js';
import { tokenFile } from '../ratls/token-file.js';
import { RegistryClient } from '../registry/index.js';
import type { TlsOptions } from '../transport/index.js';
import { acceptsAnything, loadPolicy } from '../trust/policy.js';
import type { PolicyTrust } from '../trust/policy-trust.js';
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

/**
 * The trust policy commands obey: policy.json and registries.d. No policy file, or one
 * that accepts anything everywhere, needs no checking at all.
 */
async function loadTrust(options: GlobalOptions): Promise<PolicyTrust | undefined> {
  const policy = await loadPolicy({ path: options.signaturePolicy });
  if (!policy || acceptsAnything(policy)) return undefined;
  // Signature checking (registries.d's YAML, the crypto) is loaded only when needed.
  const [{ PolicyTrust }, { loadRegistriesD }] = await Promise.all([
    import('../trust/policy-trust.js'),
    import('../trust/registries-d.js'),
  ]);
  return new PolicyTrust(policy, await loadRegistriesD(options['registries.d']));
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
  if (options.token && options.tls !== 'ra-tls') {
    throw new InvalidArgumentError('--token is for --tls ra-tls');
  }
  const keychain = overrides.anonymous
    ? ANONYMOUS
    : new Keychain({ authFile: options.authfile, credentials });
  const registries = await loadRegistriesConf({
    path: options.registriesConf,
    dropInDir: options.registriesConfDir,
  });
  const client = new RegistryClient({
    registries,
    trust: options.insecurePolicy ? undefined : await loadTrust(options),
    keychain,
    tls: {
      caFile: options.caFile,
      certFile: options.cert,
      keyFile: options.key,
      ...overrides.tls,
      verify: options.tlsVerify,
      rootCaFile: options.rootCa,
      tokenProvider: options.token ? tokenFile(options.token) : undefined,
    },
    mode: options.tls,
    plainHttp: options.plainHttp,
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
