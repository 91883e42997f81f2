import { formatBytes } from '../../cli/format.js';
import { escapeName } from '../../tar/name-codec.js';
import { PREVIEW_BYTES } from '../file-head.js';
import type { FileDiffResponse } from './api-types.js';
import type { FileDiffSide } from './file-diff.js';
import { type Html, html } from './html.js';
import { imageUrl } from './web-paths.js';

const LINE_CLASS: Record<string, string> = { '+': 'add', '-': 'del', '\\': 'muted' };

/** The page of one file compared between two images: sizes, then a unified diff. */
export function fileDiffBody(d: FileDiffResponse): Html {
  const name = escapeName(d.path);
  const side = (ref: string, s: FileDiffSide | null) =>
    s
      ? html`<a href="${imageUrl('image', ref, d.path)}">${ref}</a>: ${formatBytes(s.size)}${s.kind === 'binary' ? ' (binary)' : ''}`
      : html`${ref}: absent`;
  const cut = d.before?.truncated || d.after?.truncated;
  const note = cut
    ? html`<p class="muted">Compared the first ${formatBytes(PREVIEW_BYTES)} of each side.</p>`
    : null;
  let view: Html;
  if (d.result === 'identical')
    view = html`<p>The content is the same${cut ? ' as far as compared' : ''}.</p>`;
  else if (d.result === 'binary') view = html`<p>Binary content differs; not shown as lines.</p>`;
  else if (d.result === 'too-many') view = html`<p>Too many lines changed to show them.</p>`;
  else {
    const lines = d.hunks.flatMap((h) => [
      html`<span class="hunk">@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@</span>`,
      ...h.lines.map((l) => {
        const cls = LINE_CLASS[l[0] ?? ''];
        return cls ? html`<span class="${cls}">${l}</span>` : html`${l}`;
      }),
    ]);
    view = html`<pre class="diff" aria-label="Changes of ${name}">${lines.map((l, i) => (i === 0 ? l : html`\n${l}`))}</pre>`;
  }
  return html`<h1>${name}</h1>
<ul><li>- ${side(d.a, d.before)}</li><li>+ ${side(d.b, d.after)}</li></ul>
${view}${note}`;
}
