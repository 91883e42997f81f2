import { CredentialsError } from '../errors/index.js';
import { childProcess } from '../node/lazy-builtins.js';
import type { Credentials } from './credentials.js';

/** Options for {@link runCredentialHelper}. */
export interface CredentialHelperOptions {
  /** Environment for the helper (and for finding it on `PATH`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Kill the helper after this many milliseconds. Default 30 000 (helpers may prompt). */
  timeoutMs?: number;
  /** Abort the lookup (the helper is killed). */
  signal?: AbortSignal;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_OUTPUT = 1024 * 1024;
// docker-credential-helpers' credentials.NewErrCredentialsNotFound() text.
const NOT_FOUND = /credentials not found/i;
/** The user name a helper returns when `Secret` is an identity (refresh) token. */
const TOKEN_USERNAME = '<token>';

interface HelperReply {
  ServerURL?: unknown;
  Username?: unknown;
  Secret?: unknown;
}

/** First line of a helper's diagnostic output, short, for an error message. */
function firstLine(text: string): string {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function run(
  file: string,
  input: string,
  options: CredentialHelperOptions,
): Promise<{ code: number | string | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = childProcess().execFile(
      file,
      ['get'],
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 30_000,
        signal: options.signal,
        maxBuffer: MAX_OUTPUT,
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as NodeJS.ErrnoException).code ?? null) : 0;
        resolve({ code, stdout, stderr, error: error ?? undefined });
      },
    );
    // A helper that exits without reading stdin makes this write fail with EPIPE; the exit
    // status reported above is what matters.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/**
 * Ask `docker-credential-<helper> get` for the credentials of `serverUrl`, as docker does:
 * the server URL on stdin, `{ServerURL, Username, Secret}` JSON on stdout. A `Username` of
 * `<token>` means `Secret` is an identity token.
 *
 * Returns undefined when the helper says it has no credentials for the server. Throws
 * {@link CredentialsError} (naming the helper, never the secret) when the helper is missing,
 * fails, times out or answers something unreadable; rethrows the abort reason when aborted.
 */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  options: CredentialHelperOptions = {},
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  if (!HELPER_NAME.test(helper)) {
    throw new CredentialsError(`invalid credential helper name "${helper}"`);
  }
  options.signal?.throwIfAborted();
  const { code, stdout, stderr, error } = await run(program, `${serverUrl}\n`, options);
  options.signal?.throwIfAborted();
  if (error) {
    if (code === 'ENOENT') {
      throw new CredentialsError(`credential helper ${program} not found on PATH`, {
        cause: error,
      });
    }
    if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return undefined;
    const killed = (error as { killed?: boolean }).killed;
    const why = killed ? 'timed out' : `failed (exit ${code})`;
    const detail = firstLine(stderr) || firstLine(stdout);
    throw new CredentialsError(
      `credential helper ${program} ${why} for ${serverUrl}${detail ? `: ${detail}` : ''}`,
    );
  }
  let reply: HelperReply;
  try {
    reply = JSON.parse(stdout) as HelperReply;
  } catch {
    // Not quoting stdout: it may hold the secret in a shape we did not expect.
    throw new CredentialsError(
      `credential helper ${program} returned invalid JSON for ${serverUrl}`,
    );
  }
  if (reply === null || typeof reply !== 'object') {
    throw new CredentialsError(
      `credential helper ${program} returned invalid JSON for ${serverUrl}`,
    );
  }
  const username = typeof reply.Username === 'string' ? reply.Username : '';
  const secret = typeof reply.Secret === 'string' ? reply.Secret : '';
  if (!secret && !username) return undefined;
  if (username === TOKEN_USERNAME) return { identityToken: secret };
  return { username, password: secret };
}
