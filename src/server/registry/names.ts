export { isDigestReference } from '../../digest/index.js';

/** Repository name grammar of the distribution spec: lowercase path components. */
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tag grammar of the distribution spec. */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/**
 * True for a valid repository name. Nothing outside `[a-z0-9._/-]` passes and no
 * component can be `.` or `..`, so a valid name is also a safe relative path.
 */
export function isRepositoryName(name: string): boolean {
  return name.length <= 255 && REPOSITORY.test(name);
}

/** True for a valid tag. */
export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Order names by UTF-16 code units, as the distribution spec's lexical order does. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
