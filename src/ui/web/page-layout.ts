import { formatBytes } from '../../cli/format.js';
import type { StatsResponse } from './api-types.js';
import { type Html, type HtmlValue, html } from './html.js';
import { imageUrl } from './web-paths.js';

/** What every page shows around its content. */
export interface PageFrame {
  title: string;
  /** The image the page is about: its views are linked in the header. */
  ref?: string;
  stats: StatsResponse;
}

/** The bytes-fetched line (the script keeps it current; `data-bytes` is the raw count). */
export function bytesLine(stats: StatsResponse): Html {
  return html`<p id="bytes" role="status" aria-live="polite" data-bytes="${stats.bytesFetched}">Fetched from registries: ${formatBytes(stats.bytesFetched)} in ${stats.requests} requests</p>`;
}

/** A whole page: header (navigation, image views, search, the byte counter), then `body`. */
export function page(frame: PageFrame, body: HtmlValue): string {
  const ref = frame.ref;
  const imageNav = ref
    ? html`<a href="${imageUrl('image', ref)}">Overview and files</a>
      <a href="${imageUrl('layers', ref)}">Layers</a>
      <form role="search" action="${imageUrl('search', ref)}" method="get">
        <label for="q" class="visually-hidden">Search names in ${ref}</label>
        <input id="q" name="q" type="search" placeholder="Search names">
        <button type="submit">Search</button>
      </form>`
    : null;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} &middot; ocipeek</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <nav aria-label="Main"><a href="/"><strong>ocipeek</strong></a><a href="/store">Store</a>${imageNav}</nav>
  ${bytesLine(frame.stats)}
</header>
<main id="main">
${body}
</main>
</body>
</html>`}`;
}

/** A page saying what went wrong, in one line. */
export function errorBody(message: string): Html {
  return html`<h1>Not shown</h1><p class="error" role="alert">${message}</p>`;
}
