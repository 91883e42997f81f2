import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../errors/index.js';
import {
  DOMAIN_COMPONENT_PATTERN,
  DOMAIN_NAME_PATTERN,
  PATH_COMPONENT_PATTERN,
  parseReference,
  type Reference,
  registryHostProblem,
} from '../ref/index.js';
import { isWildcardPrefix } from './registry-prefix.js';
import { parseSimpleToml } from './simple-toml.js';
import { TomlFields, type TomlTable } from './toml-fields.js';

/** `pull-from-mirror`: which references a mirror serves. */
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

/** `short-name-mode`. */
export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

/** A place images are pulled from: a `[[registry]]`'s location or one of its mirrors. */
export interface RegistryEndpoint {
  /** `host[:port][/namespace]`; empty only for a wildcard prefix without location. */
  location: string;
  /** Skip TLS verification and allow plain HTTP. */
  insecure: boolean;
  /** Mirrors only; undefined means `all`. */
  pullFromMirror?: PullFromMirror;
}

/** One `[[registry]]` table. */
export interface RegistryEntry extends RegistryEndpoint {
  /** What it matches (defaults to the location): a namespace or `*.example.com`. */
  prefix: string;
  blocked: boolean;
  /** Mirrors only for references by digest (the older form of `pull-from-mirror`). */
  mirrorByDigestOnly: boolean;
  mirrors: RegistryEndpoint[];
  /** The file that defined it, for messages. */
  file: string;
}

/** An alias: the name it stands for, or null when a later file removed it (`""`). */
export interface ShortNameAlias {
  value: Reference | null;
  file: string;
}

/** What one registries.conf file (or drop-in) says; undefined fields are not set there. */
export interface RegistriesConfFile {
  file: string;
  registries: RegistryEntry[];
  searchRegistries?: string[];
  shortNameMode?: ShortNameMode;
  aliases: Map<string, ShortNameAlias>;
}

const PULL_FROM_MIRROR = new Set(['all', 'digest-only', 'tag-only']);
const SHORT_NAME_MODES = new Set(['enforcing', 'permissive', 'disabled']);
/**
 * A whole line that is a comment (blanks, `#`, text without control characters), up to
 * its line break. Control characters, `\u2028` and `\u2029` are left out so that such a
 * line still reaches the parser and fails there as it would.
 */
const COMMENT_LINE = /(^|\n)[ \t]*#[^\x00-\x08\x0a-\x1f\x7f\u2028\u2029]*(?=\r?\n|$)/g;

/**
 * `text` with its comment lines emptied (line breaks kept, so error lines stay right).
 *
 * Why: the registries.conf files distributions ship are mostly comments (Debian's is
 * nothing else), and smol-toml walks a comment one character a call; that loop gets hot
 * enough for V8 to optimize it, and the optimizing compiler's memory raised every
 * command's peak RSS by ~4 MB (bench/ANALYSIS.md, fourth session). A line whose first
 * non-blank character is `#` is a comment wherever TOML allows a line break, except
 * inside a multi-line string: text with one is parsed as it is.
 */
export function withoutCommentLines(text: string): string {
  if (text.includes('"""') || text.includes("'''")) return text;
  return text.replace(COMMENT_LINE, '$1');
}

/** Parse TOML text, a syntax error becoming a {@link ConfigError} naming the file. */
export function parseToml(text: string, file: string): TomlTable {
  try {
    const stripped = withoutCommentLines(text);
    return parseSimpleToml(stripped) ?? (parse(stripped) as TomlTable);
  } catch (err) {
    const detail = err instanceof TomlError ? `line ${err.line}: ${firstLine(err.message)}` : err;
    throw new ConfigError(file, `invalid TOML (${detail})`, { cause: err });
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/**
 * A location without trailing slashes; URL schemes are refused (containers/image).
 *
 * Prefixes and locations (`host[:port][/namespace]`, or `*.example.com` for a prefix) are
 * not held to the registry host rule (`isRegistryHost`) here, on purpose: containers/image
 * does not check them either, and these files are shared with podman and skopeo, so a
 * file they read must not stop every ocipeek command. The rule still applies where it
 * matters: a reference rewritten to a location is parsed by `parseReference` (an endpoint
 * with a bad host fails then, naming it), and a prefix that is no host matches no
 * reference, since a reference's host passed the rule.
 */
function parseLocation(input: string, file: string): string {
  const trimmed = input.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) {
    throw new ConfigError(file, `invalid location "${input}": URI schemes are not supported`);
  }
  return trimmed;
}

/**
 * Parse one registries.conf file: version 2 (`[[registry]]`, `unqualified-search-registries`,
 * `short-name-mode`, `[aliases]`), or version 1 (`[registries.search]` and friends, not
 * allowed in drop-ins: `forceV2`), checked as containers/image checks it.
 */
export function parseRegistriesConf(
  text: string,
  file: string,
  forceV2 = false,
): RegistriesConfFile {
  const root = new TomlFields(file, parseToml(text, file));
  const v1 = root.subtable('registries');
  if (v1 && Object.keys(v1).length > 0) {
    if (forceV2) throw new ConfigError(file, 'a drop-in must use the version 2 format');
    const v2Keys = ['registry', 'unqualified-search-registries', 'short-name-mode', 'aliases'];
    if (v2Keys.some((k) => root.has(k))) {
      throw new ConfigError(
        file,
        'mixing version 1 ([registries.*]) and version 2 is not supported',
      );
    }
    return convertV1(new TomlFields(file, v1, 'registries.'), file);
  }
  const registries = root.tables('registry').map((t, i) => parseRegistry(t, i, file));
  const conf: RegistriesConfFile = {
    file,
    registries: checkRegistries(registries, file),
    aliases: parseAliases(root.subtable('aliases'), file),
  };
  const search = root.strings('unqualified-search-registries');
  if (search) conf.searchRegistries = search.map((s) => checkSearchRegistry(s, file));
  const mode = root.string('short-name-mode');
  if (mode !== undefined && mode !== '') {
    if (!SHORT_NAME_MODES.has(mode)) {
      throw new ConfigError(
        file,
        `invalid short-name-mode "${mode}" (enforcing, permissive or disabled)`,
      );
    }
    conf.shortNameMode = mode as ShortNameMode;
  }
  return conf;
}

function checkSearchRegistry(entry: string, file: string): string {
  const registry = parseLocation(entry, file);
  // containers/image checks these entries with its anchoredDomainRegexp, distribution's
  // domainAndPort: the references' own host rule.
  const problem = registryHostProblem(registry);
  if (problem !== undefined) {
    throw new ConfigError(
      file,
      `invalid unqualified-search-registries entry "${entry}": ${problem}`,
    );
  }
  return registry;
}

function parseRegistry(table: TomlTable, index: number, file: string): RegistryEntry {
  const f = new TomlFields(file, table, `registry[${index}].`);
  const location = parseLocation(f.string('location') ?? '', file);
  let prefix = f.string('prefix') ?? '';
  if (prefix === '') {
    if (location === '')
      throw new ConfigError(file, `registry[${index}] has neither prefix nor location`);
    prefix = location;
  } else {
    prefix = parseLocation(prefix, file);
    if (!isWildcardPrefix(prefix) && location === '') {
      throw new ConfigError(
        file,
        `registry "${prefix}" has no location and its prefix is not *.example.com`,
      );
    }
    if (isWildcardPrefix(prefix) && /[/@:]/.test(prefix)) {
      throw new ConfigError(
        file,
        `wildcard prefix "${prefix}" must be *.example.com (no port or namespace)`,
      );
    }
  }
  if (f.has('pull-from-mirror')) {
    throw new ConfigError(
      file,
      `pull-from-mirror must not be set for the non-mirror registry "${prefix}"`,
    );
  }
  const entry: RegistryEntry = {
    prefix,
    location,
    insecure: f.boolean('insecure'),
    blocked: f.boolean('blocked'),
    mirrorByDigestOnly: f.boolean('mirror-by-digest-only'),
    mirrors: [],
    file,
  };
  f.tables('mirror').forEach((m, j) => {
    const mf = new TomlFields(file, m, `registry[${index}].mirror[${j}].`);
    const mirrorLocation = parseLocation(mf.string('location') ?? '', file);
    if (mirrorLocation === '')
      throw new ConfigError(file, `a mirror of "${prefix}" has no location`);
    const mode = mf.string('pull-from-mirror') || undefined;
    if (mode !== undefined && entry.mirrorByDigestOnly) {
      throw new ConfigError(
        file,
        `"${prefix}" sets mirror-by-digest-only and its mirror "${mirrorLocation}" sets pull-from-mirror: choose one`,
      );
    }
    if (mode !== undefined && !PULL_FROM_MIRROR.has(mode)) {
      throw new ConfigError(
        file,
        `unsupported pull-from-mirror "${mode}" for mirror "${mirrorLocation}"`,
      );
    }
    entry.mirrors.push({
      location: mirrorLocation,
      insecure: mf.boolean('insecure'),
      pullFromMirror: mode as PullFromMirror | undefined,
    });
  });
  return entry;
}

/**
 * One entry a prefix (the first wins, as in containers/image), sorted by prefix; entries
 * for one location must agree on `insecure` and `blocked`.
 */
function checkRegistries(registries: RegistryEntry[], file: string): RegistryEntry[] {
  const byLocation = new Map<string, RegistryEntry>();
  for (const r of registries) {
    const key = r.location || r.prefix;
    const other = byLocation.get(key);
    if (!other) byLocation.set(key, r);
    else {
      for (const field of ['insecure', 'blocked'] as const) {
        if (r[field] !== other[field]) {
          throw new ConfigError(
            file,
            `registry "${key}" is defined more than once with different "${field}"`,
          );
        }
      }
    }
  }
  const unique = new Map<string, RegistryEntry>();
  for (const r of registries) if (!unique.has(r.prefix)) unique.set(r.prefix, r);
  return [...unique.values()].sort((a, b) =>
    a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0,
  );
}

/** Parse an `[aliases]` table (also the whole of short-name-aliases.conf). */
export function parseAliases(
  table: TomlTable | undefined,
  file: string,
): Map<string, ShortNameAlias> {
  const aliases = new Map<string, ShortNameAlias>();
  for (const [name, value] of Object.entries(table ?? {})) {
    if (typeof value !== 'string') throw new ConfigError(file, `alias "${name}" must be a string`);
    if (!isShortNameRepository(name)) {
      throw new ConfigError(file, `invalid short name "${name}" (no registry, tag or digest)`);
    }
    if (value === '') aliases.set(name, { value: null, file });
    else if (value.length <= PLAIN_ALIAS_MAX && PLAIN_ALIAS_VALUE.test(value)) {
      aliases.set(name, checkedAlias(value, file));
    } else aliases.set(name, { value: parseAliasValue(name, value, file), file });
  }
  return aliases;
}

// Every alias is checked when its file is read, as containers/image does, but a command
// uses at most one of them (the short name it was given), usually none. Parsing each value
// into a Reference (`parseReference`: several regular expressions, splits and checks a
// value) cost ~4 M instructions a run for the ~60 aliases Debian's shortnames.conf ships
// (bench/ANALYSIS.md, h15r, tenth session). So a value is first tested against one
// precompiled expression that accepts only values `parseAliasValue` accepts too; those
// become a Reference when read. Any other value takes the full path, so what is refused
// is refused with the same message as before.

/**
 * `registry/path` with a registry that names a host (a `.`, a port of at most 4 digits so
 * it is ≤ 65535, or `localhost`), a lowercase path, no tag, digest, scheme or blank; built
 * from the reference parser's own host and path patterns.
 */
const PLAIN_ALIAS_VALUE = new RegExp(
  `^(?:localhost|${DOMAIN_COMPONENT_PATTERN}(?:\\.${DOMAIN_COMPONENT_PATTERN})+|${DOMAIN_NAME_PATTERN}:[0-9]{1,4})(?:/${PATH_COMPONENT_PATTERN})+$`,
);
/** Names up to 255 characters are valid; `docker.io/x` gains `library/` (8) when parsed. */
const PLAIN_ALIAS_MAX = 240;

/**
 * An alias whose value passed {@link PLAIN_ALIAS_VALUE}: parsed on first read. `value` is
 * an own, enumerable accessor with a setter, so the alias behaves as the plain
 * {@link ShortNameAlias} it stands for: a spread or JSON copy holds the value, and
 * setting it works.
 */
function checkedAlias(text: string, file: string): ShortNameAlias {
  let parsed: Reference | null | undefined;
  return {
    get value(): Reference | null {
      if (parsed === undefined) parsed = parseReference(text, { defaultTag: null });
      return parsed;
    },
    set value(value: Reference | null) {
      parsed = value;
    },
    file,
  };
}

function parseAliasValue(name: string, value: string, file: string): Reference {
  // Narrower than `namesRegistry` on purpose, as containers/image checks an alias: it must
  // name a qualified registry (a `.`, a `:` or `localhost`), so `Foo/bar`, whose registry
  // is `Foo` to the parser, is refused here.
  const firstSlash = value.indexOf('/');
  const domain = firstSlash < 0 ? '' : value.slice(0, firstSlash);
  if (!/[.:]/.test(domain) && domain !== 'localhost') {
    throw new ConfigError(file, `alias "${name}" = "${value}" must name a registry and repository`);
  }
  let ref: Reference;
  try {
    ref = parseReference(value, { defaultTag: null });
  } catch (err) {
    throw new ConfigError(file, `alias "${name}": ${(err as Error).message}`, { cause: err });
  }
  if (ref.tag || ref.digest) {
    throw new ConfigError(file, `alias "${name}" = "${value}" must not have a tag or digest`);
  }
  return ref;
}

/** Path components only: a repository with no registry, tag or digest, by the parser's rule. */
const SHORT_NAME_REPOSITORY = new RegExp(
  `^${PATH_COMPONENT_PATTERN}(?:/${PATH_COMPONENT_PATTERN})*$`,
);

/** A repository name with no registry, tag or digest (`alpine`, `library/alpine`). */
function isShortNameRepository(name: string): boolean {
  return SHORT_NAME_REPOSITORY.test(name);
}

/** Version 1: search → unqualified-search-registries, insecure and block → `[[registry]]`. */
function convertV1(v1: TomlFields, file: string): RegistriesConfFile {
  const list = (key: string) => {
    const t = v1.subtable(key);
    return t ? (new TomlFields(file, t, `registries.${key}.`).strings('registries') ?? []) : [];
  };
  const entries = new Map<string, RegistryEntry>();
  const entry = (location: string) => {
    let e = entries.get(location);
    if (!e) {
      const l = parseLocation(location, file);
      e = {
        prefix: l,
        location: l,
        insecure: false,
        blocked: false,
        mirrorByDigestOnly: false,
        mirrors: [],
        file,
      };
      entries.set(location, e);
    }
    return e;
  };
  for (const r of list('insecure')) entry(r).insecure = true;
  for (const r of list('block')) entry(r).blocked = true;
  return {
    file,
    registries: checkRegistries([...entries.values()], file),
    searchRegistries: v1.subtable('search')
      ? list('search').map((s) => checkSearchRegistry(s, file))
      : undefined,
    aliases: new Map(),
  };
}
