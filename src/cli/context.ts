import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { type CredentialSource, Keychain } from '../auth/index.js';
import type { RegistriesConf } from '../containers-conf/registries-conf.js';
import { loadRegistriesConf } from '../containers-conf/registries-conf.js';
import { CredentialsError, InvalidArgumentError } from '../errors/index.js';
import type { IsletTrust } from '../ir/islet-trust.js';
import type { Platform } from '../media/index.js';
import { parsePlatform } from '../platform/index.js';
import { tokenFile } from '../ratls/token-file.js';
import type { ImageTrust } from '../registry/index.js';
import { RegistryClient } from '../registry/index.js';
import type { TlsOptions, TransferStats } from '../transport/index.js';
import { acceptsAnything, loadPolicy } from '../trust/policy.js';
import type { PolicyTrust } from '../trust/policy-trust.js';
import { type GlobalOptions, globalsOf } from './global-options.js';
import { atExit, existingContext, runSignal, setContext } from './run-state.js';
import { readStdin } from './stdin.js';
import { VERSION } from './version.js';

/** What a command needs from the global options, built once per run. */
export interface CliContext {
  options: GlobalOptions;
  client: RegistryClient;
  platform?: Platform;
  /** Cancelled on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** `--islet-root-ca`: images from places other than registries are checked with it. */
  islet?: IsletTrust;
}

/** What a command sets beyond the global options (the proxy's skopeo-compatible flags). */
export interface ContextOverrides {
  /** Send no credentials at all (`--no-creds`). */
  anonymous?: boolean;
  /** TLS files replacing `--ca-file`, `--cert` and `--key` (`--cert-dir`). */
  tls?: Pick<TlsOptions, 'caFile' | 'certFile' | 'keyFile'>;
  /** The platform, replacing `--platform`. */
  platform?: Platform;
  /** `--authfile` names a file to write (`login`, `logout`): it need not exist yet. */
  writesAuthFile?: boolean;
  /** Global options a command sets itself (`ir`'s connection mode and its islet defaults). */
  options?: Partial<GlobalOptions>;
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

/** The policy's verdict, once islet's signature checked out too (its line added). */
function bothTrusts(policy: ImageTrust, islet: IsletTrust): ImageTrust {
  return {
    async verify(image, client, options) {
      const verdict = (await policy.verify(image, client, options)) as { accepted?: string[] };
      const signed = await islet.verify(image, client, options);
      return { ...verdict, accepted: [...(verdict.accepted ?? []), ...signed.accepted] };
    },
  };
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
  const options = { ...globalsOf(command), ...overrides.options };
  let credentials: { username: string; password: string } | undefined;
  if (options.username !== undefined && !overrides.anonymous) {
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
  if (options.authfile && !overrides.writesAuthFile) await requireAuthFile(options.authfile);
  const keychain = overrides.anonymous
    ? ANONYMOUS
    : new Keychain({ authFile: options.authfile, credentials });
  const registries = await loadRegistriesConf({
    path: options.registriesConf,
    dropInDir: options.registriesConfDir,
  });
  const policy = options.insecurePolicy ? undefined : await loadTrust(options);
  const islet = options.isletRootCa
    ? await (await import('../ir/islet-trust.js')).IsletTrust.fromFile(options.isletRootCa)
    : undefined;
  const trust = policy && islet ? bothTrusts(policy, islet) : (policy ?? islet);
  const client = makeClient(options, keychain, { tls: overrides.tls, registries, trust });
  const ctx: CliContext = {
    options,
    client,
    platform:
      overrides.platform ?? (options.platform ? parsePlatform(options.platform) : undefined),
    signal: runSignal,
    islet,
  };
  setContext(ctx);
  return ctx;
}

/** What a run's clients share beyond the global options. */
interface ClientSettings {
  tls?: ContextOverrides['tls'];
  registries?: RegistriesConf;
  trust?: ImageTrust;
  stats?: TransferStats;
}

/**
 * A client with the run's connection mode, TLS, registries.conf, trust policy, timeouts,
 * retries and logging, and `keychain`.
 */
function makeClient(
  options: GlobalOptions,
  keychain: CredentialSource,
  settings: ClientSettings = {},
): RegistryClient {
  return new RegistryClient({
    registries: settings.registries,
    trust: settings.trust,
    keychain,
    tls: {
      caFile: options.caFile,
      certFile: options.cert,
      keyFile: options.key,
      ...settings.tls,
      verify: options.tlsVerify,
      rootCaFile: options.rootCa,
      tokenProvider: options.token ? tokenFile(options.token) : undefined,
    },
    mode: options.tls,
    plainHttp: options.plainHttp,
    timeoutMs: options.timeout,
    bodyTimeoutMs: options.timeout,
    retry: options.retries === undefined ? undefined : { retries: options.retries },
    userAgent: `ocipeek/${VERSION}`,
    log: options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
    stats: settings.stats,
    offline: options.offline,
  });
}

/**
 * An auth file named for reading must exist: a typo would otherwise go unnoticed until
 * the registry refused the request as anonymous.
 */
async function requireAuthFile(path: string): Promise<void> {
  try {
    await access(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CredentialsError(
      `auth file ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
      { cause: err },
    );
  }
}

/** Credentials for one side of a copy (`--src-creds`, `--dest-authfile`, …). */
export interface SideCredentials {
  /** `USER:PASSWORD`. */
  creds?: string;
  /** An auth file to read (must exist). */
  authfile?: string;
}

/**
 * A second client for one side of a copy when that side has credentials of its own;
 * else the run's client. It shares the run's stats and is closed when the run ends.
 */
export async function clientForSide(
  ctx: CliContext,
  side: SideCredentials,
  flag: string,
): Promise<RegistryClient> {
  if (side.creds === undefined && side.authfile === undefined) return ctx.client;
  if (side.creds !== undefined && side.authfile !== undefined) {
    throw new InvalidArgumentError(`use one of --${flag}-creds and --${flag}-authfile`);
  }
  let credentials: { username: string; password: string } | undefined;
  if (side.creds !== undefined) {
    const colon = side.creds.indexOf(':');
    if (colon <= 0) {
      throw new InvalidArgumentError(`--${flag}-creds takes USER:PASSWORD`);
    }
    credentials = { username: side.creds.slice(0, colon), password: side.creds.slice(colon + 1) };
  } else {
    await requireAuthFile(side.authfile as string);
  }
  return clientWith(ctx, new Keychain({ authFile: side.authfile, credentials }));
}

/**
 * Another client for this run with its own credentials (`login`'s check, one side of a
 * copy): the run's TLS, timeouts, retries, logging and stats; closed when the run ends.
 */
export function clientWith(ctx: CliContext, keychain: CredentialSource): RegistryClient {
  const client = makeClient(ctx.options, keychain, {
    registries: ctx.client.registries,
    trust: ctx.client.trust,
    stats: ctx.client.stats,
  });
  atExit(() => client.close());
  return client;
}
