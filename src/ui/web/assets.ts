/**
 * The page's style sheet and its one script, compiled into the package with the rest of
 * the code (no front-end build, nothing fetched from elsewhere). The pages are rendered on
 * the server and work without the script; it only loads folders in place when they are
 * opened and keeps the bytes-fetched counter current.
 */

export const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --accent: #2563eb; --bar-add: #16a34a; --bar-mod: #d97706; --bar-del: #dc2626; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; }
header, main { padding: 0.5rem 1rem; }
header { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; border-bottom: 1px solid #8884; }
header nav { display: flex; flex-wrap: wrap; gap: 0.75rem; }
header form { display: flex; gap: 0.25rem; flex: 1 1 16rem; }
header input { flex: 1; min-width: 0; }
a { color: var(--accent); }
a:focus, summary:focus, button:focus, input:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.25rem; word-break: break-all; }
h2 { font-size: 1.1rem; }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: 13px; }
pre { overflow: auto; padding: 0.5rem; background: #8881; max-height: 70vh; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 0.15rem 0.6rem 0.15rem 0; vertical-align: top; }
td.num, th.num { text-align: right; }
ul.tree, ul.tree ul { list-style: none; padding-left: 1.1rem; margin: 0; }
ul.tree { padding-left: 0; }
.muted { color: var(--muted); }
.meta { color: var(--muted); font-size: 12px; margin-left: 0.5rem; }
#bytes { font-variant-numeric: tabular-nums; margin: 0; color: var(--muted); font-size: 13px; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; }
dl.kv dd { margin: 0; word-break: break-all; }
svg.chart text { font: 11px system-ui, sans-serif; fill: currentColor; }
.error { color: var(--bar-del); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.skip { position: absolute; left: -999px; } .skip:focus { left: 0.5rem; top: 0.5rem; background: Canvas; padding: 0.25rem; }
pre.diff .add { color: #15803d; background: #16a34a1a; }
pre.diff .del { color: #b91c1c; background: #dc26261a; }
pre.diff .hunk { color: var(--muted); }
/* Syntax colours (highlight.js classes), readable on light and dark. */
.hljs-comment, .hljs-quote, .hljs-meta { color: #6b7280; font-style: italic; }
.hljs-keyword, .hljs-selector-tag, .hljs-built_in, .hljs-doctag { color: #7c3aed; }
.hljs-string, .hljs-regexp, .hljs-addition, .hljs-attribute { color: #15803d; }
.hljs-number, .hljs-literal, .hljs-symbol, .hljs-bullet { color: #b45309; }
.hljs-title, .hljs-section, .hljs-name, .hljs-selector-id, .hljs-selector-class { color: #2563eb; }
.hljs-attr, .hljs-variable, .hljs-template-variable, .hljs-type, .hljs-params { color: #0e7490; }
.hljs-deletion { color: #dc2626; }
@media (prefers-color-scheme: dark) {
  .hljs-keyword, .hljs-selector-tag, .hljs-built_in, .hljs-doctag { color: #c4b5fd; }
  .hljs-string, .hljs-regexp, .hljs-addition, .hljs-attribute { color: #86efac; }
  .hljs-number, .hljs-literal, .hljs-symbol, .hljs-bullet { color: #fcd34d; }
  .hljs-title, .hljs-section, .hljs-name, .hljs-selector-id, .hljs-selector-class { color: #93c5fd; }
  .hljs-attr, .hljs-variable, .hljs-template-variable, .hljs-type, .hljs-params { color: #67e8f9; }
  .hljs-deletion { color: #fca5a5; }
}
@media (max-width: 40rem) { .wide { display: none; } body { font-size: 14px; } }
`;

export const SCRIPT = `
'use strict';
const bytes = document.getElementById('bytes');
function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  // As the server's formatBytes (src/cli/format.ts), so both counters read alike.
  return i === 0 ? n + ' B' : n.toFixed(n < 10 ? 2 : 1) + ' ' + units[i];
}
function bytesLine(s) {
  return 'Fetched from registries: ' + formatBytes(s.bytesFetched) + ' in ' + s.requests + ' requests';
}
async function refreshBytes() {
  if (!bytes) return;
  const r = await fetch('/api/stats');
  if (!r.ok) return;
  const s = await r.json();
  bytes.dataset.bytes = String(s.bytesFetched);
  bytes.textContent = bytesLine(s);
}
function entryItem(e) {
  const li = document.createElement('li');
  if (e.type === 'dir') {
    const d = document.createElement('details');
    d.className = 'dir';
    d.dataset.api = e.api;
    const s = document.createElement('summary');
    s.textContent = e.display + '/';
    d.append(s);
    const open = document.createElement('a');
    open.href = e.url;
    open.className = 'meta';
    open.textContent = 'page';
    open.setAttribute('aria-label', 'open ' + e.display + ' as a page');
    s.append(' ', open);
    li.append(d);
  } else {
    const a = document.createElement('a');
    a.href = e.url;
    a.textContent = e.display;
    li.append(a);
    const m = document.createElement('span');
    m.className = 'meta';
    m.textContent = e.type === 'symlink' ? '-> ' + e.linkname : e.type === 'hardlink' ? 'hardlink to ' + e.linkname : formatBytes(e.size);
    li.append(m);
  }
  return li;
}
async function loadDir(details) {
  if (details.dataset.loaded) return;
  details.dataset.loaded = 'loading';
  details.setAttribute('aria-busy', 'true');
  const ul = document.createElement('ul');
  try {
    const r = await fetch(details.dataset.api);
    const body = await r.json();
    if (!r.ok) throw new Error(body.error.message);
    for (const e of body.entries) ul.append(entryItem(e));
    if (!body.entries.length) { const li = document.createElement('li'); li.className = 'muted'; li.textContent = '(empty)'; ul.append(li); }
    details.dataset.loaded = 'yes';
  } catch (err) {
    const li = document.createElement('li'); li.className = 'error'; li.textContent = String(err.message || err); ul.append(li);
    delete details.dataset.loaded;
  }
  details.removeAttribute('aria-busy');
  details.querySelector(':scope > ul')?.remove();
  details.append(ul);
  refreshBytes();
}
document.addEventListener('toggle', (ev) => {
  const d = ev.target;
  if (d instanceof HTMLDetailsElement && d.classList.contains('dir') && d.open) loadDir(d);
}, true);
refreshBytes();
`;
