import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LayerIndexCache } from '../../image/index.js';
import { parseReference } from '../../ref/index.js';
import { defaultStorePath } from '../../store/index.js';
import { imageUrl } from '../../ui/web/web-paths.js';
import { startWebExplorer } from '../../ui/web/web-server.js';
import { contextFor } from '../context.js';
import { existingStore } from '../image-source.js';

interface UiFlags {
  listen: string;
  allowRemote?: boolean;
  open?: boolean;
}

/** `ocipeek ui [REF]`: the web explorer on a local port until interrupted. */
export function registerUi(program: Command): void {
  program
    .command('ui')
    .description(
      'explore images in a browser: registries, tags, overview, lazy file tree, files, layers, search, diff',
    )
    .argument('[image]', 'image reference to open first')
    .option('--listen <host:port>', 'address to serve on (port 0 picks a free one)', '127.0.0.1:0')
    .option('--allow-remote', 'allow --listen on an address other than loopback')
    .option('--open', 'open the page in the default browser')
    .action(async (refArg: string | undefined, opts: UiFlags, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const store = await existingStore(ctx);
      const meta = join(defaultStorePath({ explicit: ctx.options.store }), '.ocipeek');
      const explorer = await startWebExplorer({
        listen: opts.listen,
        allowRemote: opts.allowRemote,
        client: ctx.client,
        store,
        cache: new LayerIndexCache(join(meta, 'fs-index')),
        seekIndexCache: join(meta, 'seek-index'),
        noSeekIndex: ctx.options.index === false,
        // A plain gzip image is streamed once to list it: index it on the way, for ranges.
        buildSeekIndex: true,
        onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
        platform: ctx.platform,
        initialRef: refArg,
      });
      if (!explorer.loopback) {
        process.stderr.write(
          `warning: listening on ${explorer.url}, beyond this machine: anyone who reaches it can read every image your credentials can\n`,
        );
      }
      const start = refArg
        ? `${explorer.url}${imageUrl('image', parseReference(refArg).toString())}`
        : `${explorer.url}/`;
      process.stdout.write(`ocipeek ui: ${start}\n`);
      if (opts.open) openBrowser(start);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await explorer.close();
    });
}

/** Hand `url` to the desktop's opener; the explorer runs on whether that works or not. */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () =>
    process.stderr.write(`warning: could not open a browser; visit ${url}\n`),
  );
  child.unref();
}
