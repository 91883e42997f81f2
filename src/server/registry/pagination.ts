import { RegistryHttpError } from './http-errors.js';

/** One page of a sorted list and, when more follow, the `Link` header to the next. */
export interface Page {
  items: string[];
  link?: string;
}

/** The largest page served, whatever `n` asks for. */
export const MAX_PAGE_SIZE = 10_000;

/**
 * Cut one page out of `sorted` the way the distribution spec paginates tags and the
 * catalog: entries strictly after `last`, at most `n` of them, and a
 * `Link: <path?last=X&n=N>; rel="next"` header when entries remain. Without `n` the
 * whole remainder is one page with no link.
 */
export function paginate(sorted: string[], query: URLSearchParams, path: string): Page {
  const rawN = query.get('n');
  const last = query.get('last') ?? undefined;
  let n: number | undefined;
  if (rawN !== null && rawN !== '') {
    if (!/^\d+$/.test(rawN)) {
      throw new RegistryHttpError(400, 'PAGINATION_NUMBER_INVALID', `invalid page size n=${rawN}`);
    }
    n = Math.min(Number(rawN), MAX_PAGE_SIZE);
  }
  const rest = last === undefined ? sorted : sorted.filter((s) => s > last);
  if (n === undefined) return { items: rest };
  const items = rest.slice(0, n);
  if (items.length === 0 || rest.length <= n) return { items };
  const next = items[items.length - 1] as string;
  return {
    items,
    link: `<${path}?last=${encodeURIComponent(next)}&n=${n}>; rel="next"`,
  };
}
