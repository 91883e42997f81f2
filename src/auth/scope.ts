/**
 * The token scope for actions on a repository: `repository:library/alpine:pull`, or
 * `repository:team/app:pull,push` for several actions.
 */
export function repositoryScope(repository: string, actions: readonly string[] = ['pull']): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** A registry-wide token scope, such as `registry:catalog:*` for listing repositories. */
export function registryScope(name: string, actions: readonly string[] = ['*']): string {
  return `registry:${name}:${actions.join(',')}`;
}

/** Split a scope string that may hold several space-separated scopes, dropping empties. */
export function splitScopes(scope: string | undefined): string[] {
  return (scope ?? '').split(/\s+/).filter((s) => s !== '');
}
