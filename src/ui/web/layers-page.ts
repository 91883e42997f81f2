import { formatBytes } from '../../cli/format.js';
import { escapeName } from '../../tar/name-codec.js';
import type { LayersResponse } from './api-types.js';
import { type Html, html } from './html.js';
import { imageUrl } from './web-paths.js';

const BAR_HEIGHT = 18;
const LABEL_WIDTH = 40;
const CHART_WIDTH = 600;

/**
 * Bytes each layer added, modified and deleted, as horizontal stacked bars (an inline
 * SVG: no chart library, no script). The table below carries the same numbers for screen
 * readers, so the chart is one image with a summary label.
 */
function chart(r: LayersResponse): Html {
  const total = (l: LayersResponse['layers'][number]) =>
    l.bytesAdded + l.bytesModified + l.bytesDeleted;
  const max = Math.max(1, ...r.layers.map(total));
  // A change of a few bytes still shows as a sliver beside one of megabytes.
  const scale = (n: number) =>
    n === 0 ? 0 : Math.max(2, (n / max) * (CHART_WIDTH - LABEL_WIDTH - 80));
  const rows = r.layers.map((l, i) => {
    const y = i * (BAR_HEIGHT + 4);
    const a = scale(l.bytesAdded);
    const m = scale(l.bytesModified);
    const d = scale(l.bytesDeleted);
    return html`<g transform="translate(0 ${y})">
<text x="0" y="${BAR_HEIGHT - 5}">#${l.index}</text>
<rect x="${LABEL_WIDTH}" width="${a}" height="${BAR_HEIGHT}" fill="var(--bar-add)"><title>added ${formatBytes(l.bytesAdded)}</title></rect>
<rect x="${LABEL_WIDTH + a}" width="${m}" height="${BAR_HEIGHT}" fill="var(--bar-mod)"><title>modified ${formatBytes(l.bytesModified)}</title></rect>
<rect x="${LABEL_WIDTH + a + m}" width="${d}" height="${BAR_HEIGHT}" fill="var(--bar-del)"><title>deleted ${formatBytes(l.bytesDeleted)}</title></rect>
<text x="${LABEL_WIDTH + a + m + d + 4}" y="${BAR_HEIGHT - 5}">${formatBytes(total(l))}</text>
</g>`;
  });
  const height = r.layers.length * (BAR_HEIGHT + 4);
  return html`<figure>
<svg class="chart" role="img" aria-label="Bytes added (green), modified (amber) and deleted (red) by each layer" viewBox="0 0 ${CHART_WIDTH} ${height}" width="100%" style="max-width:${CHART_WIDTH}px">${rows}</svg>
<figcaption class="muted">Green: added, amber: modified, red: deleted.</figcaption>
</figure>`;
}

/** The `ocipeek layers` report: per-layer changes, wasted bytes, efficiency, with a chart. */
export function layersBody(r: LayersResponse): Html {
  return html`<h1>Layers of ${r.ref}</h1>
<p id="efficiency">Efficiency: <strong>${(r.efficiency * 100).toFixed(2)}%</strong> &middot; Wasted: <strong>${formatBytes(r.wastedBytes)}</strong> (${(r.wastedUserPercent * 100).toFixed(2)}% of the user layers) &middot; Overwritten or deleted: ${formatBytes(r.shadowedBytes)}</p>
${chart(r)}
<div class="scroll"><table aria-label="Layers">
<thead><tr><th scope="col">#</th><th scope="col" class="num">Compressed</th><th scope="col" class="num wide">Size</th><th scope="col" class="num">Added</th><th scope="col" class="num">Modified</th><th scope="col" class="num">Deleted</th><th scope="col">Created by</th></tr></thead>
<tbody>${r.layers.map(
    (l) => html`<tr id="layer-${l.index}">
<td title="${l.digest}">${l.index}</td>
<td class="num">${formatBytes(l.compressedSize)}</td>
<td class="num wide">${l.uncompressedSize === null ? '' : formatBytes(l.uncompressedSize)}</td>
<td class="num">${l.filesAdded} (${formatBytes(l.bytesAdded)})</td>
<td class="num">${l.filesModified} (${formatBytes(l.bytesModified)})</td>
<td class="num">${l.filesDeleted}</td>
<td><code>${l.createdBy ?? ''}</code></td></tr>`,
  )}</tbody></table></div>
<h2>Wasted space</h2>
${
  r.inefficiencies.length === 0
    ? html`<p class="muted">No path was written more than once or deleted.</p>`
    : html`<div class="scroll"><table><thead><tr><th scope="col" class="num">Count</th><th scope="col" class="num">Total</th><th scope="col">Path</th></tr></thead><tbody>${r.inefficiencies.map(
        (x) =>
          html`<tr><td class="num">${x.count}</td><td class="num">${formatBytes(x.cumulativeSize)}</td><td><a href="${imageUrl('image', r.ref, x.path)}">${escapeName(x.path)}</a></td></tr>`,
      )}</tbody></table></div>`
}`;
}
