import type { LayerReport } from '../../image/index.js';
import type { BrowseNode } from './browse-tree.js';
import type { Key } from './keys.js';
import type { TreeMode } from './layer-trees.js';
import { type FilterResult, filterTree, flattenTree, type TreeRow } from './tree-rows.js';

/** Which pane the arrow keys move in. */
export type Focus = 'layers' | 'tree';

/** A file shown in place of the tree. */
export interface Preview {
  path: string;
  /** The lines to show; empty while loading. */
  lines: string[];
  /** Said above the lines: loading, binary (hex shown), cut at N bytes, an error. */
  note: string;
  /** First line shown. */
  top: number;
}

/**
 * What the model asks the program around it to do after a key. `wait`: the key acts on a
 * tree still loading and was not applied; press it again once the tree is shown (keys
 * typed ahead are not lost, and keep their order).
 */
export type Effect =
  | { kind: 'quit' }
  | { kind: 'preview'; path: string }
  | { kind: 'wait' }
  | undefined;

/** The tree the model wants shown: the selected layer, in the selected mode. */
export interface TreeWanted {
  layer: number;
  mode: TreeMode;
}

/**
 * Everything the browser shows, and how keys change it; no I/O and no terminal. The
 * program around it loads the tree {@link wantedTree} names, hands it over with
 * {@link setTree}, reads files a `preview` effect asks for, and renders the model.
 */
export class BrowseModel {
  focus: Focus = 'layers';
  mode: TreeMode = 'aggregated';
  /** The selected layer (bottom 0); the top one at the start: the whole image. */
  layer: number;
  filter = '';
  editingFilter = false;
  help = false;
  preview: Preview | undefined;
  /** First layer row and first tree row shown (scrolling). */
  layerTop = 0;
  treeTop = 0;
  /** Tree row under the cursor. */
  cursor = 0;
  private root: BrowseNode | undefined;
  private loaded: TreeWanted | undefined;
  /** Directories opened in the aggregated tree (kept across layers) and the per-layer one. */
  private readonly expanded = { aggregated: new Set<string>(['/']), layer: new Set<string>() };
  private cached: { rows: TreeRow[]; filter: FilterResult | undefined } | undefined;
  /** The path under the cursor, to find again in the next tree loaded. */
  private cursorPath: string | undefined;
  private viewport = { layers: 10, tree: 20 };

  constructor(readonly report: LayerReport) {
    this.layer = Math.max(0, report.layers.length - 1);
  }

  /** The tree to load for the current selection. */
  wantedTree(): TreeWanted {
    return { layer: this.layer, mode: this.mode };
  }

  /** True while the tree shown is not (yet) the one {@link wantedTree} names. */
  get loading(): boolean {
    return !this.loaded || this.loaded.layer !== this.layer || this.loaded.mode !== this.mode;
  }

  /** The tree of `wanted`, loaded; ignored when the selection moved on meanwhile. */
  setTree(wanted: TreeWanted, root: BrowseNode): void {
    if (wanted.layer !== this.layer || wanted.mode !== this.mode) return;
    const at = this.cursorPath;
    this.root = root;
    this.loaded = wanted;
    if (wanted.mode === 'layer') {
      // What one layer changed is small and read whole: open every directory.
      this.expanded.layer = new Set(allDirs(root));
    }
    this.invalidate();
    const again = at === undefined ? -1 : this.rows().findIndex((r) => r.node.path === at);
    this.cursor = again >= 0 ? again : Math.min(this.cursor, Math.max(0, this.rows().length - 1));
    this.scrollTree();
  }

  /** How many layer rows and tree rows fit (the renderer knows). */
  setViewport(layers: number, tree: number): void {
    this.viewport = { layers: Math.max(1, layers), tree: Math.max(1, tree) };
    this.scrollLayers();
    this.scrollTree();
  }

  /** The tree's visible rows: open directories' children, or what the filter matches. */
  rows(): TreeRow[] {
    if (!this.root || this.loading) return [];
    if (!this.cached) {
      const filter = this.filter ? filterTree(this.root, this.filter) : undefined;
      this.cached = { rows: flattenTree(this.root, this.expanded[this.mode], filter), filter };
    }
    return this.cached.rows;
  }

  /** Paths the filter matches in the tree shown (undefined without a filter). */
  filterMatches(): number | undefined {
    this.rows();
    return this.cached?.filter?.matches;
  }

  /** The node under the cursor. */
  current(): BrowseNode | undefined {
    return this.rows()[this.cursor]?.node;
  }

  /** Show a file's content (or an error) in place of the tree. */
  showPreview(path: string, lines: string[], note: string): void {
    if (this.preview?.path !== path) return;
    this.preview = { path, lines, note, top: 0 };
  }

  /** Apply one key; returns what the program must do besides redrawing. */
  press(key: Key): Effect {
    if (key === 'ctrl-c' || key === 'ctrl-d') return { kind: 'quit' };
    if (this.editingFilter) return this.editFilter(key);
    const ch = typeof key === 'object' ? key.char : undefined;
    if (this.help) {
      if (ch === 'q' || ch === '?' || key === 'escape' || key === 'enter') this.help = false;
      return undefined;
    }
    if (this.preview) return this.previewKey(key, ch);
    if (ch === 'q') return { kind: 'quit' };
    if (ch === '?') this.help = true;
    else if (key === 'tab' || key === 'backtab') {
      this.focus = this.focus === 'layers' ? 'tree' : 'layers';
    } else if (ch === 'm') this.setMode(this.mode === 'aggregated' ? 'layer' : 'aggregated');
    else if (ch === '/') {
      this.editingFilter = true;
      this.focus = 'tree';
    } else if (key === 'escape') this.setFilter('');
    else if (this.focus === 'layers') this.layerKey(key, ch);
    else if (this.loading) return { kind: 'wait' };
    else return this.treeKey(key, ch);
    return undefined;
  }

  /** Switch between the merged tree and one layer's changes. */
  setMode(mode: TreeMode): void {
    this.mode = mode;
    this.invalidate();
  }

  /** Select layer `index` (clamped). */
  selectLayer(index: number): void {
    const last = this.report.layers.length - 1;
    this.layer = Math.max(0, Math.min(last, index));
    this.invalidate();
    this.scrollLayers();
  }

  /** Show only paths containing `text` (any case), with the directories above them. */
  setFilter(text: string): void {
    this.filter = text;
    this.invalidate();
    this.cursor = 0;
    this.treeTop = 0;
    this.scrollTree();
  }

  private editFilter(key: Key): Effect {
    if (key === 'enter') this.editingFilter = false;
    else if (key === 'escape') {
      this.editingFilter = false;
      this.setFilter('');
    } else if (key === 'backspace') this.setFilter(this.filter.slice(0, -1));
    else if (typeof key === 'object') this.setFilter(this.filter + key.char);
    return undefined;
  }

  private previewKey(key: Key, ch: string | undefined): Effect {
    const p = this.preview!;
    const page = this.viewport.tree;
    const last = Math.max(0, p.lines.length - page);
    if (key === 'escape' || ch === 'q' || ch === 'p' || key === 'left' || ch === 'h') {
      this.preview = undefined;
    } else if (key === 'down' || ch === 'j') p.top = Math.min(last, p.top + 1);
    else if (key === 'up' || ch === 'k') p.top = Math.max(0, p.top - 1);
    else if (key === 'pagedown' || ch === ' ') p.top = Math.min(last, p.top + page);
    else if (key === 'pageup') p.top = Math.max(0, p.top - page);
    else if (key === 'home' || ch === 'g') p.top = 0;
    else if (key === 'end' || ch === 'G') p.top = last;
    return undefined;
  }

  private layerKey(key: Key, ch: string | undefined): void {
    const page = this.viewport.layers;
    const step = moveBy(key, ch, page, this.report.layers.length);
    if (step !== undefined) this.selectLayer(this.layer + step);
  }

  private treeKey(key: Key, ch: string | undefined): Effect {
    const rows = this.rows();
    const row = rows[this.cursor];
    const step = moveBy(key, ch, this.viewport.tree, rows.length);
    if (step !== undefined) {
      this.cursor = Math.max(0, Math.min(rows.length - 1, this.cursor + step));
      this.scrollTree();
      return undefined;
    }
    if (!row) return undefined;
    const node = row.node;
    const isDir = node.children !== undefined;
    if (key === 'enter' || ch === ' ') {
      if (isDir) this.toggle(node, !row.expanded);
      else return this.openPreview(node);
    } else if (key === 'right' || ch === 'l') {
      if (isDir && !row.expanded) this.toggle(node, true);
      else if (isDir && rows[this.cursor + 1]?.depth === row.depth + 1) this.cursor++;
    } else if (key === 'left' || ch === 'h') {
      if (isDir && row.expanded) this.toggle(node, false);
      else this.cursor = parentRow(rows, this.cursor);
    } else if (ch === 'p' && !isDir) return this.openPreview(node);
    else if (ch === '*') this.setAll(true);
    else if (ch === '-') this.setAll(false);
    this.scrollTree();
    return undefined;
  }

  private openPreview(node: BrowseNode): Effect {
    if (node.change === 'deleted') return undefined;
    this.preview = { path: node.path, lines: [], note: 'reading…', top: 0 };
    return { kind: 'preview', path: node.path };
  }

  private toggle(node: BrowseNode, open: boolean): void {
    const set = this.expanded[this.mode];
    if (open) set.add(node.path);
    else set.delete(node.path);
    this.invalidate();
  }

  private setAll(open: boolean): void {
    if (!this.root) return;
    const at = this.current()?.path;
    this.expanded[this.mode] = new Set(open ? allDirs(this.root) : ['/']);
    this.invalidate();
    const again = this.rows().findIndex((r) => r.node.path === at);
    this.cursor = Math.max(again, 0);
    this.scrollTree();
  }

  private invalidate(): void {
    this.cached = undefined;
    const n = this.rows().length;
    if (this.cursor >= n) this.cursor = Math.max(0, n - 1);
  }

  private scrollLayers(): void {
    this.layerTop = scrolled(this.layerTop, this.layer, this.viewport.layers);
  }

  private scrollTree(): void {
    this.treeTop = scrolled(this.treeTop, this.cursor, this.viewport.tree);
    if (!this.loading) this.cursorPath = this.current()?.path;
  }
}

/** How far a movement key moves in a list of `count` rows showing `page` at a time. */
function moveBy(key: Key, ch: string | undefined, page: number, count: number): number | undefined {
  if (key === 'up' || ch === 'k') return -1;
  if (key === 'down' || ch === 'j') return 1;
  if (key === 'pageup') return -page;
  if (key === 'pagedown') return page;
  if (key === 'home' || ch === 'g') return -count;
  if (key === 'end' || ch === 'G') return count;
  return undefined;
}

/** The first visible row index that keeps `at` on a screen of `page` rows. */
function scrolled(top: number, at: number, page: number): number {
  if (at < top) return at;
  if (at >= top + page) return at - page + 1;
  return Math.max(0, top);
}

function parentRow(rows: TreeRow[], index: number): number {
  const depth = rows[index]?.depth ?? 0;
  for (let i = index - 1; i >= 0; i--) if (rows[i]!.depth < depth) return i;
  return index;
}

function allDirs(root: BrowseNode): string[] {
  const out: string[] = [];
  const visit = (n: BrowseNode) => {
    if (!n.children) return;
    out.push(n.path);
    for (const c of n.children) visit(c);
  };
  visit(root);
  return out;
}
