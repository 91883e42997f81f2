import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, isOcipeekError, ListenError } from '../../errors/index.js';
import { keepConnectionsAlive } from '../../server/keep-alive.js';
import { parseListenAddress } from '../../server/registry/listen-address.js';
import { unescapeName } from '../../tar/name-codec.js';
import { isLoopbackRegistry } from '../../transport/index.js';
import type { ErrorResponse } from './api-types.js';
import { SCRIPT, STYLE } from './assets.js';
import { ExplorerData, type TagPage } from './explorer-data.js';
import { fileDiffBody } from './file-diff-page.js';
import { imageTypeOf, previewFile } from './file-preview.js';
import { diffBody, dirBody, fileBody, overviewBody, searchBody } from './image-pages.js';
import { ImageViews, type ImageViewsOptions } from './image-views.js';
import { layersBody } from './layers-page.js';
import { errorBody, page } from './page-layout.js';
import { catalogBody, homeBody, storeBody, tagsBody } from './registry-pages.js';
import { imageUrl, refUrlPart, splitRefAndPath } from './web-paths.js';

/** Options for {@link startWebExplorer}. */
export interface StartWebExplorerOptions extends ImageViewsOptions {
  /** `host:port` (default `127.0.0.1:0`: a free loopback port). */
  listen?: string;
  /** Allow an address other than loopback (anyone who reaches it reads what you can). */
  allowRemote?: boolean;
  /** The image the start page offers. */
  initialRef?: string;
}

/** A running explorer. */
export interface RunningWebExplorer {
  /** `http://host:port`. */
  url: string;
  /** Whether it listens on a loopback address only. */
  loopback: boolean;
  /** Stop listening, end open connections and close the images opened. */
  close(): Promise<void>;
}

type Handler = (rest: string, url: URL, res: ServerResponse, req: IncomingMessage) => Promise<void>;

/**
 * Serve the web explorer: pages rendered on the server (`/image/REF/PATH`, `/layers/REF`,
 * `/registry/HOST`, `/repo/HOST/REPO[?last=TAG]`, `/store`, `/search/REF`, `/diff`), the JSON API they are
 * made from (`/api/...`, see `api-types.ts`) and file downloads (`/raw/REF/PATH`,
 * streamed). It only reads: registries through the client, images in the store, and the
 * store's listing and seek-index caches are the only things written.
 */
export async function startWebExplorer(
  options: StartWebExplorerOptions,
): Promise<RunningWebExplorer> {
  const listen = options.listen ?? '127.0.0.1:0';
  const { host, port } = parseListenAddress(listen);
  const loopback = isLoopbackRegistry(host);
  if (!loopback && !options.allowRemote) {
    throw new InvalidArgumentError(
      `${host} is not a loopback address: the explorer shows whatever your credentials can read, so listening there needs --allow-remote`,
    );
  }
  const views = new ImageViews(options);
  const data = new ExplorerData(views, options.client, options.platform, options.store);
  const json = (res: ServerResponse, value: unknown) =>
    send(res, 200, 'application/json', JSON.stringify(value));
  const html = (
    res: ServerResponse,
    title: string,
    body: Parameters<typeof page>[1],
    ref?: string,
  ) => send(res, 200, 'text/html; charset=utf-8', page({ title, ref, stats: data.stats() }, body));

  const routes: Record<string, Handler> = {
    'assets/app.css': async (_r, _u, res) => send(res, 200, 'text/css', STYLE),
    'assets/app.js': async (_r, _u, res) => send(res, 200, 'text/javascript', SCRIPT),
    'api/stats': async (_r, _u, res) => json(res, data.stats()),
    'api/catalog': async (rest, _u, res) => json(res, await data.catalog(rest)),
    'api/tags': async (rest, url, res) => json(res, await data.tags(rest, tagPage(url))),
    'api/store': async (_r, _u, res) => json(res, await data.stored()),
    'api/image': async (rest, _u, res) => json(res, await data.image(splitRefAndPath(rest).ref)),
    'api/dir': async (rest, _u, res) => {
      const { ref, path } = splitRefAndPath(rest);
      json(res, await data.dir(ref, path));
    },
    'api/stat': async (rest, _u, res) => {
      const { ref, path } = splitRefAndPath(rest);
      json(res, await data.stat(ref, path));
    },
    'api/layers': async (rest, _u, res) => json(res, await data.layers(splitRefAndPath(rest).ref)),
    'api/search': async (rest, url, res) =>
      json(res, await data.search(splitRefAndPath(rest).ref, url.searchParams.get('q') ?? '')),
    'api/diff': async (_r, url, res) => {
      const [a, b] = twoRefs(url);
      json(res, await data.diff(a, b));
    },
    'api/file-diff': async (_r, url, res) => {
      const [a, b] = twoRefs(url);
      json(res, await data.fileDiff(a, b, diffPath(url)));
    },
    go: async (_r, url, res) => {
      const p = url.searchParams;
      const ref = p.get('ref');
      const to = ref
        ? imageUrl('image', splitRefAndPath(ref).ref)
        : p.get('registry')
          ? `/registry/${refUrlPart(p.get('registry')!)}`
          : `/repo/${refUrlPart(p.get('repo') ?? '')}`;
      res.writeHead(303, { location: to }).end();
    },
    registry: async (rest, _u, res) => {
      const c = await data.catalog(rest);
      html(res, `Repositories of ${c.registry}`, catalogBody(c));
    },
    repo: async (rest, url, res) => {
      const t = await data.tags(rest, tagPage(url));
      html(res, `Tags of ${t.repository}`, tagsBody(t));
    },
    store: async (_r, _u, res) => html(res, 'The local store', storeBody(await data.stored())),
    image: async (rest, _u, res) => {
      const { ref, path } = splitRefAndPath(rest);
      if (path === '/') {
        const [img, root] = await Promise.all([data.image(ref), data.dir(ref, '/')]);
        return html(res, ref, overviewBody(img, root), ref);
      }
      const stat = await data.stat(ref, path);
      if (stat.entry.type === 'dir')
        return html(res, path, dirBody(await data.dir(ref, path)), ref);
      const readable =
        stat.entry.type === 'file' ||
        (stat.entry.type === 'hardlink' && stat.entry.contentType === 'file');
      const preview = readable ? await previewFile(await views.openFile(ref, path)) : undefined;
      html(res, path, fileBody(stat, preview, { ref, path }), ref);
    },
    layers: async (rest, _u, res) => {
      const ref = splitRefAndPath(rest).ref;
      html(res, `Layers of ${ref}`, layersBody(await data.layers(ref)), ref);
    },
    search: async (rest, url, res) => {
      const ref = splitRefAndPath(rest).ref;
      const s = await data.search(ref, url.searchParams.get('q') ?? '');
      html(res, `Search ${ref}`, searchBody(s), ref);
    },
    diff: async (_r, url, res) => {
      const [a, b] = twoRefs(url);
      if (url.searchParams.has('path')) {
        const d = await data.fileDiff(a, b, diffPath(url));
        return html(res, `${d.path}: ${a} -> ${b}`, fileDiffBody(d));
      }
      html(res, `${a} -> ${b}`, diffBody(await data.diff(a, b)));
    },
    raw: async (rest, url, res, req) => {
      const { ref, path } = splitRefAndPath(rest);
      const content = await views.fileEntry(ref, path);
      const name = path.slice(path.lastIndexOf('/') + 1);
      const headers = {
        'content-type': url.searchParams.has('inline')
          ? (imageTypeOf(path) ?? 'application/octet-stream')
          : 'application/octet-stream',
        'content-length': String(content.size),
        'content-disposition': `${url.searchParams.has('inline') ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
        'x-content-type-options': 'nosniff',
      };
      if (req.method === 'HEAD') return void res.writeHead(200, headers).end();
      // A download given up stops the reading of the layer.
      const controller = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      const stream = await views.openFile(ref, path, controller.signal);
      res.writeHead(200, headers);
      // Streamed with backpressure: a 2 GiB file passes through, never held whole.
      await pipeline(stream, res).catch(() => res.destroy());
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => fail(req, res, err, data));
  });
  keepConnectionsAlive(server);
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain', 'the explorer only reads\n');
    }
    if (loopback && !isLoopbackName(req.headers.host)) {
      return send(res, 403, 'text/plain', 'this explorer answers to loopback names only\n');
    }
    const url = new URL(req.url ?? '/', 'http://explorer.invalid');
    const pathname = url.pathname;
    if (pathname === '/') {
      return void html(res, 'ocipeek', homeBody(options.initialRef));
    }
    const name = Object.keys(routes)
      .filter((r) => pathname === `/${r}` || pathname.startsWith(`/${r}/`))
      .sort((a, b) => b.length - a.length)[0];
    if (name === undefined) throw new NotFoundRoute(pathname);
    await routes[name]!(pathname.slice(name.length + 2), url, res, req);
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(new ListenError(listen, err.code, { cause: err }));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    loopback,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await views.close();
      })();
      return closing;
    },
  };
}

class NotFoundRoute extends Error {}

/**
 * Whether a request's `Host` names this machine (127.0.0.1, [::1], localhost). A page
 * elsewhere that points its own name at 127.0.0.1 (DNS rebinding) sends that name and is
 * refused, so it cannot read images through the user's credentials.
 */
function isLoopbackName(hostHeader: string | undefined): boolean {
  return hostHeader !== undefined && isLoopbackRegistry(hostHeader);
}

/** The page of tags `?n=N&last=TAG` asks for. */
function tagPage(url: URL): TagPage {
  const p = url.searchParams;
  const page: TagPage = {};
  if (p.has('n')) page.n = Number(p.get('n'));
  if (p.get('last')) page.last = p.get('last')!;
  return page;
}

function diffPath(url: URL): string {
  const path = url.searchParams.get('path');
  if (!path) throw new InvalidArgumentError('a file comparison needs its path: &path=/PATH');
  return unescapeName(path);
}

function twoRefs(url: URL): [string, string] {
  const a = url.searchParams.get('a');
  const b = url.searchParams.get('b');
  if (!a || !b) throw new InvalidArgumentError('a comparison needs two images: ?a=REF&b=REF');
  return [splitRefAndPath(a).ref, splitRefAndPath(b).ref];
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // Nothing the pages load comes from elsewhere; a file's text never runs as script.
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** The HTTP status an error is answered with. */
function statusOf(err: unknown): number {
  if (err instanceof NotFoundRoute) return 404;
  if (isOcipeekError(err, 'ERR_PATH_NOT_FOUND') || isOcipeekError(err, 'ERR_NOT_FOUND')) return 404;
  if (isOcipeekError(err, 'ERR_INVALID_ARGUMENT') || isOcipeekError(err, 'ERR_INVALID_REFERENCE')) {
    return 400;
  }
  if (isOcipeekError(err, 'ERR_UNAUTHORIZED')) return 403;
  return isOcipeekError(err) ? 502 : 500;
}

function fail(req: IncomingMessage, res: ServerResponse, err: unknown, data: ExplorerData): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = statusOf(err);
  const message =
    err instanceof NotFoundRoute
      ? `no page at ${err.message}`
      : (err as Error).message.split('\n')[0]!;
  const code = isOcipeekError(err) ? err.code : status === 404 ? 'ERR_NOT_FOUND' : 'ERR_INTERNAL';
  if ((req.url ?? '').startsWith('/api/')) {
    const body: ErrorResponse = { error: { code, message } };
    send(res, status, 'application/json', JSON.stringify(body));
    return;
  }
  send(
    res,
    status,
    'text/html; charset=utf-8',
    page({ title: 'Not shown', stats: data.stats() }, errorBody(message)),
  );
}
