import { formatBytes } from '../../cli/format.js';
import type { CatalogResponse, StoreResponse, TagsResponse } from './api-types.js';
import { type Html, html } from './html.js';
import { imageUrl, refUrlPart } from './web-paths.js';

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
  const pageUrl = `/repo/${refUrlPart(t.repository)}?n=${t.pageSize}`;
  return html`<h1>Tags of ${t.repository}</h1>
<div class="scroll"><table>
<thead><tr><th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Created</th><th scope="col" class="wide">Media type</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${t.tags.map(
    (tag) => html`<tr>
  <td><a href="/image/${refUrlPart(`${t.repository}:${tag.tag}`)}">${tag.tag}</a>${attachedTo(t, tag.digest)}</td>
  <td class="mono">${tag.digest ?? html`<span class="error">${tag.error}</span>`}</td>
  <td>${tag.created ?? ''}</td>
  <td class="wide">${tag.mediaType}</td>
  <td class="num">${tag.size === null ? '' : formatBytes(tag.size)}</td>
</tr>`,
  )}</tbody></table></div>
${t.tags.length === 0 ? html`<p class="muted">No tags${t.last === undefined ? '' : ` after ${t.last}`}.</p>` : null}
${digestTagsList(t)}
<nav aria-label="Tag pages"><p>${t.last !== undefined ? html`<a href="${pageUrl}">First page</a> ` : null}${t.next !== undefined ? html`<a href="${pageUrl}&last=${encodeURIComponent(t.next)}" rel="next">Next page</a>` : null}</p></nav>`;
}

/** What the page's digest-named tags say about the image `digest` (after its tag's name). */
function attachedTo(t: TagsResponse, digest: string | null): Html | null {
  const kinds = t.digestTags.filter((d) => d.subject === digest).map((d) => d.kind);
  return kinds.length > 0 ? html` <span class="meta">(${kinds.join(', ')})</span>` : null;
}

/**
 * Tags named after a digest (referrers indexes, signatures, attestations): folded away
 * with their count, each under the image it is about.
 */
function digestTagsList(t: TagsResponse): Html | null {
  if (t.digestTags.length === 0) return null;
  return html`<details><summary>${t.digestTags.length} tag(s) named after an image's digest: referrers, signatures, attestations</summary>
<ul class="mono">${t.digestTags.map(
    (d) =>
      html`<li>${d.tag} <span class="meta">${d.kind} of</span> <a href="/image/${refUrlPart(`${t.repository}@${d.subject}`)}">${d.subjectTags.join(', ') || d.subject}</a></li>`,
  )}</ul></details>`;
}

/** The images in the local store, as `ocipeek images` lists them. */
export function storeBody(s: StoreResponse): Html {
  if (s.path === null) {
    return html`<h1>The local store</h1><p class="muted">There is no store yet: nothing has been pulled.</p>`;
  }
  return html`<h1>The local store</h1>
<p class="muted mono">${s.path}</p>
<div class="scroll"><table aria-label="Stored images">
<thead><tr><th scope="col">Reference</th><th scope="col" class="wide">Digest</th><th scope="col">Platform</th><th scope="col" class="num">Size</th><th scope="col" class="wide">Created</th></tr></thead>
<tbody>${s.images.map(
    (i) => html`<tr>
  <td>${i.complete ? html`<a href="${imageUrl('image', i.reference)}">${i.reference}</a>` : html`${i.reference} <span class="error">(incomplete)</span>`}</td>
  <td class="mono wide">${i.digest}</td>
  <td>${i.platforms.join(', ') || '-'}</td>
  <td class="num">${formatBytes(i.size)}</td>
  <td class="wide">${i.created ?? ''}</td>
</tr>`,
  )}</tbody></table></div>
${s.images.length === 0 ? html`<p class="muted">The store holds no images.</p>` : null}`;
}
