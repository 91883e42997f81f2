import { readFileSync } from 'node:fs';
import type { AgentOptions } from 'node:https';
import type { SecureContext } from 'node:tls';
import { InvalidArgumentError } from '../errors/index.js';
import { tls as loadTls } from '../node/lazy-builtins.js';
import type { TokenProvider } from '../ratls/ra-tls-credentials.js';

/** TLS settings for registry connections. */
export interface TlsOptions {
  /** PEM file of extra CA certificates to trust, on top of the system's. */
  caFile?: string;
  /**
   * PEM file of the only CA certificates to trust (`--root-ca`), instead of the system's
   * and `caFile`; for `tls` and `ra-tls`.
   */
  rootCaFile?: string;
  /**
   * `ra-tls`: gives the CCA token for a challenge (see {@link TokenProvider}); `--token
   * FILE` is a provider that ignores the challenge.
   */
  tokenProvider?: TokenProvider;
  /** PEM client certificate for mutual TLS. */
  certFile?: string;
  /** PEM private key of the client certificate. */
  keyFile?: string;
  /** Verify server certificates (default true). `false` is `--tls-verify=false`. */
  verify?: boolean;
}

/**
 * Where the `ocipeek` executable (`cli/launch.sh`) moves NODE_EXTRA_CA_CERTS before Node
 * starts, so that Node does not parse the file on every run. Node's default CA store then
 * lacks those CAs, and {@link tlsAgentOptions} adds them.
 */
export const DEFERRED_EXTRA_CA_ENV = 'OCIPEEK_DEFERRED_EXTRA_CA_CERTS';

/** Read a PEM file named in the options; an unreadable one is an InvalidArgumentError. */
export function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The deferred NODE_EXTRA_CA_CERTS file; like Node, a warning (not an error) if unreadable. */
function readDeferredCa(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    process.emitWarning(
      `Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`,
    );
    return undefined;
  }
}

/** The native half of a SecureContext, which `tls.connect` itself uses. */
interface NativeSecureContext {
  addCACert(pem: string): void;
}

/**
 * One TLS context for every connection: Node's default CAs plus `extraCas`, and the client
 * pair. The extras are added to the defaults the way Node adds a `ca` option (`addCACert`,
 * which copies the shared store first, so no other context sees them), rather than through
 * `ca` itself, which would replace the defaults: those are Node's bundled roots, or the
 * system store where Node is built or told to use it (`--use-openssl-ca`), plus
 * NODE_EXTRA_CA_CERTS when Node read it at start.
 */
function createContext(
  extraCas: () => string[],
  cert?: string,
  key?: string,
  rootCa?: string,
): SecureContext {
  // `--root-ca`: these CAs and no others (`ca` replaces Node's defaults).
  if (rootCa) return loadTls().createSecureContext({ cert, key, ca: rootCa });
  const context = loadTls().createSecureContext({ cert, key });
  const native = (context as unknown as { context: NativeSecureContext }).context;
  for (const pem of extraCas()) native.addCACert(pem);
  return context;
}

/**
 * The TLS part of the HTTPS agent's options. Trusted: Node's default CAs, the deferred
 * NODE_EXTRA_CA_CERTS ({@link DEFERRED_EXTRA_CA_ENV}) and `caFile`.
 *
 * When any of those or a client certificate is involved, the options carry one shared
 * `secureContext`, made on first read: the HTTPS agent is created (and reads it) on the
 * first HTTPS request (`transport/http-client.ts`). Parsing CA certificates is what costs
 * (the system bundle: ~35 ms of CPU), so a run that only speaks plain HTTP to a loopback
 * registry never pays it, and the connections of a run share one parsed store instead of
 * each parsing its own (what passing `ca` to the agent would do).
 */
export function tlsAgentOptions(tls: TlsOptions): AgentOptions {
  const options: AgentOptions = { rejectUnauthorized: tls.verify !== false };
  // Named files are read now, so a wrong path is reported before any request.
  const caPem = tls.caFile ? readPem(tls.caFile, 'CA file') : undefined;
  let cert: string | undefined;
  let key: string | undefined;
  if (tls.certFile || tls.keyFile) {
    if (!tls.certFile || !tls.keyFile) {
      throw new InvalidArgumentError('mutual TLS needs both --cert and --key');
    }
    cert = readPem(tls.certFile, 'client certificate');
    key = readPem(tls.keyFile, 'client key');
  }
  const rootCa = tls.rootCaFile ? readPem(tls.rootCaFile, 'root CA file') : undefined;
  const deferred = process.env[DEFERRED_EXTRA_CA_ENV] || undefined;
  if (!caPem && !cert && !deferred && !rootCa) return options;
  const extraCas = () => {
    const pems = deferred ? [readDeferredCa(deferred)] : [];
    return [...pems, caPem].filter((p): p is string => p !== undefined);
  };
  let context: SecureContext | undefined;
  Object.defineProperty(options, 'secureContext', {
    enumerable: true,
    get: () => {
      context ??= createContext(extraCas, cert, key, rootCa);
      return context;
    },
  });
  return options;
}
