/*
 * Argument checks of the JSON protocol with skopeo's error texts (cmd/skopeo/proxy.go of
 * skopeo 1.9.3, protocol 0.2.3; the methods added up to 0.2.8 follow the later file), so
 * a client that shows or matches them sees what it saw with skopeo. Go's `%T` names the
 * JSON value's Go type after `json.Unmarshal` into `interface{}`.
 */

import { hasDigestShape } from '../../digest/index.js';

/** A request the proxy refuses; `message` is the reply's `error`. */
export class ProxyRequestError extends Error {}

/** `%T` of a decoded JSON value. */
export function goTypeOf(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Number.MAX_SAFE_INTEGER: skopeo refuses larger integers. */
const MAX_JSON_FLOAT = 2 ** 53 - 1;

/** Go's `%f`: every digit, six decimals (`toFixed` turns exponential from 1e21 up). */
function goFloat(value: number): string {
  return Number.isInteger(value) ? `${BigInt(value)}.000000` : value.toFixed(6);
}

/** skopeo's `parseUint64`: a JSON number within the safe integers. */
export function parseUint64(value: unknown): number {
  if (typeof value !== 'number') {
    throw new ProxyRequestError(`expecting numeric, not ${goTypeOf(value)}`);
  }
  if (value > MAX_JSON_FLOAT) {
    throw new ProxyRequestError(`out of range integer for numeric ${goFloat(value)}`);
  }
  return Math.max(0, Math.trunc(value));
}

/** skopeo 1.9.3's `parseImageID`: any JSON number, truncated to uint32. */
export function parseImageId(value: unknown): number {
  if (typeof value !== 'number') {
    throw new ProxyRequestError(`expecting integer imageid, not ${goTypeOf(value)}`);
  }
  return Math.trunc(value) >>> 0;
}

/** Digest algorithms go-digest knows, with their hex lengths (skopeo links all three). */
const HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's `Parse`, with its error texts. */
export function checkDigest(digest: string): void {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon + 1 === digest.length) {
    throw new ProxyRequestError('invalid checksum digest format');
  }
  const length = HEX_LENGTHS[digest.slice(0, colon)];
  if (length === undefined) {
    throw new ProxyRequestError(
      hasDigestShape(digest) ? 'unsupported digest algorithm' : 'invalid checksum digest format',
    );
  }
  const hex = digest.slice(colon + 1);
  if (hex.length !== length) throw new ProxyRequestError('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new ProxyRequestError('invalid checksum digest format');
}

/** A request as skopeo decodes it: `method` and `args`, keys matched case-insensitively. */
export interface ProxyRequest {
  method: string;
  args: unknown[];
}

function field(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const key = Object.keys(object).findLast((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : object[key];
}

/** Decode a request packet; errors read as skopeo's `invalid request: …`. */
export function parseRequest(packet: Buffer): ProxyRequest {
  let json: unknown;
  try {
    json = JSON.parse(packet.toString('utf8'));
  } catch (err) {
    throw new ProxyRequestError(`invalid request: ${(err as Error).message}`);
  }
  const kind = Array.isArray(json) ? 'array' : json === null ? 'null' : typeof json;
  if (kind === 'null') return { method: '', args: [] };
  if (kind !== 'object') {
    throw new ProxyRequestError(
      `invalid request: json: cannot unmarshal ${kind} into Go value of type main.request`,
    );
  }
  const object = json as Record<string, unknown>;
  const method = field(object, 'method') ?? '';
  const args = field(object, 'args') ?? [];
  if (typeof method !== 'string') {
    throw new ProxyRequestError(
      `invalid request: json: cannot unmarshal ${goJsonKind(method)} into Go struct field request.method of type string`,
    );
  }
  if (!Array.isArray(args)) {
    throw new ProxyRequestError(
      `invalid request: json: cannot unmarshal ${goJsonKind(args)} into Go struct field request.args of type []interface {}`,
    );
  }
  return { method, args };
}

/** How Go's decoder names a JSON value's kind in type errors. */
function goJsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}
