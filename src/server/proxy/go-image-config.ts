import { InvalidManifestError } from '../../errors/index.js';
import { goArray, goMap, goObject, goString } from './go-json.js';
import { goTimeText } from './go-time.js';

/*
 * An image config read into the OCI `Image` struct and written back, as skopeo does for
 * `GetConfig`, `GetFullConfig` and the config of a Docker manifest converted to OCI:
 * Go's `json.Unmarshal` into image-spec's struct (the revision skopeo 1.9.3 vendors), then
 * `json.Marshal`. Fields the struct lacks (Docker's `container_config`, `docker_version`,
 * `Hostname`, …) are dropped, keys match case-insensitively, `omitempty` fields that are
 * empty go, a missing `rootfs.diff_ids` becomes `null`, and times are rewritten
 * (go-time.ts). The schema below is the struct, field by field, in declaration order.
 */

type GoType =
  | 'string'
  | 'bool'
  | 'time'
  | { ptr: GoType }
  | { slice: GoType }
  | { map: GoType }
  | { struct: string; fields: readonly GoFieldType[] };

interface GoFieldType {
  name: string;
  type: GoType;
  omitempty?: boolean;
}

const EMPTY_STRUCT: GoType = { struct: 'struct {}', fields: [] };
const STRINGS: GoType = { slice: 'string' };
const TIME_PTR: GoType = { ptr: 'time' };

const IMAGE_CONFIG: GoType = {
  struct: 'ImageConfig',
  fields: [
    { name: 'User', type: 'string', omitempty: true },
    { name: 'ExposedPorts', type: { map: EMPTY_STRUCT }, omitempty: true },
    { name: 'Env', type: STRINGS, omitempty: true },
    { name: 'Entrypoint', type: STRINGS, omitempty: true },
    { name: 'Cmd', type: STRINGS, omitempty: true },
    { name: 'Volumes', type: { map: EMPTY_STRUCT }, omitempty: true },
    { name: 'WorkingDir', type: 'string', omitempty: true },
    { name: 'Labels', type: { map: 'string' }, omitempty: true },
    { name: 'StopSignal', type: 'string', omitempty: true },
  ],
};

const HISTORY: GoType = {
  struct: 'History',
  fields: [
    { name: 'created', type: TIME_PTR, omitempty: true },
    { name: 'created_by', type: 'string', omitempty: true },
    { name: 'author', type: 'string', omitempty: true },
    { name: 'comment', type: 'string', omitempty: true },
    { name: 'empty_layer', type: 'bool', omitempty: true },
  ],
};

const IMAGE: GoType = {
  struct: 'Image',
  fields: [
    { name: 'created', type: TIME_PTR, omitempty: true },
    { name: 'author', type: 'string', omitempty: true },
    { name: 'architecture', type: 'string' },
    { name: 'variant', type: 'string', omitempty: true },
    { name: 'os', type: 'string' },
    { name: 'os.version', type: 'string', omitempty: true },
    { name: 'os.features', type: STRINGS, omitempty: true },
    // `omitempty` never leaves out a struct.
    { name: 'config', type: IMAGE_CONFIG, omitempty: true },
    {
      name: 'rootfs',
      type: {
        struct: 'RootFS',
        fields: [
          { name: 'type', type: 'string' },
          { name: 'diff_ids', type: STRINGS },
        ],
      },
    },
    { name: 'history', type: { slice: HISTORY }, omitempty: true },
  ],
};

/** A decoded Go value: strings, booleans, time texts, null (nil), arrays, Maps, structs. */
type GoData = string | boolean | null | GoData[] | Map<string, GoData> | GoStruct;
type GoStruct = { [field: string]: GoData };

function zero(type: GoType): GoData {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'time') return '0001-01-01T00:00:00Z';
  if ('struct' in type) {
    return Object.fromEntries(type.fields.map((f) => [f.name, zero(f.type)]));
  }
  return null;
}

function typeName(type: GoType): string {
  if (typeof type === 'string') return type === 'time' ? 'time.Time' : type;
  if ('ptr' in type) return `*${typeName(type.ptr)}`;
  if ('slice' in type) return `[]${typeName(type.slice)}`;
  if ('map' in type) return `map[string]${typeName(type.map)}`;
  return `v1.${type.struct}`;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

function mismatch(value: unknown, type: GoType, path: string): InvalidManifestError {
  return new InvalidManifestError(
    `image config: cannot read a JSON ${jsonKind(value)} into ${path} (${typeName(type)})`,
  );
}

/** Go's `json.Unmarshal` of `value` into a `type` that holds `current`. */
function decode(type: GoType, value: unknown, current: GoData, path: string): GoData {
  if (value === null) {
    // null sets pointers, slices and maps to nil and leaves everything else as it was.
    return typeof type === 'object' && !('struct' in type) ? null : current;
  }
  if (type === 'string' || type === 'time') {
    if (typeof value !== 'string') throw mismatch(value, type, path);
    return type === 'time' ? goTimeText(value) : value;
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw mismatch(value, type, path);
    return value;
  }
  if ('ptr' in type) return decode(type.ptr, value, current ?? zero(type.ptr), path);
  if ('slice' in type) {
    if (!Array.isArray(value)) throw mismatch(value, type, path);
    return value.map((v, i) => decode(type.slice, v, zero(type.slice), `${path}[${i}]`));
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw mismatch(value, type, path);
  const entries = Object.entries(value as Record<string, unknown>);
  if ('map' in type) {
    // Go adds to a map it decodes into again; each element starts from zero.
    const map = current instanceof Map ? current : new Map<string, GoData>();
    for (const [k, v] of entries) map.set(k, decode(type.map, v, zero(type.map), `${path}.${k}`));
    return map;
  }
  const out: GoStruct = { ...(current as GoStruct) };
  for (const [key, v] of entries) {
    const field =
      type.fields.find((f) => f.name === key) ??
      type.fields.find((f) => f.name.toLowerCase() === key.toLowerCase());
    if (field) out[field.name] = decode(field.type, v, out[field.name]!, `${path}.${field.name}`);
  }
  return out;
}

function isEmpty(type: GoType, value: GoData): boolean {
  if (typeof type === 'object' && 'struct' in type) return false;
  if (value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return value instanceof Map && value.size === 0;
}

/** Go's `json.Marshal` of a decoded value. */
function encode(type: GoType, value: GoData): string {
  if (type === 'string' || type === 'time') return goString(value as string);
  if (type === 'bool') return value ? 'true' : 'false';
  if ('ptr' in type) return value === null ? 'null' : encode(type.ptr, value);
  if ('slice' in type) return goArray(value as GoData[] | null, (v) => encode(type.slice, v));
  if ('map' in type) {
    return goMap(value as Map<string, GoData> | null, (v) => encode(type.map, v));
  }
  const struct = value as GoStruct;
  return goObject(
    type.fields.map((f) => {
      const v = struct[f.name]!;
      return [f.name, f.omitempty && isEmpty(f.type, v) ? undefined : encode(f.type, v)] as const;
    }),
  );
}

/** An image config as skopeo serves it: the whole `Image`, and its runtime `config`. */
export interface GoImageConfig {
  /** `GetFullConfig`'s bytes; also the config of a Docker manifest converted to OCI. */
  full: Buffer;
  /** `GetConfig`'s bytes: the `config` object alone. */
  runtime: Buffer;
}

/** Read config bytes into the OCI `Image` struct and write it back as Go would. */
export function goImageConfig(bytes: Buffer): GoImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new InvalidManifestError('image config is not valid JSON', { cause });
  }
  const image = decode(IMAGE, json, zero(IMAGE), 'Image') as GoStruct;
  return {
    full: Buffer.from(encode(IMAGE, image)),
    runtime: Buffer.from(encode(IMAGE_CONFIG, image.config!)),
  };
}
