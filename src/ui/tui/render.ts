import { shortDigest } from '../../cli/format.js';
import { escapeName } from '../../tar/name-codec.js';
import type { BrowseModel } from './browse-model.js';
import { layerLines, summaryLine, summaryLines, treeLines } from './panes.js';
import { fitLine, type StyledLine } from './styled-line.js';

/** Columns from which the layers and the tree stand side by side (else one above the other). */
export const WIDE_COLUMNS = 100;
/** Smallest screen drawn; below it a one-line note asks for more room. */
const MIN_COLUMNS = 30;
const MIN_ROWS = 8;

/** A terminal's size in cells. */
export interface ScreenSize {
  columns: number;
  rows: number;
}

/**
 * The whole screen for `model`: exactly `size.rows` lines of exactly `size.columns` cells.
 * Wide screens put the layer list and the wasted-space summary on the left and the tree on
 * the right; narrow ones stack the layers, a one-line summary and the tree. Tells the model
 * how many rows each list has, so that its scrolling keeps the cursor in view.
 */
export function renderScreen(model: BrowseModel, size: ScreenSize): StyledLine[] {
  const { columns, rows } = size;
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) {
    const note = fitLine([{ text: `window too small (${columns}x${rows}); q quits` }], columns);
    return [note, ...Array.from({ length: rows - 1 }, () => fitLine([], columns))];
  }
  const body = rows - 2;
  const middle =
    columns >= WIDE_COLUMNS ? wideBody(model, columns, body) : narrowBody(model, columns, body);
  return [titleLine(model, columns), ...middle, statusLine(model, columns)];
}

function wideBody(model: BrowseModel, columns: number, height: number): StyledLine[] {
  const left = Math.max(40, Math.min(70, Math.floor(columns * 0.42)));
  const right = columns - left - 1;
  const layerRows = Math.min(model.report.layers.length, Math.max(1, height - 2 - 6));
  model.setViewport(layerRows, height - 2);
  const leftLines = [
    ...layerLines(model, left, layerRows + 2),
    fitLine([], left),
    ...summaryLines(model, left, height),
  ];
  const rightLines = treeLines(model, right, height, true);
  const out: StyledLine[] = [];
  for (let i = 0; i < height; i++) {
    out.push([
      ...(leftLines[i] ?? fitLine([], left)),
      { text: '│', style: 'dim' },
      ...(rightLines[i] ?? fitLine([], right)),
    ]);
  }
  return out;
}

function narrowBody(model: BrowseModel, columns: number, height: number): StyledLine[] {
  const layerRows = Math.min(model.report.layers.length, Math.max(1, Math.floor(height / 3) - 2));
  const treeHeight = height - (layerRows + 2) - 2;
  model.setViewport(layerRows, treeHeight - 2);
  const out = [
    ...layerLines(model, columns, layerRows + 2),
    summaryLine(model, columns),
    fitLine([{ text: '─'.repeat(columns), style: 'dim' }], columns),
    ...treeLines(model, columns, treeHeight, false),
  ];
  while (out.length < height) out.push(fitLine([], columns));
  return out.slice(0, height);
}

function titleLine(model: BrowseModel, columns: number): StyledLine {
  const r = model.report;
  return fitLine(
    [{ text: ` ocipeek browse  ${escapeName(r.name)}  ${shortDigest(r.digest)}`, style: 'title' }],
    columns,
    'title',
  );
}

function statusLine(model: BrowseModel, columns: number): StyledLine {
  if (model.editingFilter) {
    return fitLine(
      [
        { text: ' Filter: ', style: 'bold' },
        { text: `${model.filter}▏` },
        { text: '  (Enter keeps, Esc clears)', style: 'dim' },
      ],
      columns,
    );
  }
  const mode = model.mode === 'aggregated' ? 'aggregated' : 'per-layer';
  return fitLine(
    [
      {
        text: ` Tab pane  m mode (${mode})  / filter  Enter open  p show file  ? help  q quit`,
        style: 'dim',
      },
    ],
    columns,
  );
}
