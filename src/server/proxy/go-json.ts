/*
 * JSON text exactly as Go's encoding/json writes it (Go 1.19, the version skopeo 1.9.3 is
 * built with). The proxy's clients were written against skopeo, and some compare or hash
 * what it sends: replies, converted manifests and configs must be byte for byte the same.
 * `JSON.stringify` differs in three ways that matter: Go escapes `<`, `>` and `&` (HTML
 * safety), U+2028 and U+2029, and writes control characters other than \n \r \t as
 * \u00XX; it also sorts map keys by their UTF-8 bytes.
 */

const HEX = '0123456789abcdef';

/** The characters Go writes as a two-character escape. */
const SHORT: Record<number, string> = { 34: '\\"', 92: '\\\\', 10: '\\n', 13: '\\r', 9: '\\t' };

/** How Go writes UTF-16 unit `c` of a string, or undefined when it writes it as is. */
function goEscape(c: number): string | undefined {
  if (c < 0x20 || c === 0x22 || c === 0x5c) return SHORT[c] ?? `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
  // HTML safety: <, > and & are escaped too.
  if (c === 0x3c || c === 0x3e || c === 0x26) return `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
  if (c === 0x2028 || c === 0x2029) return `\\u${c.toString(16)}`;
  return undefined;
}

/** A string as a Go JSON string literal. */
export function goString(text: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let replacement = goEscape(c);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        i++;
        continue;
      }
      // Go's strings hold UTF-8: a lone surrogate decodes to U+FFFD, written as is.
      replacement = '\ufffd';
    }
    if (replacement === undefined) continue;
    out += text.slice(start, i) + replacement;
    start = i + 1;
  }
  return `${out + text.slice(start)}"`;
}

/** A field of a Go struct: its JSON text, or undefined when `omitempty` leaves it out. */
export type GoField = readonly [name: string, json: string | undefined];

/** A Go struct: fields in declaration order, omitted ones skipped. */
export function goObject(fields: readonly GoField[]): string {
  const parts: string[] = [];
  for (const [name, json] of fields) {
    if (json !== undefined) parts.push(`${goString(name)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

/** A Go slice: `null` when nil, else its elements. */
export function goArray<T>(items: readonly T[] | null, encode: (item: T) => string): string {
  return items === null ? 'null' : `[${items.map(encode).join(',')}]`;
}

/** A Go map with string keys: `null` when nil, else keys sorted by their UTF-8 bytes. */
export function goMap<T>(map: ReadonlyMap<string, T> | null, encode: (value: T) => string): string {
  if (map === null) return 'null';
  const keys = [...map.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goString(k)}:${encode(map.get(k) as T)}`).join(',')}}`;
}

/**
 * A JSON value built from plain data (the proxy's replies): objects keep their key order
 * (they stand for Go structs), numbers must be integers.
 */
export function goValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return goArray(value, goValue);
  if (typeof value === 'object') {
    return goObject(Object.entries(value).map(([k, v]) => [k, goValue(v)] as const));
  }
  throw new TypeError(`cannot encode ${typeof value}`);
}
