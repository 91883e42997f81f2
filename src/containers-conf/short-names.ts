import { ShortNameError } from '../errors/index.js';
import { namesRegistry, parseReference, Reference } from '../ref/index.js';
import type { RegistriesConf } from './registries-conf.js';

/** How a name was turned into candidates. */
export type ShortNameRationale = 'qualified' | 'alias' | 'search' | 'docker-hub';

/** What {@link resolveShortName} found: the references to try, in order. */
export interface ShortNameResolution {
  candidates: Reference[];
  rationale: ShortNameRationale;
  /** The file the alias or the search registries come from. */
  origin?: string;
}

/**
 * Whether `input` (a reference as typed, without a transport) names no registry: its first
 * component has no `.` or `:`, is not `localhost` and is lowercase (the docker reference
 * grammar), e.g. `alpine`, `library/alpine:3`, `team/app@sha256:…`.
 */
export function isShortName(input: string): boolean {
  const name = input.split('@')[0] ?? '';
  const slash = name.indexOf('/');
  if (slash < 0) return true;
  const first = name.slice(0, slash);
  return !namesRegistry(first);
}

/**
 * Turn a reference as typed into the fully qualified references to try, as podman does
 * (containers/image's short-name resolution): a qualified name is itself; a short name is
 * an alias when one is defined (the alias cache first, then `[aliases]` of the config
 * files), else each `unqualified-search-registries` entry in order. With more than one
 * candidate, `short-name-mode = "enforcing"` refuses (a {@link ShortNameError} listing
 * them; podman would prompt on a terminal, ocipeek never prompts), `permissive` and
 * `disabled` try them in order.
 *
 * When the configuration names no search registries, a short name means Docker Hub, as
 * skopeo and ocipeek always read it (podman would refuse).
 */
export function resolveShortName(input: string, conf: RegistriesConf): ShortNameResolution {
  const ref = parseReference(input);
  if (!isShortName(input)) return { candidates: [ref], rationale: 'qualified' };
  const typed = parseReference(input, { defaultTag: null });
  const repository = input.split('@')[0]!.replace(/:[^/]*$/, '');
  const alias = conf.aliases.get(repository);
  if (alias?.value) {
    const { registry, repository: path } = alias.value;
    const tag = typed.tag ?? (typed.digest ? undefined : 'latest');
    const resolved = new Reference(registry, path, tag, typed.digest);
    return { candidates: [resolved], rationale: 'alias', origin: alias.file };
  }
  const search = conf.searchRegistries;
  if (!search || search.length === 0) return { candidates: [ref], rationale: 'docker-hub' };
  const candidates = search.map((registry) => parseReference(`${registry}/${input}`));
  const resolution: ShortNameResolution = {
    candidates,
    rationale: 'search',
    origin: conf.searchOrigin,
  };
  if (candidates.length > 1 && conf.shortNameMode === 'enforcing') {
    const names = candidates.map(String);
    throw new ShortNameError(
      repository,
      `short name "${input}" is ambiguous and short-name-mode is enforcing (no prompt): ` +
        `use one of ${names.join(', ')} or define an alias (search registries from ${conf.searchOrigin})`,
      names,
    );
  }
  return resolution;
}
