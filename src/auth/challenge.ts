/**
 * One challenge from a `WWW-Authenticate` header (RFC 7235 §4.1), such as
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
 */
export interface AuthChallenge {
  /** The auth scheme, lowercased: `bearer`, `basic`, `negotiate`, … */
  scheme: string;
  /**
   * The auth parameters, keys lowercased, values unquoted. A token68 form (`Negotiate abc==`)
   * is stored under the key `token68`.
   */
  params: Record<string, string>;
}

// RFC 7230 tchar.
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
// RFC 7235 token68, followed by optional whitespace and then a comma or the end.
const TOKEN68 = /([A-Za-z0-9._~+/-]+=*)[ \t]*(?=,|$)/y;
// Registries send unquoted values such as `realm=https://x/token`, which are not RFC tokens:
// accept anything up to whitespace or a comma.
const LOOSE_VALUE = /[^\s,]*/y;
const SPACE = /[ \t]*/y;
const SEPARATORS = /[\s,]*/y;

/**
 * A small cursor over one header value. Each `match*` method consumes what it matched and
 * returns it, or returns undefined and leaves the position alone.
 */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  match(re: RegExp): RegExpExecArray | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos = re.lastIndex;
    return m;
  }

  skip(re: RegExp): void {
    this.match(re);
  }

  /** A quoted-string starting at the cursor, with `\x` escapes resolved. */
  quoted(): string {
    let out = '';
    this.pos++; // opening quote
    while (!this.done) {
      const c = this.text[this.pos++]!;
      if (c === '"') return out;
      if (c === '\\' && !this.done) {
        out += this.text[this.pos++];
      } else {
        out += c;
      }
    }
    // Unterminated: keep what we have rather than dropping the whole challenge.
    return out;
  }
}

/** Parse the auth-params after a scheme into `params`; stops before the next challenge. */
function parseParams(cur: Cursor, params: Record<string, string>): void {
  for (;;) {
    const start = cur.pos;
    cur.skip(SEPARATORS);
    const name = cur.match(TOKEN)?.[0];
    if (name === undefined) {
      cur.pos = start;
      return;
    }
    cur.skip(SPACE);
    if (cur.peek() !== '=') {
      // `token` not followed by `=` is the scheme of the next challenge.
      cur.pos = start;
      return;
    }
    cur.pos++;
    cur.skip(SPACE);
    const value = cur.peek() === '"' ? cur.quoted() : (cur.match(LOOSE_VALUE)?.[0] ?? '');
    const key = name.toLowerCase();
    // The first occurrence wins, as a duplicate parameter is invalid (RFC 7235 §2.1).
    if (!(key in params)) params[key] = value;
    cur.skip(SPACE);
    if (cur.peek() !== ',') return;
  }
}

function parseOne(header: string, out: AuthChallenge[]): void {
  const cur = new Cursor(header);
  while (!cur.done) {
    cur.skip(SEPARATORS);
    if (cur.done) break;
    const scheme = cur.match(TOKEN)?.[0];
    if (scheme === undefined) {
      cur.pos++; // not a token: skip the stray character and resynchronise
      continue;
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    const afterScheme = cur.pos;
    cur.skip(SPACE);
    if (cur.pos === afterScheme || cur.done || cur.peek() === ',') {
      // No space after the scheme means no parameters (`Negotiate, Basic realm=x`).
      continue;
    }
    const t68 = cur.match(TOKEN68);
    if (t68) {
      challenge.params.token68 = t68[1]!;
      continue;
    }
    parseParams(cur, challenge.params);
  }
}

/**
 * Parse a `WWW-Authenticate` header into its challenges, in order.
 *
 * Handles several challenges in one value, quoted values with escaped quotes and commas,
 * unquoted values, token68 forms and loose whitespace. `header` may be an array of header
 * values (as some HTTP clients return repeated headers); their challenges are concatenated.
 * Malformed parts are skipped rather than thrown on: a registry's odd header should not stop
 * a request that could still authenticate with the challenges that do parse.
 */
export function parseWwwAuthenticate(
  header: string | readonly string[] | undefined,
): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  if (header === undefined) return out;
  for (const value of typeof header === 'string' ? [header] : header) parseOne(value, out);
  return out;
}
