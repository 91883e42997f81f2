/** What replaces a secret in logged headers and URLs. */
export const REDACTED = '<redacted>';

// Headers that carry credentials outright.
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-registry-auth',
  'x-registry-config',
]);
// Any other header or query parameter whose name says it holds a secret. Signed blob URLs
// (S3 `X-Amz-Signature`/`X-Amz-Credential`, Azure `sig`) are as good as a password.
const SECRET_NAME = /token|passw(or)?d|pwd|secret|signature|credential|api[-_]?key|^sig$|^key$/i;
const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9._~+-]*) +\S/;

/** A header's value as Node's and fetch's header objects hold it. */
export type HeaderValue = string | string[] | number | undefined;

function redactValue(name: string, value: string): string {
  // Keep the scheme of an Authorization value: whether Basic or Bearer was sent matters when
  // reading a log, the credential never does.
  if (name === 'authorization' || name === 'proxy-authorization') {
    const scheme = AUTH_SCHEME.exec(value)?.[1];
    return scheme ? `${scheme} ${REDACTED}` : REDACTED;
  }
  return REDACTED;
}

/** True when a header of this name should not be logged as is. */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || SECRET_NAME.test(lower);
}

/**
 * A copy of `headers` fit for a verbose log: `Authorization` and `Proxy-Authorization` keep
 * only their scheme (`Bearer <redacted>`), cookies and any header named like a token,
 * password, secret or key become `<redacted>`. Accepts a plain record (Node's
 * `string | string[]` values included) or a `Headers` object.
 */
export function redactHeaders(
  headers: Record<string, HeaderValue> | Headers,
): Record<string, string | string[]> {
  const entries: Array<[string, HeaderValue]> = isFetchHeaders(headers)
    ? [...headers.entries()]
    : Object.entries(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const secret = isSecretHeader(lower);
    if (Array.isArray(value)) {
      out[name] = secret ? value.map((v) => redactValue(lower, v)) : [...value];
    } else {
      out[name] = secret ? redactValue(lower, String(value)) : String(value);
    }
  }
  return out;
}

/**
 * Duck-typed on purpose: the first use of the global `Headers` (even `instanceof`) makes
 * Node load its built-in fetch, ~50 ms of start-up for a process that never fetches.
 */
function isFetchHeaders(headers: object): headers is Headers {
  return (
    typeof (headers as Headers).entries === 'function' &&
    typeof (headers as Headers).get === 'function'
  );
}

/**
 * `url` fit for a log: a password in the user-info part and the values of query parameters
 * named like a token, password, secret, signature or key become `<redacted>`. Text that is not
 * a URL is returned unchanged.
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return String(url);
  }
  if (u.password) u.password = REDACTED;
  let changed = false;
  const params = new URLSearchParams();
  for (const [name, value] of u.searchParams) {
    const secret = SECRET_NAME.test(name);
    changed ||= secret;
    params.append(name, secret ? REDACTED : value);
  }
  if (changed) u.search = params.toString();
  // URLSearchParams percent-encodes the marker; show it as written.
  return u.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}
