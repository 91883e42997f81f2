import type { Command } from 'commander';
import { type EntryView, type FsEntry, toEntryJson } from '../../fs/index.js';
import { escapeName, unescapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { printJson, printList, printTable } from '../format.js';
import { LongListing, longLine } from '../fs-format.js';
import { cliFilesystemView } from '../lazy-image.js';

/** `ocipeek ls REF [PATH]`: list a directory of the image's merged filesystem. */
export function registerLs(program: Command): void {
  program
    .command('ls')
    .description(
      "list a directory of the image's filesystem (from the store, or streamed from the registry)",
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('[path]', 'directory or file inside the image', '/')
    .option('-l, --long', 'mode, owner, size, time and the layer that wrote each entry')
    .option('-h, --human-readable', 'with -l, sizes as 1.5K, 38M, 1.1G')
    .option('-a, --all', 'accepted for habit: every entry is always listed, dot files included')
    .option('-R, --recursive', 'everything below PATH')
    .option('--json', 'print a JSON array of entries')
    .action(
      async (
        refArg: string,
        pathArg: string,
        opts: { long?: boolean; humanReadable?: boolean; recursive?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const path = unescapeName(pathArg);
        const format = { human: opts.humanReadable };
        const img = await openCliImage(cmd, refArg);
        // eStargz / zstd:chunked images list from their TOCs, without reading the layers.
        const fs = await cliFilesystemView(img);
        const target = fs.stat(path);
        if (target.type === 'dir' && opts.recursive && !(opts.json || img.ctx.options.json)) {
          // Tens of thousands of paths: seen one at a time, nothing kept per path.
          if (opts.long) {
            const listing = new LongListing(process.stdout, format);
            fs.forEachEntry(path, (e: EntryView) => listing.measure(e));
            fs.forEachEntry(path, (e: EntryView) => listing.print(e, e.path));
            listing.end();
          } else {
            const paths: string[] = [];
            fs.forEachEntry(path, (e: EntryView) => paths.push(escapeName(e.path)));
            printList(paths);
          }
          return;
        }
        let entries: FsEntry[];
        if (target.type !== 'dir') entries = [fs.lstat(path)];
        else if (opts.recursive) entries = [...fs.walk(path)];
        else entries = fs.list(path);
        if (opts.json || img.ctx.options.json) return printJson(entries.map(toEntryJson));
        const name = (e: FsEntry) =>
          target.type !== 'dir' ? e.path : e.path.slice(e.path.lastIndexOf('/') + 1);
        if (entries.length === 0) return;
        if (opts.long) printTable(entries.map((e) => longLine(e, name(e), format)));
        else printList(entries.map((e) => escapeName(name(e))));
      },
    );
}
