import type { Readable } from 'node:stream';
import type { LayerReport } from '../../image/index.js';
import { readHead } from '../file-head.js';
import { BrowseModel } from './browse-model.js';
import { decodeKeys, type Key } from './keys.js';
import type { LayerTrees } from './layer-trees.js';
import { previewText } from './preview.js';
import { renderScreen, type ScreenSize } from './render.js';
import { Screen } from './screen.js';

/** The image the browser shows: its layer report, its trees, and its files. */
export interface BrowseSource {
  report: LayerReport;
  trees: LayerTrees;
  /** A regular file's content (symlinks followed). */
  openFile(path: string, signal?: AbortSignal): Promise<Readable>;
}

/** The terminal the browser runs in. */
export interface BrowseTerminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  output: NodeJS.WritableStream & { columns?: number; rows?: number };
  /** SGR colours (on a TTY, unless NO_COLOR says otherwise). */
  colour: boolean;
  /** Ends the browser (the CLI's SIGINT/SIGTERM); the terminal is restored first. */
  signal?: AbortSignal;
}

/**
 * Run the terminal browser until the user quits (`q`, Ctrl-C), the input ends or
 * `signal` aborts; rejects when reading the image fails. The terminal is put back as it
 * was in every case: raw mode off, cursor shown, main screen back, also when the process
 * exits some other way.
 */
export async function runBrowser(source: BrowseSource, term: BrowseTerminal): Promise<void> {
  const model = new BrowseModel(source.report);
  const screen = new Screen(term.output, term.colour);
  const { input, output } = term;
  const stop = new AbortController();
  const size = (): ScreenSize => ({ columns: output.columns ?? 80, rows: output.rows ?? 24 });
  const restore = () => {
    if (input.isTTY) input.setRawMode?.(false);
    screen.leave();
  };
  let finish!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (err?: unknown) => (err === undefined ? resolve() : reject(err));
  });
  let treeLoading: string | undefined;

  const redraw = () => {
    loadTree();
    screen.draw(renderScreen(model, size()), size());
  };
  const loadTree = () => {
    if (!model.loading) return;
    const wanted = model.wantedTree();
    const key = `${wanted.layer}:${wanted.mode}`;
    if (treeLoading === key) return;
    treeLoading = key;
    source.trees.tree(wanted.layer, wanted.mode, stop.signal).then(
      (root) => {
        if (treeLoading === key) treeLoading = undefined;
        model.setTree(wanted, root);
        applyTyped();
      },
      (err: unknown) => finish(err),
    );
  };
  const preview = (path: string) => {
    source
      .openFile(path, stop.signal)
      .then((stream) => readHead(stream))
      .then(
        ({ head, truncated }) => {
          const text = previewText(head, truncated);
          model.showPreview(path, text.lines, text.note);
        },
        (err: unknown) => model.showPreview(path, [], `cannot show it: ${(err as Error).message}`),
      )
      .finally(redraw);
  };
  // Keys typed ahead of a tree still loading wait here, in order, until it is shown.
  const typed: Key[] = [];
  const applyTyped = () => {
    while (typed.length > 0) {
      const effect = model.press(typed[0]!);
      if (effect?.kind === 'wait') break;
      typed.shift();
      if (effect?.kind === 'quit') return finish();
      if (effect?.kind === 'preview') preview(effect.path);
    }
    redraw();
  };
  const onData = (data: string | Buffer) => {
    const keys = decodeKeys(String(data));
    // Ctrl-C and Ctrl-D quit at once, also behind keys that wait for a tree.
    if (keys.some((k) => k === 'ctrl-c' || k === 'ctrl-d')) return finish();
    typed.push(...keys);
    applyTyped();
  };
  const onEnd = () => finish();
  const onAbort = () => finish(term.signal?.reason);
  const onExit = () => restore();

  process.on('exit', onExit);
  output.on('resize', redraw);
  input.on('data', onData);
  input.on('end', onEnd);
  term.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (term.signal?.aborted) throw term.signal.reason;
    if (input.isTTY) input.setRawMode?.(true);
    input.resume();
    screen.enter();
    redraw();
    await done;
  } finally {
    stop.abort();
    process.off('exit', onExit);
    output.off('resize', redraw);
    input.off('data', onData);
    input.off('end', onEnd);
    term.signal?.removeEventListener('abort', onAbort);
    input.pause();
    restore();
  }
}
