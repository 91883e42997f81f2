import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import { dockerScopes } from './policy-scopes.js';

/** What registries.d says about one scope (containers-registries.d(5)). */
export interface SignatureStorage {
  /** Read sigstore signatures from `sha256-<hex>.sig` tags. */
  useSigstoreAttachments?: boolean;
  /** Where simple signatures are read from (`lookaside`, formerly `sigstore`). */
  lookaside?: string;
  /** Where simple signatures are written (`lookaside-staging`, formerly `sigstore-staging`). */
  lookasideStaging?: string;
}

/** The merged registries.d folder. */
export class RegistriesD {
  constructor(
    readonly defaultDocker: SignatureStorage | undefined,
    readonly docker: ReadonlyMap<string, SignatureStorage>,
  ) {}

  static empty(): RegistriesD {
    return new RegistriesD(undefined, new Map());
  }

  /** The most specific section that sets `field` for `ref` (then `default-docker`). */
  private lookup<K extends keyof SignatureStorage>(ref: Reference, field: K): SignatureStorage[K] {
    for (const scope of dockerScopes(ref)) {
      const v = this.docker.get(scope)?.[field];
      if (v !== undefined) return v;
    }
    return this.defaultDocker?.[field];
  }

  /** Whether signatures of `ref` live in sigstore attachments. */
  useSigstoreAttachments(ref: Reference): boolean {
    return this.lookup(ref, 'useSigstoreAttachments') ?? false;
  }

  /**
   * The lookaside base URL `ref`'s simple signatures are read from: the most specific
   * `lookaside`, else containers/image's built-in default (below).
   */
  lookaside(ref: Reference): string {
    return this.lookup(ref, 'lookaside') ?? defaultLookaside();
  }

  /**
   * Where signing writes `ref`'s simple signatures, chosen as containers/image chooses:
   * in the most specific section that names either, `lookaside-staging` before
   * `lookaside`; then `default-docker` likewise; else the built-in default.
   */
  lookasideForWrite(ref: Reference): string {
    const sections = [...dockerScopes(ref).map((s) => this.docker.get(s)), this.defaultDocker];
    for (const section of sections) {
      const url = section?.lookasideStaging ?? section?.lookaside;
      if (url !== undefined) return url;
    }
    return defaultLookaside();
  }
}

/**
 * containers/image's lookaside when registries.d names none: `/var/lib/containers/sigstore`
 * for root, `~/.local/share/containers/sigstore` for others.
 */
function defaultLookaside(): string {
  const dir =
    process.getuid?.() === 0
      ? '/var/lib/containers/sigstore'
      : join(process.env.HOME ?? homedir(), '.local/share/containers/sigstore');
  return pathToFileURL(dir).href;
}

const FIELDS: Record<string, keyof SignatureStorage> = {
  'use-sigstore-attachments': 'useSigstoreAttachments',
  lookaside: 'lookaside',
  sigstore: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  'sigstore-staging': 'lookasideStaging',
};

function section(v: unknown, file: string, where: string): SignatureStorage {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ConfigError(file, `${where} must be a mapping`);
  const out: SignatureStorage = {};
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const field = FIELDS[key];
    if (!field) continue; // e.g. write-only settings ocipeek has no use for
    if (field === 'useSigstoreAttachments') {
      if (typeof value !== 'boolean')
        throw new ConfigError(file, `${where}.${key} must be true or false`);
      out.useSigstoreAttachments = value;
    } else {
      if (typeof value !== 'string')
        throw new ConfigError(file, `${where}.${key} must be a string`);
      out[field] = value;
    }
  }
  return out;
}

/**
 * Read every `*.yaml` of a registries.d folder (default `~/.config/containers/registries.d`
 * when it exists, else `/etc/containers/registries.d`). A scope may be described by one
 * file only, as containers/image requires; a missing folder is an empty configuration.
 */
export async function loadRegistriesD(dir?: string): Promise<RegistriesD> {
  const home = process.env.HOME ?? homedir();
  const dirs = dir
    ? [dir]
    : [join(home, '.config/containers/registries.d'), '/etc/containers/registries.d'];
  for (const d of dirs) {
    let names: string[];
    try {
      names = (await readdir(d)).filter((n) => n.endsWith('.yaml')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new ConfigError(d, `cannot read: ${(err as Error).message}`, { cause: err });
    }
    let defaultDocker: SignatureStorage | undefined;
    const docker = new Map<string, SignatureStorage>();
    for (const name of names) {
      const file = join(d, name);
      let doc: unknown;
      try {
        doc = parseYaml(await readFile(file, 'utf8'));
      } catch (err) {
        throw new ConfigError(file, `invalid YAML (${(err as Error).message.split('\n')[0]})`, {
          cause: err,
        });
      }
      if (doc === null || doc === undefined) continue;
      if (typeof doc !== 'object' || Array.isArray(doc))
        throw new ConfigError(file, 'must be a mapping');
      const top = doc as Record<string, unknown>;
      if (top['default-docker'] !== undefined) {
        if (defaultDocker)
          throw new ConfigError(file, 'default-docker is defined in more than one file');
        defaultDocker = section(top['default-docker'], file, 'default-docker');
      }
      const scopes = top.docker;
      if (scopes !== undefined && scopes !== null) {
        if (typeof scopes !== 'object' || Array.isArray(scopes))
          throw new ConfigError(file, 'docker must be a mapping');
        for (const [scope, value] of Object.entries(scopes as Record<string, unknown>)) {
          if (docker.has(scope))
            throw new ConfigError(file, `docker scope "${scope}" is defined twice`);
          docker.set(scope, section(value, file, `docker["${scope}"]`));
        }
      }
    }
    return new RegistriesD(defaultDocker, docker);
  }
  return RegistriesD.empty();
}
