/**
 * What ocipeek may present to a registry. Any combination may be set; the authenticator
 * picks what the registry's challenge asks for.
 */
export interface Credentials {
  /** User name for Basic auth or for a token server's Basic-authenticated GET. */
  username?: string;
  /** Password (or personal access token) that goes with `username`. */
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token server. */
  identityToken?: string;
  /** A bearer token sent to the registry as is (docker's `registrytoken`). */
  registryToken?: string;
}

/** True when `c` holds anything that could authenticate. */
export function hasCredentials(c: Credentials | undefined): c is Credentials {
  return (
    c !== undefined && (Boolean(c.username) || Boolean(c.identityToken) || Boolean(c.registryToken))
  );
}

/**
 * The `Authorization` header value for HTTP Basic auth (`Basic base64(user:pass)`), or
 * undefined when `c` has no user name. An absent password is sent as empty, as docker does.
 */
export function basicAuthorization(c: Credentials | undefined): string | undefined {
  if (!c?.username) return undefined;
  return `Basic ${encodeBasicAuth(c.username, c.password ?? '')}`;
}

/** `base64(username:password)`, the `auth` field of an auth file entry. */
export function encodeBasicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/**
 * Decode an auth file's `auth` field (`base64(user:pass)`). The password may itself contain
 * colons; only the first one separates. Returns undefined when the decoded text has no colon.
 */
export function decodeBasicAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth.trim(), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
