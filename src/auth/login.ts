import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import { crypto } from '../node/lazy-builtins.js';
import {
  type AuthFileContents,
  type AuthFileEntry,
  type AuthFileLocationOptions,
  authFileWritePath,
  readAuthFile,
} from './auth-file.js';
import { type Credentials, encodeBasicAuth } from './credentials.js';
import { normalizeAuthKey } from './registry-key.js';

/** Options for {@link login}. */
export interface LoginOptions extends AuthFileLocationOptions {
  /** Abort before the file is replaced. */
  signal?: AbortSignal;
}

/** Options for {@link logout}. */
export interface LogoutOptions extends AuthFileLocationOptions {
  /** Abort before the file is replaced. */
  signal?: AbortSignal;
}

function toEntry(credentials: Credentials): AuthFileEntry {
  const entry: AuthFileEntry = {};
  if (credentials.username) {
    entry.auth = encodeBasicAuth(credentials.username, credentials.password ?? '');
  }
  if (credentials.identityToken) entry.identitytoken = credentials.identityToken;
  if (credentials.registryToken) entry.registrytoken = credentials.registryToken;
  return entry;
}

/** Remove every `auths` key that names `key` under another spelling; true if any did. */
function removeAliases(auths: Record<string, AuthFileEntry>, key: string): boolean {
  let removed = false;
  for (const k of Object.keys(auths)) {
    if (k === key || normalizeAuthKey(k) === key) {
      delete auths[k];
      removed = true;
    }
  }
  return removed;
}

/**
 * Replace `path` with `contents` atomically: a 0600 temp file in the same directory (created
 * 0700 if missing), fsynced, then renamed over the old file, so a crash never leaves half a
 * file and other readers never see one.
 */
async function writeAuthFile(path: string, contents: AuthFileContents): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(
    dir,
    `.${basename(path)}.${process.pid}.${crypto().randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(contents, null, '\t')}\n`, 'utf8');
    await handle.sync();
    await handle.close();
    // The umask may have narrowed the mode, never widened it; make it exact anyway.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Store `credentials` for `registry` (a host, `host:port`, or a `host/namespace/repo` prefix)
 * in the containers auth file ({@link authFileWritePath}), as `podman login` does. Other
 * registries' entries and other fields are kept; older spellings of the same key
 * (`https://index.docker.io/v1/` for `docker.io`) are replaced. Returns the file written.
 * Throws {@link CredentialsError} when the existing file is malformed (it is left alone).
 */
export async function login(
  registry: string,
  credentials: Credentials,
  options: LoginOptions = {},
): Promise<string> {
  const key = normalizeAuthKey(registry);
  if (!key) throw new InvalidArgumentError('login needs a registry name');
  const entry = toEntry(credentials);
  if (Object.keys(entry).length === 0) {
    throw new InvalidArgumentError('login needs a username, an identity token or a registry token');
  }
  const path = authFileWritePath(options);
  const contents = (await readAuthFile(path, { signal: options.signal })) ?? {};
  const auths = { ...(contents.auths ?? {}) };
  removeAliases(auths, key);
  auths[key] = entry;
  options.signal?.throwIfAborted();
  await writeAuthFile(path, { ...contents, auths });
  return path;
}

/**
 * Remove the stored credentials for `registry` (every spelling of its key) from the
 * containers auth file. Returns true when an entry was removed; the file is not rewritten
 * otherwise.
 */
export async function logout(registry: string, options: LogoutOptions = {}): Promise<boolean> {
  const key = normalizeAuthKey(registry);
  const path = authFileWritePath(options);
  const contents = await readAuthFile(path, { signal: options.signal });
  if (!contents?.auths) return false;
  const auths = { ...contents.auths };
  if (!removeAliases(auths, key)) return false;
  options.signal?.throwIfAborted();
  await writeAuthFile(path, { ...contents, auths });
  return true;
}

/**
 * Remove every registry's stored credentials from the containers auth file (`logout
 * --all`, as podman's): `auths` is emptied, other fields (`credHelpers`, `credsStore`) are
 * kept, since they name programs rather than hold secrets. Returns the keys removed; the
 * file is not rewritten when there were none.
 */
export async function logoutAll(options: LogoutOptions = {}): Promise<string[]> {
  const path = authFileWritePath(options);
  const contents = await readAuthFile(path, { signal: options.signal });
  const keys = Object.keys(contents?.auths ?? {});
  if (!contents || keys.length === 0) return [];
  options.signal?.throwIfAborted();
  await writeAuthFile(path, { ...contents, auths: {} });
  return keys;
}
