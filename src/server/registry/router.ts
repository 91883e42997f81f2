import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryBackend } from '../storage/registry-storage.js';
import type { Action } from './access/rules.js';

/** What the server allows, for every request alike. */
export interface ServerPolicy {
  /** Refuse every write (405), whatever the storage could do. */
  readOnly: boolean;
  /** Blobs larger than this are refused with 413 (default: no limit). */
  maxBlobBytes?: number;
  /** Mount without `from` when the storage holds the blob anywhere (no access rules). */
  anonymousMount: boolean;
  /** Allow writes to repositories of other registries the CLI pulled into the store. */
  allowMirrorPush: boolean;
}

/** Everything a route handler gets for one request. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The raw (not percent-decoded) path; names are matched as sent, never decoded. */
  path: string;
  query: URLSearchParams;
  /** Named groups of the route's pattern. */
  params: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  backend: RegistryBackend;
  config: ServerPolicy;
  /** True when the client of this request may pull from repository `name`. */
  canPull(name: string): boolean;
  /** The user the request authenticated as (undefined: anonymous). */
  user?: string;
}

/** Answers one request; throws `RegistryHttpError` (or any error) to answer with an error. */
export type RouteHandler = (ctx: RequestContext) => Promise<void>;

/**
 * What a route needs the client to be allowed: an action on the repository its path
 * names, `base` (the `/v2/` check), or `catalog` (answers are filtered per repository).
 */
export type RouteAccess = Action | 'base' | 'catalog';

interface Route {
  methods: readonly string[];
  pattern: RegExp;
  handler: RouteHandler;
  access: RouteAccess;
}

/** The outcome of {@link Router.match}. */
export type RouteMatch =
  | { kind: 'found'; handler: RouteHandler; params: Record<string, string>; access: RouteAccess }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/**
 * A tiny first-match router over regular expressions with named groups. Enough for the
 * distribution API's handful of paths, where repository names contain slashes and so
 * cannot be matched segment by segment.
 */
export class Router {
  private readonly routes: Route[] = [];

  /** Register `handler` for `methods` on paths matching `pattern` (anchor it). */
  add(
    methods: readonly string[],
    pattern: RegExp,
    handler: RouteHandler,
    access: RouteAccess = 'pull',
  ): this {
    this.routes.push({ methods, pattern, handler, access });
    return this;
  }

  /** The handler for `method` and `path`, or why there is none. */
  match(method: string, path: string): RouteMatch {
    const allow = new Set<string>();
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.methods.includes(method)) {
        return {
          kind: 'found',
          handler: route.handler,
          params: { ...m.groups },
          access: route.access,
        };
      }
      for (const x of route.methods) allow.add(x);
    }
    return allow.size > 0
      ? { kind: 'method-not-allowed', allow: [...allow] }
      : { kind: 'not-found' };
  }
}
