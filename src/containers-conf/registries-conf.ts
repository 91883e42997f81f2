import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BlockedRegistryError, ConfigError } from '../errors/index.js';
import { namesRegistry, parseReference, type Reference, sameRegistryHost } from '../ref/index.js';
import {
  parseAliases,
  parseRegistriesConf,
  parseToml,
  type RegistriesConfFile,
  type RegistryEndpoint,
  type RegistryEntry,
  type ShortNameAlias,
  type ShortNameMode,
} from './registries-conf-file.js';
import { prefixMatchLength } from './registry-prefix.js';

/** One place to try for an image: a mirror or the registry itself, the reference rewritten. */
export interface PullSource {
  /** The reference as that endpoint knows it (prefix replaced by its location). */
  ref: Reference;
  /** True for a mirror, false for the registry's own location. */
  mirror: boolean;
  /** The endpoint is `insecure` (no TLS verification, plain HTTP allowed). */
  insecure: boolean;
}

/** Options of {@link loadRegistriesConf}. */
export interface LoadRegistriesConfOptions {
  /**
   * The main file (`--registries-conf`); default `$CONTAINERS_REGISTRIES_CONF`, else
   * `~/.config/containers/registries.conf` when it exists, else
   * `/etc/containers/registries.conf`. A file named here must exist.
   */
  path?: string;
  /** The only drop-in folder to read (default: the system's and the user's, see below). */
  dropInDir?: string;
  /** short-name-aliases.conf (default `~/.cache/containers/…`, root `/var/cache/containers/…`). */
  aliasFile?: string;
  /** Home folder (default `$HOME`). */
  home?: string;
  /** Environment to read `CONTAINERS_REGISTRIES_CONF` and `XDG_CACHE_HOME` from. */
  env?: NodeJS.ProcessEnv;
  /** System folder holding registries.conf and registries.conf.d (default /etc/containers). */
  systemDir?: string;
}

/**
 * registries.conf as containers-registries.conf(5) defines it, merged from the main file
 * and its drop-ins: `[[registry]]` prefixes (longest match wins) with location rewriting,
 * `insecure`, `blocked` and mirrors; and what short names resolve with
 * (`unqualified-search-registries`, `short-name-mode`, aliases).
 */
export class RegistriesConf {
  constructor(
    /** Registries sorted by prefix (one entry a prefix). */
    readonly registries: readonly RegistryEntry[],
    /** `unqualified-search-registries`, undefined when no file sets it. */
    readonly searchRegistries: readonly string[] | undefined,
    /** The file that set the search registries (or the main file). */
    readonly searchOrigin: string,
    readonly shortNameMode: ShortNameMode,
    /** Aliases: the alias cache file first, then the config files' `[aliases]`. */
    readonly aliases: ReadonlyMap<string, ShortNameAlias>,
    /** Every file read, in order, for messages. */
    readonly files: readonly string[],
  ) {}

  /** An empty configuration (no files): references are used as written. */
  static empty(): RegistriesConf {
    return new RegistriesConf([], undefined, '', 'permissive', new Map(), []);
  }

  /**
   * The `[[registry]]` whose prefix matches `name` (a registry, namespace, repository or
   * full reference, with its registry written out) the longest, if any.
   */
  findRegistry(name: string): RegistryEntry | undefined {
    let best: RegistryEntry | undefined;
    for (const r of this.registries) {
      if (prefixMatchLength(name, r.prefix) < 0) continue;
      const longer = r.prefix.length > (best?.prefix.length ?? 0);
      // Hosts match without case (registry-prefix.ts); of two prefixes that differ only in
      // case, the one written as the reference writes its host wins.
      const sameLengthExact =
        best !== undefined &&
        r.prefix.length === best.prefix.length &&
        name.startsWith(r.prefix) &&
        !name.startsWith(best.prefix);
      if (longer || sameLengthExact) best = r;
    }
    return best;
  }

  /**
   * Throw {@link BlockedRegistryError} when the `[[registry]]` for `registry/repository`
   * is blocked (every request checks where it goes, as containers/image does).
   */
  checkAllowed(registry: string, repository: string | undefined): void {
    const name = repository ? `${registry}/${repository}` : registry;
    const entry = this.findRegistry(name);
    if (entry?.blocked) throw new BlockedRegistryError(entry.prefix, entry.file, name);
  }

  /**
   * Where to try to pull `ref` from, in order: the mirrors that serve this kind of
   * reference (by digest or by tag, `pull-from-mirror`, `mirror-by-digest-only`), then the
   * registry's location; each with the reference rewritten (its prefix replaced by the
   * endpoint's location). Without a matching `[[registry]]`, just `ref`.
   */
  pullSources(ref: Reference): PullSource[] {
    const entry = this.findRegistry(ref.name);
    if (!entry) return [{ ref, mirror: false, insecure: false }];
    const byDigest = ref.digest !== undefined;
    const mirrors = entry.mirrors.filter((m) => {
      if (entry.mirrorByDigestOnly) return byDigest;
      if (m.pullFromMirror === 'digest-only') return byDigest;
      if (m.pullFromMirror === 'tag-only') return !byDigest;
      return true;
    });
    return [
      ...mirrors.map((m) => ({ ref: rewrite(ref, entry, m), mirror: true, insecure: m.insecure })),
      { ref: rewrite(ref, entry, entry), mirror: false, insecure: entry.insecure },
    ];
  }

  /**
   * Whether `registry` (`host[:port]`) is marked insecure: by the `[[registry]]` for it, or
   * as the location of an insecure registry or mirror. TLS settings belong to
   * connections, so this is per host.
   */
  isInsecure(registry: string): boolean {
    if (this.findRegistry(registry)?.insecure) return true;
    const isHostOf = (location: string) =>
      sameRegistryHost(location.split('/')[0] as string, registry);
    return this.registries.some(
      (r) =>
        (r.insecure && isHostOf(r.location)) ||
        r.mirrors.some((m) => m.insecure && isHostOf(m.location)),
    );
  }

  /** Where the configuration came from, for messages. */
  describe(): string {
    return this.files.length > 0 ? this.files.join(', ') : 'no registries.conf';
  }
}

/** The reference with `entry.prefix` replaced by `endpoint.location` (kept for wildcards). */
function rewrite(ref: Reference, entry: RegistryEntry, endpoint: RegistryEndpoint): Reference {
  if (endpoint.location === '') return ref;
  const s = ref.toString();
  const length = prefixMatchLength(s, entry.prefix);
  const host = endpoint.location.split('/', 1)[0] as string;
  if (!namesRegistry(host)) {
    // `myreg/app` is Docker Hub's `myreg/app` to the reference grammar: rewriting to such a
    // location would pull from Docker Hub, so it is refused, as containers/image refuses
    // the rewritten name (not canonical).
    throw new ConfigError(
      entry.file,
      `rewriting ${s} to location "${endpoint.location}": "${host}" is not a registry host to a reference (a one-word host needs a port, or a dot)`,
    );
  }
  try {
    return parseReference(endpoint.location + s.slice(length));
  } catch (err) {
    throw new ConfigError(
      entry.file,
      `rewriting ${s} to location "${endpoint.location}": ${(err as Error).message}`,
      { cause: err },
    );
  }
}

// The configuration files are read synchronously: they are a few KB, read once per run, and
// an asynchronous read goes through libuv's thread pool (its threads started on first use,
// then open, stat, read and close each a hand-off to a thread and back). For a short command
// such as `digest` that was the only use of the pool: starting it and ~15 hand-offs cost
// more wall time than the reads, and much more on a busy machine (bench/ANALYSIS.md).
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
}

/** The `*.conf` files of a folder, sorted; none when it does not exist. */
function dropInFiles(dir: string): string[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries
      .filter((e) => !e.isDirectory() && e.name.endsWith('.conf'))
      .map((e) => join(dir, e.name))
      .sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new ConfigError(dir, `cannot read: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Which files make the configuration, as containers/image chooses them: the main file
 * (see {@link LoadRegistriesConfOptions.path}); drop-ins from `dropInDir` alone when given,
 * from the user's `~/.config/containers/registries.conf.d` alone when the user's main
 * file is used, else from the system's `registries.conf.d` and then the user's.
 */
export async function registriesConfSources(
  options: LoadRegistriesConfOptions = {},
): Promise<{ main: string; explicit: boolean; dropInDirs: string[] }> {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const systemDir = options.systemDir ?? '/etc/containers';
  const userFile = join(home, '.config/containers/registries.conf');
  const userDir = join(home, '.config/containers/registries.conf.d');
  const explicit = options.path ?? (env.CONTAINERS_REGISTRIES_CONF || undefined);
  if (explicit === undefined && readText(userFile) !== undefined) {
    return { main: userFile, explicit: false, dropInDirs: [options.dropInDir ?? userDir] };
  }
  return {
    main: explicit ?? join(systemDir, 'registries.conf'),
    explicit: explicit !== undefined,
    dropInDirs: options.dropInDir
      ? [options.dropInDir]
      : [join(systemDir, 'registries.conf.d'), userDir],
  };
}

/**
 * Read registries.conf, its drop-ins (in order: a later file's `[[registry]]` replaces an
 * earlier one with the same prefix; search registries, short-name-mode and aliases it
 * sets replace earlier ones) and the short-name alias cache. No file at all gives an
 * empty configuration; a named file that is missing, or any invalid file, is a
 * {@link ConfigError}.
 */
export async function loadRegistriesConf(
  options: LoadRegistriesConfOptions = {},
): Promise<RegistriesConf> {
  const sources = await registriesConfSources(options);
  const files: string[] = [];
  const mainText = readText(sources.main);
  if (mainText === undefined && sources.explicit) {
    throw new ConfigError(sources.main, 'no such file');
  }
  const parts: RegistriesConfFile[] = [];
  if (mainText !== undefined) {
    parts.push(parseRegistriesConf(mainText, sources.main));
    files.push(sources.main);
  }
  for (const dir of sources.dropInDirs) {
    for (const file of dropInFiles(dir)) {
      const text = readText(file);
      if (text === undefined) continue; // removed since the listing
      parts.push(parseRegistriesConf(text, file, true));
      files.push(file);
    }
  }
  const registries = new Map<string, RegistryEntry>();
  let search: readonly string[] | undefined;
  let searchOrigin = sources.main;
  let mode: ShortNameMode = 'permissive';
  const aliases = new Map<string, ShortNameAlias>();
  for (const part of parts) {
    for (const r of part.registries) registries.set(r.prefix, r);
    if (part.searchRegistries) {
      search = part.searchRegistries;
      searchOrigin = part.file;
    }
    if (part.shortNameMode) mode = part.shortNameMode;
    for (const [name, alias] of part.aliases) aliases.set(name, alias);
  }
  // The alias cache (what podman records when a user picks a candidate) comes first.
  const aliasFile = options.aliasFile ?? defaultAliasFile(options);
  const cacheText = readText(aliasFile);
  if (cacheText !== undefined) {
    const table = parseToml(cacheText, aliasFile).aliases;
    const cached = parseAliases(table as Record<string, unknown> | undefined, aliasFile);
    for (const [name, alias] of cached) if (alias.value) aliases.set(name, alias);
    files.push(aliasFile);
  }
  const sorted = [...registries.values()].sort((a, b) =>
    a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0,
  );
  return new RegistriesConf(sorted, search, searchOrigin, mode, aliases, files);
}

function defaultAliasFile(options: LoadRegistriesConfOptions): string {
  const env = options.env ?? process.env;
  if (process.getuid?.() === 0 && options.home === undefined) {
    return '/var/cache/containers/short-name-aliases.conf';
  }
  const home = options.home ?? env.HOME ?? homedir();
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'containers/short-name-aliases.conf');
}
