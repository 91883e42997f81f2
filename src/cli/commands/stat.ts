import type { Command } from 'commander';
import { toEntryJson } from '../../fs/index.js';
import { escapeName, unescapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { printJson, printLines, table } from '../format.js';
import { modeString, shownType, timeString } from '../fs-format.js';
import { cliFilesystemView } from '../lazy-image.js';

/** `ocipeek stat REF PATH`: one entry's metadata and the layer that wrote it. */
export function registerStat(program: Command): void {
  program
    .command('stat')
    .description('show the metadata of one path and the layer that last wrote it')
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<path>', 'path inside the image')
    .option('-L, --dereference', 'follow a final symlink')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        path: string,
        opts: { dereference?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const img = await openCliImage(cmd, refArg);
        const fs = await cliFilesystemView(img);
        const target = unescapeName(path);
        const e = opts.dereference ? fs.stat(target) : fs.lstat(target);
        if (opts.json || img.ctx.options.json) return printJson(toEntryJson(e));
        const type = shownType(e);
        const hardlink = e.type === 'hardlink' && e.linkname !== undefined;
        const rows = [
          ['Path:', escapeName(e.path)],
          ['Type:', hardlink ? `${type} (hardlink to ${escapeName(e.linkname!)})` : type],
          [
            type === 'char' || type === 'block' ? 'Device:' : 'Size:',
            type === 'char' || type === 'block'
              ? `${e.devmajor ?? 0},${e.devminor ?? 0}`
              : String(e.size),
          ],
          ['Links:', String(e.nlink)],
          ['Mode:', `${modeString(type, e.mode)} (0${e.mode.toString(8)})`],
          [
            'Owner:',
            `${e.uid}/${e.gid}${e.uname || e.gname ? ` (${e.uname ?? ''}/${e.gname ?? ''})` : ''}`,
          ],
          ['Modified:', `${timeString(e.mtime)} UTC`],
        ];
        if (e.linkname && !hardlink) rows.push(['Link:', escapeName(e.linkname)]);
        if (e.xattrs) rows.push(['Xattrs:', Object.keys(e.xattrs).join(' ')]);
        rows.push(['Layer:', `${e.layer} ${e.layerDigest}`]);
        if (e.dataOffset >= 0)
          rows.push(['Offset:', `${e.dataOffset} (in the uncompressed layer)`]);
        printLines(table(rows));
      },
    );
}
