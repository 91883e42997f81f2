import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { hostKeyedName } from '../ref/index.js';
import type { SignedIdentity } from './signed-identity.js';

/** Where a signature requirement's keys come from (exactly one is set). */
export interface KeySource {
  keyPath?: string;
  keyPaths?: string[];
  keyData?: string;
  keyDatas?: string[];
}

/** One policy requirement; all of a scope's requirements must be met. */
export type PolicyRequirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | ({ type: 'sigstoreSigned'; signedIdentity: SignedIdentity; unsupported?: string } & KeySource)
  | ({ type: 'signedBy'; keyType: 'GPGKeys'; signedIdentity: SignedIdentity } & KeySource);

/** policy.json, parsed and checked (containers-policy.json(5)). */
export interface Policy {
  /** The file it came from (for messages). */
  file: string;
  default: PolicyRequirement[];
  /** transport → scope → requirements (`""` is the transport's default). */
  transports: Map<string, Map<string, PolicyRequirement[]>>;
}

const IDENTITY_FIELDS: Record<string, string[]> = {
  matchExact: [],
  matchRepoDigestOrExact: [],
  matchRepository: [],
  exactReference: ['dockerReference'],
  exactRepository: ['dockerRepository'],
  remapIdentity: ['prefix', 'signedPrefix'],
};

const KEY_FIELDS = ['keyPath', 'keyPaths', 'keyData', 'keyDatas'] as const;
/** sigstoreSigned fields ocipeek reads but cannot evaluate (certificates, Rekor). */
const SIGSTORE_UNSUPPORTED = [
  'fulcio',
  'pki',
  'rekorPublicKeyPath',
  'rekorPublicKeyPaths',
  'rekorPublicKeyData',
  'rekorPublicKeyDatas',
];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse policy.json strictly, as containers/image does: unknown fields are errors. */
export function parsePolicy(text: string, file: string): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `invalid JSON (${(err as Error).message})`, { cause: err });
  }
  const fail = (message: string): never => {
    throw new ConfigError(file, message);
  };
  if (!isObject(json)) return fail('policy must be a JSON object');
  only(json, ['default', 'transports'], '', fail);
  if (json.default === undefined) fail('"default" is required');
  const policy: Policy = {
    file,
    default: requirements(json.default, 'default', fail),
    transports: new Map(),
  };
  if (json.transports !== undefined) {
    if (!isObject(json.transports)) fail('"transports" must be an object');
    for (const [transport, scopes] of Object.entries(json.transports as Json)) {
      if (!isObject(scopes)) fail(`transports.${transport} must be an object`);
      const map = new Map<string, PolicyRequirement[]>();
      for (const [scope, reqs] of Object.entries(scopes as Json)) {
        if (scope === '/' && transport !== 'docker') {
          fail(`transports.${transport}: scope "/" is not allowed, use ""`);
        }
        map.set(scope, requirements(reqs, `transports.${transport}["${scope}"]`, fail));
      }
      policy.transports.set(transport, map);
    }
  }
  return policy;
}

function only(obj: Json, allowed: readonly string[], where: string, fail: (m: string) => never) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${where}unknown field "${key}"`);
  }
}

function requirements(
  value: unknown,
  where: string,
  fail: (m: string) => never,
): PolicyRequirement[] {
  if (!Array.isArray(value) || value.length === 0) {
    return fail(`${where} must be a non-empty array of requirements`);
  }
  return value.map((v, i) => requirement(v, `${where}[${i}]: `, fail));
}

function requirement(v: unknown, where: string, fail: (m: string) => never): PolicyRequirement {
  if (!isObject(v) || typeof v.type !== 'string')
    return fail(`${where}a requirement needs a "type"`);
  switch (v.type) {
    case 'insecureAcceptAnything':
    case 'reject':
      only(v, ['type'], where, fail);
      return { type: v.type };
    case 'sigstoreSigned': {
      only(v, ['type', ...KEY_FIELDS, ...SIGSTORE_UNSUPPORTED, 'signedIdentity'], where, fail);
      const unsupported = SIGSTORE_UNSUPPORTED.find((k) => v[k] !== undefined);
      const keys = unsupported ? {} : keySource(v, where, fail, true);
      return {
        type: 'sigstoreSigned',
        ...keys,
        signedIdentity: identity(v.signedIdentity, where, fail),
        ...(unsupported ? { unsupported } : {}),
      };
    }
    case 'signedBy': {
      only(v, ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'], where, fail);
      if (v.keyType !== 'GPGKeys') fail(`${where}keyType must be "GPGKeys"`);
      return {
        type: 'signedBy',
        keyType: 'GPGKeys',
        ...keySource(v, where, fail, false),
        signedIdentity: identity(v.signedIdentity, where, fail),
      };
    }
    default:
      return fail(`${where}unknown requirement type "${v.type}"`);
  }
}

function keySource(v: Json, where: string, fail: (m: string) => never, datas: boolean): KeySource {
  const present = KEY_FIELDS.filter((k) => v[k] !== undefined);
  if (present.length !== 1) {
    fail(`${where}exactly one of keyPath, keyPaths, keyData${datas ? ', keyDatas' : ''} is needed`);
  }
  const key = present[0]!;
  const value = v[key];
  if (key === 'keyPath' || key === 'keyData') {
    if (typeof value !== 'string' || value === '') fail(`${where}${key} must be a string`);
    return { [key]: value as string };
  }
  if (key === 'keyDatas' && !datas) fail(`${where}unknown field "keyDatas"`);
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string')) {
    return fail(`${where}${key} must be a non-empty array of strings`);
  }
  return { [key]: value as string[] };
}

function identity(v: unknown, where: string, fail: (m: string) => never): SignedIdentity {
  if (v === undefined) return { type: 'matchRepoDigestOrExact' };
  if (!isObject(v) || typeof v.type !== 'string' || !(v.type in IDENTITY_FIELDS)) {
    return fail(`${where}signedIdentity needs a known "type"`);
  }
  const fields = IDENTITY_FIELDS[v.type]!;
  only(v, ['type', ...fields], `${where}signedIdentity: `, fail);
  for (const f of fields) {
    if (typeof v[f] !== 'string' || v[f] === '') fail(`${where}signedIdentity.${f} is required`);
  }
  return v as unknown as SignedIdentity;
}

/**
 * The requirements for an image: those of the most specific scope of `transport` that
 * the policy names (`scopes` most specific first), else the transport's `""`, else
 * `default`. Also says where they came from.
 */
export function requirementsFor(
  policy: Policy,
  transport: string,
  scopes: readonly string[],
): { scope: string; requirements: PolicyRequirement[] } {
  const byScope = policy.transports.get(transport);
  for (const scope of [...scopes, '']) {
    const found =
      byScope?.get(scope) ?? (transport === 'docker' ? byHost(byScope, scope) : undefined);
    if (found) return { scope: `${transport} scope "${scope}"`, requirements: found };
  }
  return { scope: 'default', requirements: policy.default };
}

/**
 * A `docker` scope written with its host in another case (`Reg.Example` for
 * `reg.example/app`): registry hosts are compared without case (ref/registry-host.ts), so
 * an image's requirements cannot be stepped round by writing its host in upper case.
 * containers/image compares scopes exactly: a deliberate difference. The path after the
 * host is compared exactly.
 */
function byHost(
  byScope: Map<string, PolicyRequirement[]> | undefined,
  scope: string,
): PolicyRequirement[] | undefined {
  if (!byScope || scope === '') return undefined;
  const wanted = hostKeyedName(scope);
  for (const [written, requirements] of byScope) {
    if (hostKeyedName(written) === wanted) return requirements;
  }
  return undefined;
}

/** Options of {@link loadPolicy}. */
export interface LoadPolicyOptions {
  /** The file (`--policy`); default `~/.config/containers/policy.json`, else `/etc/containers/policy.json`. */
  path?: string;
  home?: string;
}

/**
 * Read policy.json. Without `path` and with neither default file present, resolves to
 * undefined (no policy: images are accepted as before ocipeek read policy.json); an
 * unreadable or invalid file is a {@link ConfigError}.
 */
export async function loadPolicy(options: LoadPolicyOptions = {}): Promise<Policy | undefined> {
  const home = options.home ?? process.env.HOME ?? homedir();
  const candidates = options.path
    ? [options.path]
    : [join(home, '.config/containers/policy.json'), '/etc/containers/policy.json'];
  for (const file of candidates) {
    let text: string;
    try {
      // Synchronous, as registries.conf is read (containers-conf/registries-conf.ts: why).
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !options.path) continue;
      throw new ConfigError(file, `cannot read policy: ${(err as Error).message}`, { cause: err });
    }
    return parsePolicy(text, file);
  }
  return undefined;
}

/** True when every scope of the policy is `insecureAcceptAnything` alone. */
export function acceptsAnything(policy: Policy): boolean {
  const trivial = (reqs: PolicyRequirement[]) =>
    reqs.every((r) => r.type === 'insecureAcceptAnything');
  return (
    trivial(policy.default) &&
    [...policy.transports.values()].every((scopes) => [...scopes.values()].every(trivial))
  );
}

/** A requirement as text for messages: `sigstoreSigned (keyPath /k.pub, matchRepoDigestOrExact)`. */
export function describeRequirement(r: PolicyRequirement): string {
  if (r.type === 'insecureAcceptAnything' || r.type === 'reject') return r.type;
  const key = KEY_FIELDS.find((k) => r[k] !== undefined);
  const keyText = key ? `${key} ${key.startsWith('keyData') ? '…' : String(r[key])}` : 'keys';
  return `${r.type} (${keyText})`;
}
