import type { IncomingHttpHeaders } from 'node:http';

/**
 * Parsing of HTTP/1.1 response heads (status line and header fields) and the body
 * framing they announce, for the project's own plain-HTTP client
 * (`http1-connection.ts`, which says why it exists). Strict on purpose: anything that is
 * not a well-formed HTTP/1.0 or 1.1 response is an {@link HttpParseError}, never a guess.
 */

/** The most bytes a response head (status line, fields, blank line) may take. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** The most header fields one response may carry. */
const MAX_FIELDS = 500;

/**
 * A response that is not valid HTTP. `code` uses the names of Node's own parser (llhttp's
 * `HPE_*`), so code that learns from parse errors (the loopback scheme choice takes one as
 * "this port speaks TLS") treats both clients alike.
 */
export class HttpParseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`invalid HTTP response: ${message}`);
    this.name = 'HttpParseError';
    this.code = code;
  }
}

const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1');

/** Whether `bytes[from, limit)` can be the start of a status line (`HTTP/…`). */
export function startsLikeHttp(bytes: Uint8Array, from: number, limit: number): boolean {
  const n = Math.min(HTTP_PREFIX.length, limit - from);
  for (let i = 0; i < n; i++) if (bytes[from + i] !== HTTP_PREFIX[i]) return false;
  return true;
}

/** A parsed status line and header fields. */
export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  /** Lower-case names; repeated fields combined the way `node:http` does. */
  headers: IncomingHttpHeaders;
}

/** How a response's body is delimited. */
export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Everything until the server closes the connection. */
  | { kind: 'close' };

const CR = 13;
const LF = 10;

/**
 * Index just past the blank line (`\r\n\r\n`) that ends a head in `bytes[from..end)`, or
 * -1 when it is not there yet. `from` may point into the middle of the terminator.
 */
export function findHeadEnd(bytes: Uint8Array, from: number, end: number): number {
  for (let i = Math.max(from, 3); i < end; i++) {
    if (bytes[i] === LF && bytes[i - 1] === CR && bytes[i - 2] === LF && bytes[i - 3] === CR) {
      return i + 1;
    }
  }
  return -1;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Fields of which `node:http` keeps the first when repeated (its `matchKnownFields`). */
const FIRST_WINS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Parse a head: `text` is its bytes as latin1 without the final blank line. Repeated
 * fields are combined as `node:http` combines them (`set-cookie` a list, the
 * {@link FIRST_WINS} fields the first value, others joined with `, `), so callers see the
 * same `headers` whichever client answered. Differing repeated `Content-Length` values
 * are an error, as in Node's parser.
 */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = STATUS_LINE.exec(statusLine);
  if (!status) {
    if (!statusLine.startsWith('HTTP/')) {
      throw new HttpParseError('HPE_INVALID_CONSTANT', 'the answer does not start with "HTTP/"');
    }
    throw new HttpParseError(
      /^HTTP\/1\.[01] /.test(statusLine) ? 'HPE_INVALID_STATUS' : 'HPE_INVALID_VERSION',
      `bad status line ${JSON.stringify(statusLine.slice(0, 80))}`,
    );
  }
  if (lines.length - 1 > MAX_FIELDS) {
    throw new HttpParseError('HPE_HEADER_OVERFLOW', `more than ${MAX_FIELDS} header fields`);
  }
  const headers: IncomingHttpHeaders = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const field = FIELD.exec(line);
    if (!field || BAD_VALUE_CHAR.test(field[2] as string)) {
      throw new HttpParseError(
        'HPE_INVALID_HEADER_TOKEN',
        line.length === 0 || line[0] === ' ' || line[0] === '\t'
          ? 'folded or empty header line'
          : `bad header field ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    addField(headers, (field[1] as string).toLowerCase(), field[2] as string);
  }
  return {
    statusCode: Number(status[2]),
    statusMessage: status[3] ?? '',
    minorVersion: status[1] === '1' ? 1 : 0,
    headers,
  };
}

function addField(headers: IncomingHttpHeaders, name: string, value: string): void {
  const had = headers[name];
  if (had === undefined) {
    headers[name] = name === 'set-cookie' ? [value] : value;
  } else if (name === 'set-cookie') {
    (had as string[]).push(value);
  } else if (name === 'content-length') {
    if (had !== value) {
      throw new HttpParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'differing Content-Length fields');
    }
  } else if (!FIRST_WINS.has(name)) {
    headers[name] = `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
}

/**
 * How the body of a response to `method` is delimited (RFC 9112 section 6.3): none for
 * HEAD, 1xx, 204 and 304; chunked when `Transfer-Encoding` says so (it overrides any
 * `Content-Length`); else `Content-Length`; else until the connection closes. A transfer
 * coding other than plain `chunked` is refused: ocipeek never asks for one.
 */
export function bodyFraming(method: string, head: ResponseHead): BodyFraming {
  const { statusCode, headers } = head;
  if (method === 'HEAD' || statusCode < 200 || statusCode === 204 || statusCode === 304) {
    return { kind: 'none' };
  }
  const coding = headers['transfer-encoding'];
  if (coding !== undefined) {
    if (coding.trim().toLowerCase() !== 'chunked') {
      throw new HttpParseError(
        'HPE_INVALID_TRANSFER_ENCODING',
        `unsupported Transfer-Encoding ${JSON.stringify(coding)}`,
      );
    }
    return { kind: 'chunked' };
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    const n = /^\d{1,16}$/.test(length) ? Number(length) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      throw new HttpParseError(
        'HPE_INVALID_CONTENT_LENGTH',
        `bad Content-Length ${JSON.stringify(length)}`,
      );
    }
    return { kind: 'length', length: n };
  }
  return { kind: 'close' };
}

/**
 * Whether the connection may carry another request after this response: HTTP/1.1 unless
 * `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`. A chunked response
 * that also carried `Content-Length` is a framing conflict, so it is not reused either.
 */
export function keepsAlive(head: ResponseHead): boolean {
  const tokens = (head.headers.connection ?? '').toLowerCase().split(',');
  const has = (token: string) => tokens.some((t) => t.trim() === token);
  if (head.headers['transfer-encoding'] !== undefined && head.headers['content-length']) {
    return false;
  }
  return head.minorVersion === 1 ? !has('close') : has('keep-alive');
}
