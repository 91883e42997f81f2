import { formatBytes, shortDigest } from '../../cli/format.js';
import { humanSize, modeString } from '../../cli/fs-format.js';
import { escapeName } from '../../tar/name-codec.js';
import type { BrowseModel } from './browse-model.js';
import type { Change } from './browse-tree.js';
import { fitLine, restyle, type Segment, type Style, type StyledLine } from './styled-line.js';

/** The keys, as the help pane lists them. */
export const KEY_HELP: ReadonlyArray<readonly [string, string]> = [
  ['Tab', 'switch between the layer list and the file tree'],
  ['↑ ↓  j k', 'move (PgUp PgDn, Home End / g G)'],
  ['m', 'aggregated tree (image through the layer) / only what the layer changed'],
  ['Enter  Space', 'open or close a directory; show a file'],
  ['→ ←  l h', 'open a directory / close it, or go to its parent'],
  ['*  -', 'open every directory / close them all'],
  ['/', 'filter by path (Enter keeps it, Esc clears it)'],
  ['p', 'show the file under the cursor (Esc closes)'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

const CHANGE_MARK: Record<Change, string> = { added: '+', modified: '~', deleted: '-' };

/** One-line text of a layer's build step (whitespace runs as one space, escapes shown). */
function stepText(createdBy: string | null): string {
  return escapeName((createdBy ?? '').replace(/\s+/g, ' ').trim());
}

/** Rows of the layer list, `height` of them at most, the selected one marked. */
export function layerLines(model: BrowseModel, width: number, height: number): StyledLine[] {
  const layers = model.report.layers;
  const digits = String(Math.max(0, layers.length - 1)).length;
  const focused = model.focus === 'layers';
  const changes = layers.map((l) => `+${l.filesAdded} ~${l.filesModified} -${l.filesDeleted}`);
  const changesWidth = Math.max(7, ...changes.map((c) => c.length));
  const head = `  ${'#'.padStart(digits)}  ${'SIZE'.padStart(9)}  ${'CHANGES'.padEnd(changesWidth)}  COMMAND`;
  const lines: StyledLine[] = [
    fitLine([{ text: `Layers (${layers.length})${focused ? '  ◆' : ''}`, style: 'bold' }], width),
    fitLine([{ text: head, style: 'dim' }], width),
  ];
  for (let i = model.layerTop; i < layers.length && lines.length < height; i++) {
    const l = layers[i]!;
    const selected = i === model.layer;
    const size = formatBytes(l.uncompressedSize ?? l.compressedSize).padStart(9);
    const line: StyledLine = [
      { text: `${selected ? '>' : ' '} ${String(i).padStart(digits)}  ${size}  ` },
      { text: changes[i]!.padEnd(changesWidth), style: l.filesDeleted ? 'deleted' : 'plain' },
      { text: `  ${stepText(l.createdBy) || shortDigest(l.digest)}` },
    ];
    const fitted = fitLine(line, width);
    lines.push(selected && focused ? restyle(fitted, 'selected') : fitted);
  }
  return lines;
}

/** The wasted-space summary, as `ocipeek layers` prints it, cut to `height` lines. */
export function summaryLines(model: BrowseModel, width: number, height: number): StyledLine[] {
  const r = model.report;
  const pct = (n: number) => `${(n * 100).toFixed(2)}%`;
  const lines: StyledLine[] = [
    [{ text: 'Wasted space', style: 'bold' }],
    [{ text: `Efficiency: ${pct(r.efficiency)}` }],
    [
      {
        text: `Wasted: ${formatBytes(r.wastedBytes)} (${pct(r.wastedUserPercent)} of the user layers)`,
      },
    ],
    [{ text: `Overwritten or deleted: ${formatBytes(r.shadowedBytes)}` }],
  ];
  if (r.inefficiencies.length) {
    lines.push([{ text: `${'COUNT'.padStart(5)}  ${'TOTAL'.padStart(10)}  PATH`, style: 'dim' }]);
    for (const x of r.inefficiencies) {
      lines.push([
        { text: `${String(x.count).padStart(5)}  ${formatBytes(x.cumulativeSize).padStart(10)}  ` },
        { text: escapeName(x.path), style: 'modified' },
      ]);
    }
  }
  return lines.slice(0, height).map((l) => fitLine(l, width));
}

/** The summary in one line, for narrow screens. */
export function summaryLine(model: BrowseModel, width: number): StyledLine {
  const r = model.report;
  const text = `Efficiency ${(r.efficiency * 100).toFixed(2)}%  Wasted ${formatBytes(r.wastedBytes)} (${(r.wastedUserPercent * 100).toFixed(2)}%)  Overwritten/deleted ${formatBytes(r.shadowedBytes)}`;
  return fitLine([{ text, style: 'bold' }], width);
}

/** What the tree pane's title says. */
function treeTitle(model: BrowseModel): string {
  const last = model.report.layers.length - 1;
  const what =
    model.mode === 'aggregated'
      ? model.layer === last
        ? `Image (aggregated, all ${last + 1} layers)`
        : `Aggregated through layer ${model.layer} of ${last}`
      : `Changed by layer ${model.layer}`;
  const matches = model.filterMatches();
  const filter = model.filter ? `  filter "${model.filter}": ${matches ?? 0} match(es)` : '';
  return `${what}${filter}${model.focus === 'tree' ? '  ◆' : ''}`;
}

/** The tree pane: title, column heads and the rows from the scroll position. */
export function treeLines(
  model: BrowseModel,
  width: number,
  height: number,
  wide: boolean,
): StyledLine[] {
  if (model.help) return helpLines(width, height);
  if (model.preview) return previewLines(model, width, height);
  const head = wide
    ? `  ${'PERMISSION'.padEnd(10)} ${'UID:GID'.padStart(9)} ${'SIZE'.padStart(6)}  TREE`
    : `  ${'SIZE'.padStart(6)}  TREE`;
  const lines: StyledLine[] = [
    fitLine([{ text: treeTitle(model), style: 'bold' }], width),
    fitLine([{ text: head, style: 'dim' }], width),
  ];
  if (model.loading) {
    lines.push(fitLine([{ text: `  reading layer ${model.layer}…`, style: 'dim' }], width));
    return lines;
  }
  const rows = model.rows();
  if (rows.length === 0) {
    const empty = model.filter ? '  (nothing matches the filter)' : '  (no changes)';
    lines.push(fitLine([{ text: empty, style: 'dim' }], width));
  }
  for (let i = model.treeTop; i < rows.length && lines.length < height; i++) {
    const { node, prefix, expanded } = rows[i]!;
    const at = i === model.cursor;
    const isDir = node.children !== undefined;
    const meta = wide
      ? `${modeString(node.type, node.mode)} ${`${node.uid}:${node.gid}`.padStart(9)} `
      : '';
    const name = escapeName(node.name) + (isDir ? '/' : '');
    const style: Style =
      node.change ?? (isDir ? 'dir' : node.type === 'symlink' ? 'link' : 'plain');
    const line: Segment[] = [
      {
        text: `${at ? '>' : ' '}${node.change ? CHANGE_MARK[node.change] : ' '}${meta}${humanSize(node.size).padStart(6)}  ${prefix}`,
      },
      { text: isDir && !expanded && node.children!.length ? `${name}…` : name, style },
    ];
    if (node.linkname !== undefined) {
      line.push({ text: ` → ${escapeName(node.linkname)}`, style: 'link' });
    }
    const fitted = fitLine(line, width);
    lines.push(at && model.focus === 'tree' ? restyle(fitted, 'selected') : fitted);
  }
  return lines;
}

function previewLines(model: BrowseModel, width: number, height: number): StyledLine[] {
  const p = model.preview!;
  const lines: StyledLine[] = [
    fitLine([{ text: `File ${escapeName(p.path)}`, style: 'bold' }], width),
    fitLine([{ text: `${p.note}  (Esc closes, ↑ ↓ scroll)`, style: 'dim' }], width),
  ];
  for (let i = p.top; i < p.lines.length && lines.length < height; i++) {
    lines.push(fitLine([{ text: p.lines[i]! }], width));
  }
  return lines;
}

function helpLines(width: number, height: number): StyledLine[] {
  const lines: StyledLine[] = [fitLine([{ text: 'Keys (? or Esc closes)', style: 'bold' }], width)];
  for (const [keys, what] of KEY_HELP) {
    lines.push(fitLine([{ text: `  ${keys.padEnd(14)}`, style: 'bold' }, { text: what }], width));
  }
  lines.push(fitLine([], width));
  lines.push(
    fitLine(
      [{ text: '  + added   ~ modified   - deleted (by the selected layer)', style: 'dim' }],
      width,
    ),
  );
  return lines.slice(0, height);
}
