import { formatBytes } from '../../cli/format.js';
import { modeString } from '../../cli/fs-format.js';
import type { EntryJson } from '../../fs/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { hexDump } from '../file-head.js';
import type {
  DiffResponse,
  DirEntry,
  DirResponse,
  ImageResponse,
  SearchResponse,
  StatResponse,
} from './api-types.js';
import { REMOTE_COMPARE_BUDGET } from './diff-side.js';
import { type FilePreview, HEX_PREVIEW_BYTES, imageTypeOf } from './file-preview.js';
import { Html, type HtmlValue, html } from './html.js';
import { highlightFile } from './syntax-highlighter.js';
import { imageUrl } from './web-paths.js';

/** One entry of a tree: a folder that loads its entries when opened, or a link. */
function treeItem(e: DirEntry): Html {
  if (e.type === 'dir') {
    return html`<li><details class="dir" data-api="${e.api}"><summary>${e.display}/ <a class="meta" href="${e.url}" aria-label="open ${e.display} as a page">page</a></summary></details></li>`;
  }
  const meta =
    e.type === 'symlink'
      ? `-> ${e.linkname}`
      : e.type === 'hardlink'
        ? `hardlink to ${e.linkname}`
        : formatBytes(e.size);
  return html`<li><a href="${e.url}">${e.display}</a><span class="meta">${meta}</span></li>`;
}

/** A directory's entries as a tree whose folders load when opened (the script's part). */
export function treeBody(dir: DirResponse): Html {
  return html`<ul class="tree" aria-label="Files in ${escapeName(dir.path)}">${dir.entries.map(treeItem)}</ul>
${dir.entries.length === 0 ? html`<p class="muted">(empty)</p>` : null}`;
}

function kv(rows: [string, HtmlValue][]): Html {
  return html`<dl class="kv">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

function record(values: Record<string, string>): Html {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return html`<p class="muted">none</p>`;
  return kv(keys.map((k) => [k, html`<code>${values[k]!}</code>`]));
}

/** The image overview: what it is, its platforms, config, history by layer, and its root. */
export function overviewBody(img: ImageResponse, root: DirResponse): Html {
  return html`<h1>${img.ref}</h1>
${kv([
  ['Digest', html`<code>${img.digest}</code>`],
  ['Manifest', html`<code>${img.manifestDigest}</code> (${img.manifestMediaType})`],
  ['Platform', img.platform ?? 'none given'],
  ['Created', img.created ?? 'unknown'],
  ['Size', `${formatBytes(img.size)} compressed in ${img.layers.length} layers`],
  [
    'Read from',
    `${img.location}${img.lazy ? ' (eStargz/zstd:chunked: files fetched by chunk)' : ''}`,
  ],
  ['Entrypoint', html`<code>${JSON.stringify(img.entrypoint)}</code>`],
  ['Cmd', html`<code>${JSON.stringify(img.cmd)}</code>`],
  ['Working dir', img.workingDir ?? ''],
  ['User', img.user ?? ''],
  ['Env', html`<code>${img.env.join('\n')}</code>`],
])}
${
  img.platforms
    ? html`<h2>Platforms</h2><div class="scroll"><table><thead><tr><th scope="col">Platform</th><th scope="col">Digest</th><th scope="col" class="num">Size</th></tr></thead><tbody>${img.platforms.map(
        (p) =>
          html`<tr><td>${p.platform}${p.attestation ? ' (attestation)' : ''}</td><td class="mono">${p.digest}</td><td class="num">${formatBytes(p.size)}</td></tr>`,
      )}</tbody></table></div>`
    : null
}
<h2>Files</h2>
${treeBody(root)}
<h2>Labels</h2>${record(img.labels)}
<h2>Annotations</h2>${record(img.annotations)}
<h2>History</h2>
<div class="scroll"><table><thead><tr><th scope="col">Layer</th><th scope="col" class="num">Size</th><th scope="col">Created by</th></tr></thead><tbody>
${img.steps.map(
  (
    s,
  ) => html`<tr><td>${s.layerIndex === null ? html`<span class="muted">none</span>` : html`<a href="${imageUrl('layers', img.ref)}#layer-${s.layerIndex}">#${s.layerIndex}</a>`}</td>
<td class="num">${s.emptyLayer ? '' : formatBytes(s.size)}</td><td><code>${s.createdBy}</code></td></tr>`,
)}</tbody></table></div>`;
}

/** Which directories lead to `path`, each a link: `/ app / node_modules`. */
function breadcrumbs(ref: string, path: string): Html {
  const segs = path.split('/').filter((s) => s !== '');
  const links = segs.map((s, i) => {
    const to = `/${segs.slice(0, i + 1).join('/')}`;
    return html` / <a href="${imageUrl('image', ref, to)}">${escapeName(s)}</a>`;
  });
  return html`<nav aria-label="Path"><a href="${imageUrl('image', ref)}">${ref}</a>${links}</nav>`;
}

function entryFacts(e: EntryJson, ref: string): Html {
  return kv([
    ['Type', e.contentType ? `${e.type} (of a ${e.contentType})` : e.type],
    ['Mode', html`<code>${modeString(e.contentType ?? e.type, e.mode)}</code>`],
    ['Owner', `${e.uid}:${e.gid}`],
    ['Size', `${formatBytes(e.size)} (${e.size} bytes)`],
    ['Modified', new Date(e.mtime * 1000).toISOString()],
    [
      'Last written by',
      html`<a href="${imageUrl('layers', ref)}#layer-${e.layer}">layer #${e.layer}</a>`,
    ],
    ...(e.nlink ? [['Names', String(e.nlink)] as [string, HtmlValue]] : []),
  ]);
}

/** A directory as a page of its own. */
export function dirBody(dir: DirResponse): Html {
  return html`<h1>${breadcrumbs(dir.ref, dir.path)}</h1>${treeBody(dir)}`;
}

/** A file's text, highlighted when its language is known (by name or `#!` line). */
function textView(path: string, text: string): Html {
  const highlighted = highlightFile(path, text);
  const code = highlighted
    ? html`<code class="hljs" data-language="${highlighted.language}">${new Html(highlighted.html)}</code>`
    : html`<code>${text}</code>`;
  return html`<pre aria-label="Content of ${escapeName(path)}">${code}</pre>`;
}

/** What a file page shows: its facts, then its content (text, hex, image) or link target. */
export function fileBody(
  stat: StatResponse,
  preview: FilePreview | undefined,
  refPath: { ref: string; path: string },
): Html {
  const { ref, path } = refPath;
  const e = stat.entry;
  const raw = imageUrl('raw', ref, path);
  let content: HtmlValue = null;
  if (e.type === 'symlink') {
    content = stat.target
      ? html`<p>Symbolic link to <a href="${imageUrl('image', ref, stat.target.path)}"><code>${e.linkname}</code></a> (${stat.target.type}).</p>`
      : html`<p>Symbolic link to <code>${e.linkname}</code>, which is not in the image.</p>`;
  } else if (e.type === 'hardlink') {
    content = html`<p>Hard link: another name of <a href="${imageUrl('image', ref, e.linkname)}"><code>${e.linkname}</code></a>.</p>`;
  }
  let view: HtmlValue = null;
  if (preview) {
    const more = preview.truncated
      ? html`<p class="muted">Showing the first ${formatBytes(preview.head.length)}; download for the rest.</p>`
      : null;
    const type = imageTypeOf(path);
    view = type
      ? html`<img src="${raw}?inline=1" alt="${escapeName(path)}" style="max-width:100%">`
      : preview.kind === 'text'
        ? html`${textView(path, preview.head.toString('utf8'))}${more}`
        : html`<pre aria-label="Hex dump of ${escapeName(path)}">${hexDump(preview.head, HEX_PREVIEW_BYTES).join('\n')}</pre>${more}`;
    view = html`<p><a href="${raw}" download>Download</a></p>${view}`;
  }
  return html`<h1>${breadcrumbs(ref, path)}</h1>${content}${entryFacts(e, ref)}${view}`;
}

/** Name search results, each a link to its page. */
export function searchBody(s: SearchResponse): Html {
  return html`<h1>Names containing &ldquo;${s.query}&rdquo; in ${s.ref}</h1>
<p role="status">${s.matches.length}${s.truncated ? '+' : ''} found</p>
<ul>${s.matches.map((m) => html`<li><a href="${imageUrl('image', s.ref, m.path)}">${escapeName(m.path)}</a> <span class="meta">${m.type}</span></li>`)}</ul>`;
}

/** Two images compared: added, removed, changed paths. */
export function diffBody(d: DiffResponse): Html {
  const list = (title: string, sign: string, ref: string, items: EntryJson[]) =>
    html`<h2>${title} (${items.length})</h2><ul class="mono">${items.map((e) => html`<li>${sign} <a href="${imageUrl('image', ref, e.path)}">${escapeName(e.path)}</a></li>`)}</ul>`;
  return html`<h1>${d.a} &rarr; ${d.b}</h1>
${list('Added', '+', d.b, d.added)}
${list('Removed', '-', d.a, d.removed)}
<h2>Changed (${d.changed.length})</h2><ul class="mono">${d.changed.map((c) => html`<li>~ <a href="${imageUrl('image', d.b, c.path)}">${escapeName(c.path)}</a> <span class="meta">${c.fields.join(', ')}</span>${isFile(c.before) && isFile(c.after) ? changesLink(d, c.path) : null}</li>`)}</ul>
${
  d.uncompared.length > 0
    ? html`<h2>Not compared (${d.uncompared.length})</h2>
<p class="meta">Same size on both sides; comparing their contents would download more of the layers than the explorer fetches for a diff (${REMOTE_COMPARE_BUDGET / 1024 / 1024} MiB an image). <code>ocipeek diff</code> reads them all.</p>
<ul class="mono">${d.uncompared.map((path) => html`<li>? <a href="${imageUrl('image', d.b, path)}">${escapeName(path)}</a> ${changesLink(d, path)}</li>`)}</ul>`
    : null
}`;
}

/** A link to the page comparing the contents of `path` in the two images. */
function changesLink(d: DiffResponse, path: string): Html {
  return html` <a class="meta" href="/diff?a=${encodeURIComponent(d.a)}&b=${encodeURIComponent(d.b)}&path=${encodeURIComponent(escapeName(path))}" aria-label="changes of ${escapeName(path)}">changes</a>`;
}

/** A regular file, or a hardlink to one: what has content to compare. */
function isFile(e: EntryJson): boolean {
  return e.type === 'file' || (e.type === 'hardlink' && e.contentType === 'file');
}
