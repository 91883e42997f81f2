import { formatBytes } from '../../cli/format.js';
import type { CatalogResponse, TagsResponse } from './api-types.js';
import { type Html, html } from './html.js';
import { refUrlPart } from './web-paths.js';

/** The start page: open an image, a registry's catalog, or a repository's tags. */
export function homeBody(initialRef: string | undefined): Html {
  return html`<h1>Explore an image</h1>
<form action="/go" method="get">
  <p><label for="ref">Image reference</label><br>
  <input id="ref" name="ref" size="50" required value="${initialRef ?? ''}" placeholder="registry.example/repo:tag">
  <button type="submit">Open</button></p>
</form>
<form action="/go" method="get">
  <p><label for="registry">Registry (catalog)</label><br>
  <input id="registry" name="registry" size="30" required placeholder="127.0.0.1:5000">
  <button type="submit">List repositories</button></p>
</form>
<form action="/go" method="get">
  <p><label for="repo">Repository (tags)</label><br>
  <input id="repo" name="repo" size="40" required placeholder="registry.example/repo">
  <button type="submit">List tags</button></p>
</form>
<form action="/diff" method="get">
  <p><label for="a">Compare image</label> <input id="a" name="a" size="30" required>
  <label for="b">with</label> <input id="b" name="b" size="30" required>
  <button type="submit">Compare</button></p>
</form>`;
}

export function catalogBody(c: CatalogResponse): Html {
  return html`<h1>Repositories of ${c.registry}</h1>
<ul>${c.repositories.map((r) => html`<li><a href="/repo/${refUrlPart(`${c.registry}/${r}`)}">${r}</a></li>`)}</ul>
${c.repositories.length === 0 ? html`<p class="muted">The registry lists no repositories.</p>` : null}`;
}

export function tagsBody(t: TagsResponse): Html {
  return html`<h1>Tags of ${t.repository}</h1>
<div class="scroll"><table>
<thead><tr><th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Created</th><th scope="col" class="wide">Media type</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${t.tags.map(
    (tag) => html`<tr>
  <td><a href="/image/${refUrlPart(`${t.repository}:${tag.tag}`)}">${tag.tag}</a></td>
  <td class="mono">${tag.digest ?? html`<span class="error">${tag.error}</span>`}</td>
  <td>${tag.created ?? ''}</td>
  <td class="wide">${tag.mediaType}</td>
  <td class="num">${tag.size === null ? '' : formatBytes(tag.size)}</td>
</tr>`,
  )}</tbody></table></div>`;
}
