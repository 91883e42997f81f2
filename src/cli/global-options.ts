import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors/index.js';
import { parseDuration } from './parse-duration.js';

/** Options every command accepts, before or after its name. */
export interface GlobalOptions {
  platform?: string;
  authfile?: string;
  username?: string;
  passwordStdin?: boolean;
  caFile?: string;
  cert?: string;
  key?: string;
  tlsVerify: boolean;
  plainHttp?: boolean;
  tls?: 'no-tls' | 'tls' | 'ra-tls';
  rootCa?: string;
  token?: string;
  /** Root CA public key of islet image signatures: only images signed under it are read. */
  isletRootCa?: string;
  /** Milliseconds a registry may stay silent (`--timeout`). */
  timeout?: number;
  /** Retries of a failed request (`--retries`). */
  retries?: number;
  /** Never ask the registry about a reference the store may hold (`--offline`). */
  offline?: boolean;
  /** Always read a bare reference from its registry (`--remote`). */
  remote?: boolean;
  verbose?: boolean;
  stats?: boolean;
  json?: boolean;
  store?: string;
  registriesConf?: string;
  registriesConfDir?: string;
  signaturePolicy?: string;
  'registries.d'?: string;
  insecurePolicy?: boolean;
  /** Look for a seek index of registry images (`--no-index` sets it false). */
  index?: boolean;
}

const MODES = ['no-tls', 'tls', 'ra-tls'];

/** `--tls MODE` (also `ocipeek ir -t MODE`). */
export function parseMode(value: string): 'no-tls' | 'tls' | 'ra-tls' {
  if (!MODES.includes(value)) {
    throw new InvalidArgumentError(`--tls must be one of ${MODES.join(', ')}, got "${value}"`);
  }
  return value as 'no-tls' | 'tls' | 'ra-tls';
}

function parseRetries(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100) {
    throw new InvalidArgumentError(`--retries takes a whole number from 0 to 100, got "${value}"`);
  }
  return Number(value);
}

function parseTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms < 1) throw new InvalidArgumentError(`--timeout must be more than 0, got "${value}"`);
  return ms;
}

function parseBool(value: string | undefined): boolean {
  if (value === undefined || value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

/**
 * What a skopeo user typing `--policy FILE` is told: podman's names are ocipeek's, so
 * `--policy` is pull's pull policy and policy.json is `--signature-policy`.
 */
export const SIGNATURE_POLICY_HINT =
  "a policy.json is given with --signature-policy FILE (skopeo's --policy FILE)";

/** Declare the global options on the program. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('--platform <os/arch[/variant]>', 'platform to pick from an index (default: this host)')
    .option('--authfile <file>', 'credentials file (containers auth.json or docker config.json)')
    .option('--username <user>', 'registry user name (password read with --password-stdin)')
    .option('--password-stdin', 'read the registry password from standard input')
    .option('--ca-file <file>', 'PEM file of extra CA certificates to trust')
    .option('--cert <file>', 'client certificate (PEM) for mutual TLS')
    .option('--key <file>', 'client private key (PEM) for mutual TLS')
    .option(
      '--tls-verify [bool]',
      'verify TLS certificates (--tls-verify=false to skip)',
      parseBool,
      true,
    )
    .option('--plain-http', 'speak plain HTTP to the registry (automatic for loopback)')
    .option(
      '--tls <mode>',
      'connection: no-tls (plain HTTP), tls (HTTPS), ra-tls (attested)',
      parseMode,
    )
    .option('--root-ca <file>', 'PEM file of the only CAs to trust (tls, ra-tls)')
    .option('--token <file>', 'CCA attestation token (CBOR) for ra-tls')
    .option(
      '--islet-root-ca <file>',
      'read only images islet-signed under this root CA key (P-384, PEM or DER)',
    )
    .option(
      '--registries-conf <file>',
      'registries.conf to use (default $CONTAINERS_REGISTRIES_CONF, ~/.config/containers/registries.conf, /etc/containers/registries.conf)',
    )
    .option(
      '--registries-conf-dir <dir>',
      'the only registries.conf.d drop-in folder to read (default: /etc/containers/ and ~/.config/containers/ ones)',
    )
    .option(
      '--signature-policy <file>',
      'trust policy.json (default ~/.config/containers/policy.json, /etc/containers/policy.json)',
    )
    .option('--insecure-policy', 'read images without checking the trust policy')
    .option(
      '--registries.d <dir>',
      'where signatures are (default ~/.config/containers/registries.d, /etc/containers/registries.d)',
    )
    .option(
      '--timeout <duration>',
      'how long a registry may stay silent: connecting, before its answer, within a body (default 30s)',
      parseTimeout,
    )
    .option(
      '--retries <n>',
      'retries of a request that failed on the way (resets, 429, 5xx; default 4); refused connections and unknown hosts fail at once',
      parseRetries,
    )
    .option('--store <dir>', 'local image store (default $OCIPEEK_STORE or ~/.cache/ocipeek)')
    .option(
      '--offline',
      'read images from the store only, never asking the registry (default: a stored tag is checked with one HEAD)',
    )
    .option('--remote', 'read images from their registry even when the store holds them')
    .option('-v, --verbose', 'log requests and responses (secrets redacted); stack traces on error')
    .option('--stats', 'print "stats: requests=N bytesFetched=N seconds=S" on stderr at exit')
    .option(
      '--no-index',
      'never read a registry image through a seek index (`ocipeek index`) published as its referrer',
    );
}

/** The global options as seen from inside a subcommand's action. */
export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}
