import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError } from '../errors/index.js';
import { type Credentials, decodeBasicAuth } from './credentials.js';
import { authKeyCandidates, normalizeAuthKey, normalizeRegistry } from './registry-key.js';

/** Where to look for auth files; every field defaults to the real environment. */
export interface AuthFileLocationOptions {
  /** An explicit auth file: when set, it is the only file read or written. */
  authFile?: string;
  /** Environment variables to read (`REGISTRY_AUTH_FILE`, `XDG_*`, `DOCKER_CONFIG`). */
  env?: NodeJS.ProcessEnv;
  /** The home directory. Default `os.homedir()`. */
  homeDir?: string;
}

/** One `auths` entry of a containers auth.json or docker config.json. */
export interface AuthFileEntry {
  /** `base64(username:password)`. */
  auth?: string;
  /** An OAuth2 refresh token. */
  identitytoken?: string;
  /** A bearer token for the registry itself. */
  registrytoken?: string;
  [other: string]: unknown;
}

/** The parts of an auth file ocipeek reads; other fields are kept when writing. */
export interface AuthFileContents {
  auths?: Record<string, AuthFileEntry>;
  /** Per-registry credential helpers: `{ "gcr.io": "gcloud" }`. */
  credHelpers?: Record<string, string>;
  /** The default credential helper for every registry. */
  credsStore?: string;
  [other: string]: unknown;
}

function env(options: AuthFileLocationOptions): NodeJS.ProcessEnv {
  return options.env ?? process.env;
}

function home(options: AuthFileLocationOptions): string {
  return options.homeDir ?? homedir();
}

function xdgConfigAuthFile(options: AuthFileLocationOptions): string {
  const configHome = env(options).XDG_CONFIG_HOME || join(home(options), '.config');
  return join(configHome, 'containers', 'auth.json');
}

/**
 * The auth files to read, in order, as containers/image and docker look for them: the
 * explicit `authFile` alone when given; else `$REGISTRY_AUTH_FILE`,
 * `$XDG_RUNTIME_DIR/containers/auth.json`, `$XDG_CONFIG_HOME/containers/auth.json`
 * (`~/.config/containers/auth.json`), then `$DOCKER_CONFIG/config.json`
 * (`~/.docker/config.json`). Unset variables are skipped.
 */
export function authFileSearchPath(options: AuthFileLocationOptions = {}): string[] {
  if (options.authFile) return [options.authFile];
  const e = env(options);
  const paths: string[] = [];
  if (e.REGISTRY_AUTH_FILE) paths.push(e.REGISTRY_AUTH_FILE);
  if (e.XDG_RUNTIME_DIR) paths.push(join(e.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(xdgConfigAuthFile(options));
  paths.push(join(e.DOCKER_CONFIG || join(home(options), '.docker'), 'config.json'));
  return [...new Set(paths)];
}

/**
 * The auth file `login` and `logout` write, as podman and skopeo do: `authFile`, else
 * `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` when that variable is
 * set, else `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/containers/auth.json`).
 */
export function authFileWritePath(options: AuthFileLocationOptions = {}): string {
  if (options.authFile) return options.authFile;
  const e = env(options);
  if (e.REGISTRY_AUTH_FILE) return e.REGISTRY_AUTH_FILE;
  if (e.XDG_RUNTIME_DIR) return join(e.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return xdgConfigAuthFile(options);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Read and check an auth file. Returns undefined when the file does not exist; an empty
 * file reads as `{}`. Throws {@link CredentialsError} naming the file when it cannot be read
 * or is not an auth file (malformed JSON, `auths` not an object, …).
 */
export async function readAuthFile(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<AuthFileContents | undefined> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if ((err as Error).name === 'AbortError') throw err;
    throw new CredentialsError(`cannot read auth file ${path}: ${code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // The parser's message may quote file content (a secret), so give only the position.
    const where = /position \d+/.exec((err as Error).message)?.[0];
    throw new CredentialsError(
      `malformed auth file ${path}: invalid JSON${where ? ` at ${where}` : ''}`,
    );
  }
  if (!isRecord(data)) throw new CredentialsError(`malformed auth file ${path}: not a JSON object`);
  if (data.auths !== undefined && !isRecord(data.auths)) {
    throw new CredentialsError(`malformed auth file ${path}: "auths" is not an object`);
  }
  if (data.credHelpers !== undefined && !isRecord(data.credHelpers)) {
    throw new CredentialsError(`malformed auth file ${path}: "credHelpers" is not an object`);
  }
  if (data.credsStore !== undefined && typeof data.credsStore !== 'string') {
    throw new CredentialsError(`malformed auth file ${path}: "credsStore" is not a string`);
  }
  return data as AuthFileContents;
}

/** True when an `auths` entry holds any credential (docker leaves `{}` with a credsStore). */
function entryHasSecret(entry: unknown): entry is AuthFileEntry {
  return (
    isRecord(entry) &&
    (Boolean(entry.auth) || Boolean(entry.identitytoken) || Boolean(entry.registrytoken))
  );
}

/**
 * The `auths` entry for `repository` on `registry`: the most specific path prefix wins
 * (`host/ns/repo`, then `host/ns`, then `host`), an exact key before a key that only matches
 * once normalised (`https://index.docker.io/v1/` for `docker.io`). Entries with no credential
 * in them are ignored.
 */
export function findAuthEntry(
  contents: AuthFileContents,
  registry: string,
  repository?: string,
): { key: string; entry: AuthFileEntry } | undefined {
  const auths = contents.auths ?? {};
  const normalized = new Map<string, string>();
  for (const key of Object.keys(auths)) {
    const n = normalizeAuthKey(key);
    if (!normalized.has(n)) normalized.set(n, key);
  }
  for (const candidate of authKeyCandidates(registry, repository)) {
    const exact = Object.hasOwn(auths, candidate) ? auths[candidate] : undefined;
    if (entryHasSecret(exact)) return { key: candidate, entry: exact };
    const key = normalized.get(candidate);
    if (key !== undefined && entryHasSecret(auths[key])) return { key, entry: auths[key] };
  }
  return undefined;
}

/** The helper named in `credHelpers` for `registry` (keys compared normalised). */
export function findCredHelper(contents: AuthFileContents, registry: string): string | undefined {
  const helpers = contents.credHelpers ?? {};
  const wanted = normalizeRegistry(registry);
  for (const [key, helper] of Object.entries(helpers)) {
    if (typeof helper === 'string' && helper && normalizeAuthKey(key) === wanted) return helper;
  }
  return undefined;
}

/**
 * Turn an `auths` entry into {@link Credentials}. Throws {@link CredentialsError} naming the
 * file and key (not the value) when `auth` does not decode to `user:password`.
 */
export function entryCredentials(path: string, key: string, entry: AuthFileEntry): Credentials {
  const creds: Credentials = {};
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = decodeBasicAuth(entry.auth);
    if (!decoded) {
      throw new CredentialsError(
        `malformed auth file ${path}: "auth" for "${key}" is not base64 user:password`,
      );
    }
    creds.username = decoded.username;
    creds.password = decoded.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
    creds.identityToken = entry.identitytoken;
  }
  if (typeof entry.registrytoken === 'string' && entry.registrytoken) {
    creds.registryToken = entry.registrytoken;
  }
  return creds;
}
