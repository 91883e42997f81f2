import type { Command } from 'commander';
import { layerReport, openImageFile, scanLayer } from '../../image/index.js';
import { type BrowseSource, runBrowser } from '../../ui/tui/browse-app.js';
import { LayerTrees } from '../../ui/tui/layer-trees.js';
import { type CliImage, cliFilesystem, openCliImage, warnRefused } from '../cli-image.js';
import { openCliLazyImage } from '../lazy-image.js';

/** `ocipeek browse REF`: the image in a terminal UI, as dive shows it. */
export function registerBrowse(program: Command): void {
  program
    .command('browse')
    .description(
      'browse an image in the terminal: layers, the file tree (whole or what a layer changed), file contents, wasted space',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--no-color', 'no colours (also when NO_COLOR is set or the output is not a terminal)')
    .action(async (refArg: string, opts: { color: boolean }, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      const source = await browseSource(img);
      const colour = process.stdout.isTTY === true && opts.color && !process.env.NO_COLOR;
      await runBrowser(source, {
        input: process.stdin,
        output: process.stdout,
        colour,
        signal: img.ctx.signal,
      });
    });
}

/**
 * What the browser reads: through the layers' TOCs when every layer has one (a few range
 * requests, files fetched chunk by chunk), else from the layer listings (the listing
 * cache, or one read of each layer), files then read from their single layer.
 */
async function browseSource(img: CliImage): Promise<BrowseSource> {
  const { signal } = img.ctx;
  const digests = img.image.layers.map((l) => l.descriptor.digest);
  const lazy = await openCliLazyImage(img);
  if (lazy) {
    warnRefused(lazy.fs);
    return {
      report: layerReport(img.image, lazy.fs),
      trees: new LayerTrees(
        lazy.layers.map((l, i) => ({ digest: digests[i]!, entries: l.list() })),
        lazy.fs,
      ),
      openFile: async (path, s) => lazy.openFile(path, { signal: s ?? signal }),
    };
  }
  const built = await cliFilesystem(img);
  // Building filled the listing cache: a layer's entries are read from it when a tree needs
  // them, not held. A layer it could not keep (a read-only store) is listed again, and held.
  const entries = await Promise.all(
    img.image.layers.map(async (l) => {
      const digest = l.descriptor.digest;
      if (await img.cache.has(digest)) {
        return async () =>
          (await img.cache.get(digest))?.entries ?? (await scanLayer(l, { signal })).entries;
      }
      return (await scanLayer(l, { signal })).entries;
    }),
  );
  return {
    report: layerReport(img.image, built.fs, built.tarSizes),
    trees: new LayerTrees(
      entries.map((e, i) => ({ digest: digests[i]!, entries: e })),
      built.fs,
    ),
    openFile: (path, s) => openImageFile(img.image, path, { fs: built.fs, signal: s ?? signal }),
  };
}
