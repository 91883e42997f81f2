import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import type { FsEntry } from '../../fs/index.js';
import { peekImage } from '../../lazy/peek-image.js';
import { DEFAULT_PEEK_BYTES, type PeekEntry } from '../../lazy/peek-layer.js';
import { PeekedLayer } from '../../lazy/peek-links.js';
import { parseSize } from '../../util/parse-size.js';
import { openCliImage } from '../cli-image.js';
import { formatBytes, printJson, printList, table } from '../format.js';
import { longLine } from '../fs-format.js';
import { existingStore } from '../image-source.js';

/** `--layer N|all` (also `N,M`): layer indexes, or 'all'. */
function parseLayers(value: string): number[] | 'all' {
  if (value === 'all') return 'all';
  const parts = value.split(',');
  if (!parts.every((p) => /^\d+$/.test(p.trim()))) {
    throw new InvalidArgumentError(
      `--layer expects a layer number (0 = bottom), a comma list of them, or "all"; got "${value}"`,
    );
  }
  return parts.map((p) => Number(p.trim()));
}

/**
 * An `ls -l` row for a peeked entry, by the same rules as `ls -l` (a hardlink as the file
 * it names, link counts among the entries read); a whiteout as its tar entry says.
 */
function row(e: PeekEntry, layer: PeekedLayer): string[] {
  const fsLike: FsEntry = layer.fsEntry(e) ?? {
    ...e,
    nlink: e.nlink ?? 1,
    devmajor: e.devMajor,
    devminor: e.devMinor,
    layerDigest: '',
    headerOffset: -1,
    dataOffset: -1,
  };
  const cells = longLine(fsLike, e.path);
  if (e.partial) cells[cells.length - 1] += '  (partial: content past the window)';
  return cells;
}

/** `ocipeek peek REF`: list what the first bytes of each layer hold, without downloading it. */
export function registerPeek(program: Command): void {
  program
    .command('peek')
    .description(
      'list the entries in the first bytes of each layer (HTTP Range), and whether the listing is complete',
    )
    .argument('<ref>', 'image reference')
    .option('--layer <n|all>', 'layer to peek, 0 = bottom, or a comma list', 'all')
    .option(
      '--bytes <size>',
      `compressed bytes to read from each layer: 262144, 256K, 256KiB, 1M… (default ${DEFAULT_PEEK_BYTES / 1024}K)`,
    )
    .option('--json', 'print JSON: {ref, digest, bytesFetched, layers: [...]}')
    .action(
      async (
        refArg: string,
        opts: { layer: string; bytes?: string; json?: boolean },
        cmd: Command,
      ) => {
        const layers = parseLayers(opts.layer);
        const bytes = opts.bytes === undefined ? DEFAULT_PEEK_BYTES : parseSize(opts.bytes);
        const img = await openCliImage(cmd, refArg);
        const store = img.image.location === 'store' ? await existingStore(img.ctx) : undefined;
        const result = await peekImage(img.image, {
          client: img.ctx.client,
          store,
          layers,
          bytes,
          signal: img.ctx.signal,
        });
        if (opts.json || img.ctx.options.json) return printJson(result);
        const lines: string[] = [];
        for (const l of result.layers) {
          const where = img.image.location === 'store' ? 'read from the store' : 'fetched';
          const amount = img.image.location === 'store' ? l.bytesRead : l.bytesFetched;
          lines.push(
            `layer ${l.index} ${l.digest} (${formatBytes(l.size)}) ${where} ${formatBytes(amount)} of ${formatBytes(l.size)} — ${l.complete ? 'complete' : 'incomplete'} (${l.entries.length} entries)${l.rangeIgnored ? ' — the registry ignored Range: read from the full response, then closed' : ''}`,
          );
          if (l.entries.length > 0) {
            const layer = await PeekedLayer.of(l.entries);
            lines.push(table(l.entries.map((e) => row(e, layer))));
          }
        }
        if (lines.length > 0) printList(lines);
      },
    );
}
