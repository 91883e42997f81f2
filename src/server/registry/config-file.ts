import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../../errors/index.js';
import { parseSize } from '../../util/parse-size.js';
import { isS3Url } from '../storage/s3/s3-location.js';
import { Gatekeeper } from './access/gatekeeper.js';
import { Htpasswd } from './access/htpasswd.js';
import type { AccessRule } from './access/rules.js';
import { readPublicKey, TokenIssuer } from './access/tokens.js';

/** TLS files of the server (`--tls-cert`, `--tls-key`, `--client-ca`). */
export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle client certificates must chain to (mutual TLS); none: no client certs. */
  clientCa?: string;
}

/** The `auth:` section of the config file. */
export interface AuthConfig {
  /** htpasswd file (bcrypt entries). */
  htpasswd?: string;
  /** The built-in token endpoint. */
  token?: { service?: string; issuer?: string; key?: string; expiresIn?: number };
  /** External token servers whose tokens are honoured. */
  trust?: Array<{ issuer: string; service: string; realm: string; key: string }>;
  /** Anonymous pulls where no access rule decides (default false once auth is set). */
  anonymousPull?: boolean;
}

/** What `ocipeek serve --config FILE` reads (YAML); command-line flags win over it. */
export interface RegistryConfig {
  listen?: string;
  storage?: string;
  root?: string[];
  readOnly?: boolean;
  /** `maxBlobSize: 10G`. */
  maxBlobBytes?: number;
  allowPushToPulled?: boolean;
  tls?: TlsFiles;
  auth?: AuthConfig;
  access?: AccessRule[];
  /** Access log lines as JSON objects (default) or plain text. */
  logFormat?: 'json' | 'text';
  /** `upstreams: [NAME=URL, ...]`: a pull-through cache, as `--upstream` (which wins). */
  upstreams?: string[];
  /** `defaultUpstream: NAME`, as `--default-upstream`. */
  defaultUpstream?: string;
}

const KEYS = new Set([
  'listen',
  'storage',
  'root',
  'readOnly',
  'maxBlobSize',
  'allowPushToPulled',
  'tls',
  'auth',
  'access',
  'logFormat',
  'upstreams',
  'defaultUpstream',
]);

function fail(path: string, message: string): never {
  throw new InvalidArgumentError(`${path}: ${message}`);
}

/**
 * Read a registry config file. Unknown keys are errors (a misspelt `readOnly` must not
 * leave a registry writable); relative file names are taken from the file's folder.
 */
export async function loadRegistryConfig(path: string): Promise<RegistryConfig> {
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new InvalidArgumentError(`cannot read config ${path}: ${(err as Error).message}`);
  });
  let raw: Record<string, unknown>;
  try {
    raw = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    fail(path, `not valid YAML: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(path, 'expected a mapping at the top');
  for (const key of Object.keys(raw)) if (!KEYS.has(key)) fail(path, `unknown key "${key}"`);
  const base = dirname(resolve(path));
  const file = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || value === '') fail(path, `${what} must be a file name`);
    return resolve(base, value);
  };
  const config: RegistryConfig = {};
  if (raw.listen !== undefined) config.listen = String(raw.listen);
  if (raw.storage !== undefined) {
    // `s3://BUCKET/PREFIX` is not a file name: kept as written.
    const s3 = typeof raw.storage === 'string' && isS3Url(raw.storage);
    config.storage = s3 ? (raw.storage as string) : file(raw.storage, 'storage');
  }
  if (raw.root !== undefined) {
    const roots = Array.isArray(raw.root) ? raw.root : [raw.root];
    config.root = roots.map((r) => file(r, 'root'));
  }
  if (raw.readOnly !== undefined) config.readOnly = raw.readOnly === true;
  if (raw.allowPushToPulled !== undefined)
    config.allowPushToPulled = raw.allowPushToPulled === true;
  if (raw.maxBlobSize !== undefined) {
    config.maxBlobBytes = parseSize(String(raw.maxBlobSize));
  }
  if (raw.logFormat !== undefined) {
    if (raw.logFormat !== 'json' && raw.logFormat !== 'text')
      fail(path, 'logFormat is json or text');
    config.logFormat = raw.logFormat;
  }
  if (raw.upstreams !== undefined) {
    const list = Array.isArray(raw.upstreams) ? raw.upstreams : [raw.upstreams];
    if (!list.every((u) => typeof u === 'string' && u !== '')) {
      fail(path, 'upstreams must be a list of NAME=URL (or URL) strings');
    }
    config.upstreams = list as string[];
  }
  if (raw.defaultUpstream !== undefined) {
    if (typeof raw.defaultUpstream !== 'string') fail(path, 'defaultUpstream must be a name');
    config.defaultUpstream = raw.defaultUpstream;
  }
  if (raw.tls !== undefined) {
    const tls = raw.tls as Record<string, unknown>;
    config.tls = { cert: file(tls.cert, 'tls.cert'), key: file(tls.key, 'tls.key') };
    if (tls.clientCa !== undefined) config.tls.clientCa = file(tls.clientCa, 'tls.clientCa');
  }
  if (raw.auth !== undefined) {
    const auth = raw.auth as Record<string, unknown>;
    const out: AuthConfig = {};
    if (auth.htpasswd !== undefined) out.htpasswd = file(auth.htpasswd, 'auth.htpasswd');
    if (auth.token !== undefined) {
      const t = (auth.token ?? {}) as Record<string, unknown>;
      out.token = {
        service: t.service === undefined ? undefined : String(t.service),
        issuer: t.issuer === undefined ? undefined : String(t.issuer),
        key: t.key === undefined ? undefined : file(t.key, 'auth.token.key'),
        expiresIn: t.expiresIn === undefined ? undefined : Number(t.expiresIn),
      };
    }
    if (auth.trust !== undefined) {
      if (!Array.isArray(auth.trust)) fail(path, 'auth.trust must be a list');
      out.trust = auth.trust.map((t: Record<string, unknown>, i: number) => {
        for (const k of ['issuer', 'service', 'realm'] as const) {
          if (typeof t[k] !== 'string') fail(path, `auth.trust[${i}].${k} is required`);
        }
        return {
          issuer: t.issuer as string,
          service: t.service as string,
          realm: t.realm as string,
          key: file(t.key, `auth.trust[${i}].key`),
        };
      });
    }
    if (auth.anonymousPull !== undefined) out.anonymousPull = auth.anonymousPull === true;
    config.auth = out;
  }
  if (raw.access !== undefined) {
    if (!Array.isArray(raw.access)) fail(path, 'access must be a list of rules');
    config.access = raw.access as AccessRule[];
  }
  return config;
}

/** Build the access checks `auth` and `access` describe (files read now). */
export async function buildGatekeeper(
  auth: AuthConfig | undefined,
  rules: AccessRule[] | undefined,
): Promise<Gatekeeper> {
  const htpasswd = auth?.htpasswd ? await Htpasswd.load(auth.htpasswd) : undefined;
  const tokens = auth?.token
    ? await TokenIssuer.create({
        service: auth.token.service ?? 'ocipeek',
        issuer: auth.token.issuer ?? 'ocipeek',
        keyFile: auth.token.key,
        expiresIn: auth.token.expiresIn,
      })
    : undefined;
  if (tokens && !htpasswd) {
    throw new InvalidArgumentError(
      'auth.token needs auth.htpasswd: the token endpoint logs users in against it',
    );
  }
  const trusted = await Promise.all(
    (auth?.trust ?? []).map(async (t) => ({ ...t, key: await readPublicKey(t.key) })),
  );
  return new Gatekeeper({ htpasswd, tokens, trusted, rules, anonymousPull: auth?.anonymousPull });
}
