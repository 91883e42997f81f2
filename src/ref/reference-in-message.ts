import type { Reference } from './reference.js';
import { namesRegistry } from './registry-host.js';

/**
 * A reference as a message names it: written so that, copied from the message, it names
 * the same registry. `registry/repository[:tag][@digest]` (or `registry/repository` with
 * `form` `'name'`) reads back as written for every registry a reference can be parsed
 * with; a one-word host (`myreg`, no dot, port or upper case: a pull-through cache's
 * `--upstream myreg`, which is a host there) would read back as a Docker Hub repository
 * (`docker.io/myreg/foo`), so the registry is then named after it:
 * `myreg/foo:latest (registry myreg)`. docker prints such a reference bare and ambiguous
 * (distribution's FamiliarString); a URL (`https://myreg/...`) is no reference anyone can
 * use; an added port (`myreg:443`) names another registry (ports are compared as written).
 */
export function referenceInMessage(
  ref: Reference,
  form: 'reference' | 'name' = 'reference',
): string {
  const text = form === 'name' ? ref.name : ref.toString();
  return namesRegistry(ref.registry) ? text : `${text} (registry ${ref.registry})`;
}
