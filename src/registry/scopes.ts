/** Token scope for reading a repository. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** Token scope for writing a repository (pushing also needs pull). */
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** Token scope for the registry catalog. */
export const CATALOG_SCOPE = 'registry:catalog:*';

/** Token scope for deleting manifests in a repository. */
export function deleteScope(repository: string): string {
  return `repository:${repository}:delete`;
}
