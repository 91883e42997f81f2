import { PATH_COMPONENT_PATTERN } from '../../ref/index.js';

export { isDigestReference } from '../../digest/index.js';
/** The reference parser's tag rule, which is the distribution spec's. */
export { isTag } from '../../ref/index.js';

/**
 * Repository name grammar of the distribution spec (`<name>`): lowercase path components
 * joined by `/`, each the reference parser's own component pattern, so the registry
 * takes exactly the repository paths `parseReference` does.
 */
const REPOSITORY = new RegExp(`^${PATH_COMPONENT_PATTERN}(?:/${PATH_COMPONENT_PATTERN})*$`);
/**
 * The longest name served. The spec bounds no name; it notes that many clients limit
 * `host[:port]/name` to 255 characters, which a server cannot check (it does not know the
 * host its clients call it by), so it holds the name itself to that bound.
 */
const MAX_REPOSITORY_LENGTH = 255;

/**
 * True for a valid repository name. Nothing outside `[a-z0-9._/-]` passes and no
 * component can be `.` or `..`, so a valid name is also a safe relative path.
 */
export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_REPOSITORY_LENGTH && REPOSITORY.test(name);
}

/** Order names by UTF-16 code units, as the distribution spec's lexical order does. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
