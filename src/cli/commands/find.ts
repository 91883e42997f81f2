import type { Command } from 'commander';
import picomatch from 'picomatch';
import { InvalidArgumentError } from '../../errors/index.js';
import { type FsEntry, toEntryJson } from '../../fs/index.js';
import { escapeName, unescapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { printJson, printList } from '../format.js';
import { shownType } from '../fs-format.js';
import { cliFilesystemView } from '../lazy-image.js';

/** `--type` letters, as GNU find's, plus `h`: the names a tar hardlink entry made. */
const TYPES: Record<string, FsEntry['type']> = {
  f: 'file',
  d: 'dir',
  l: 'symlink',
  h: 'hardlink',
  c: 'char',
  b: 'block',
  p: 'fifo',
};

/** `ocipeek find REF [PATH]`: search the image's filesystem by name and type. */
export function registerFind(program: Command): void {
  program
    .command('find')
    .description("search the image's filesystem by name (glob) and type")
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('[path]', 'directory to search', '/')
    .option('--name <glob>', 'match the base name against a glob (*, ?, [..], {a,b})')
    .option(
      '--type <t>',
      'f file (hardlinks to files included), d dir, l symlink, c char, b block, p fifo; h only hardlinks',
    )
    .option('--json', 'print a JSON array of entries')
    .action(
      async (
        refArg: string,
        path: string,
        opts: { name?: string; type?: string; json?: boolean },
        cmd: Command,
      ) => {
        const type = opts.type === undefined ? undefined : TYPES[opts.type];
        if (opts.type !== undefined && !type) {
          throw new InvalidArgumentError(`--type must be one of ${Object.keys(TYPES).join(' ')}`);
        }
        const matches = opts.name ? picomatch(opts.name, { dot: true }) : () => true;
        const img = await openCliImage(cmd, refArg);
        const fs = await cliFilesystemView(img);
        const found: FsEntry[] = [];
        for (const e of fs.walk(unescapeName(path), { includeRoot: true })) {
          // A hardlink is the file it names (as find sees the unpacked tree); `h` asks for
          // the hardlinks themselves.
          if (type && (type === 'hardlink' ? e.type : shownType(e)) !== type) continue;
          if (!matches(e.path === '/' ? '/' : e.path.slice(e.path.lastIndexOf('/') + 1))) continue;
          found.push(e);
        }
        if (opts.json || img.ctx.options.json) return printJson(found.map(toEntryJson));
        if (found.length) printList(found.map((e) => escapeName(e.path)));
      },
    );
}
