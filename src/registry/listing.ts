import { InvalidManifestError } from '../errors/index.js';
import { Reference, referenceInMessage } from '../ref/index.js';
import { headerValue, type RegistryTransport } from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';
import { errorFromResponse } from './response-errors.js';
import { CATALOG_SCOPE, pullScope } from './scopes.js';

const LIST_BODY_LIMIT = 16 * 1024 * 1024;

/** Options for paginated listings (tags, catalog). */
export interface ListOptions {
  /** Page size to ask for (`n`). */
  pageSize?: number;
  /** Start after this entry (`last`). */
  last?: string;
  /** Stop after this many entries in total. */
  limit?: number;
  signal?: AbortSignal;
}

/** Parse an RFC 8288 `Link` header and return the `rel="next"` target, if any. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

async function* pages(
  transport: RegistryTransport,
  registry: string,
  repository: string | undefined,
  scope: string,
  firstPath: string,
  field: 'tags' | 'repositories',
  signal: AbortSignal | undefined,
): AsyncGenerator<string[]> {
  let path: string | undefined = firstPath;
  const seen = new Set<string>();
  while (path) {
    if (seen.has(path)) break; // a server whose Link points back at itself must not loop us
    seen.add(path);
    const res = await transport.send({ registry, repository, scope, method: 'GET', path, signal });
    if (res.status !== 200) {
      throw await errorFromResponse(
        res,
        field === 'tags'
          ? `tags of ${referenceInMessage(new Reference(registry, repository ?? ''), 'name')}`
          : `catalog of ${registry}`,
        { transport, registry, signal },
      );
    }
    const link = headerValue(res.headers, 'link');
    const body = await readCapped(res.body, LIST_BODY_LIMIT, `${field} list`);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new InvalidManifestError(`${field} list is not valid JSON`, { cause });
    }
    const list = parsed[field];
    yield Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
    path = nextLink(link);
  }
}

function query(options: ListOptions): string {
  const q = new URLSearchParams();
  if (options.pageSize) q.set('n', String(options.pageSize));
  if (options.last) q.set('last', options.last);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Gather pages up to `limit`. Registries that ignore `last` (distribution 2.8 does for
 * tags) send the whole list again; then everything up to and including `last` is dropped
 * here, so `--last` means the same whichever registry answers.
 */
async function collect(
  source: AsyncGenerator<string[]>,
  limit: number | undefined,
  last: string | undefined,
): Promise<string[]> {
  const out: string[] = [];
  let first = true;
  for await (const fullPage of source) {
    let page = fullPage;
    if (first && last !== undefined) {
      const at = page.indexOf(last);
      if (at >= 0) page = page.slice(at + 1);
    }
    first = false;
    for (const item of page) {
      if (limit !== undefined && out.length >= limit) return out;
      out.push(item);
    }
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}

/** All tags of a repository, following `Link` pagination (`n`, `last`, `limit` honoured). */
export function listTags(
  transport: RegistryTransport,
  repo: Reference,
  options: ListOptions = {},
): Promise<string[]> {
  const pageSize = options.pageSize ?? (options.limit ? Math.min(options.limit, 1000) : undefined);
  const path = `/v2/${repo.repository}/tags/list${query({ ...options, pageSize })}`;
  return collect(
    pages(
      transport,
      repo.registry,
      repo.repository,
      pullScope(repo.repository),
      path,
      'tags',
      options.signal,
    ),
    options.limit,
    options.last,
  );
}

/** The registry's repository catalog, following `Link` pagination. */
export function listCatalog(
  transport: RegistryTransport,
  registry: string,
  options: ListOptions = {},
): Promise<string[]> {
  const pageSize = options.pageSize ?? (options.limit ? Math.min(options.limit, 1000) : undefined);
  const path = `/v2/_catalog${query({ ...options, pageSize })}`;
  return collect(
    pages(transport, registry, undefined, CATALOG_SCOPE, path, 'repositories', options.signal),
    options.limit,
    options.last,
  );
}
