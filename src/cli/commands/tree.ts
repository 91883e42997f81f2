import type { Command } from 'commander';
import type { ImageFilesystem } from '../../fs/index.js';
import { escapeName, unescapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { cliFilesystemView } from '../lazy-image.js';
import { LineWriter } from '../line-writer.js';
import { parseCount } from '../parse-count.js';

function drawTree(
  fs: ImageFilesystem,
  dir: string,
  prefix: string,
  depth: number,
  max: number,
  out: LineWriter,
) {
  const children = fs.list(dir);
  children.forEach((e, i) => {
    const last = i === children.length - 1;
    const name = escapeName(e.path.slice(e.path.lastIndexOf('/') + 1));
    const target = escapeName(e.linkname ?? '');
    const link =
      e.type === 'symlink' ? ` -> ${target}` : e.type === 'hardlink' ? ` => ${target}` : '';
    out.line(`${prefix}${last ? '└── ' : '├── '}${name}${e.type === 'dir' ? '/' : ''}${link}`);
    if (e.type === 'dir' && depth < max)
      drawTree(fs, e.path, `${prefix}${last ? '    ' : '│   '}`, depth + 1, max, out);
  });
}

/** `ocipeek tree REF [PATH]`: the image's filesystem as a tree. */
export function registerTree(program: Command): void {
  program
    .command('tree')
    .description("draw the image's filesystem as a tree")
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('[path]', 'directory to start from', '/')
    .option('--depth <n>', 'descend at most N levels', parseCount)
    .action(async (refArg: string, path: string, opts: { depth?: number }, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      const fs = await cliFilesystemView(img);
      const start = fs.stat(unescapeName(path));
      // Lines are written as they are drawn: kept until the end, a large tree's lines were
      // several MB of strings (bench/ANALYSIS.md, twelfth session).
      const out = new LineWriter(process.stdout);
      out.line(escapeName(start.path));
      if (start.type === 'dir')
        drawTree(fs, start.path, '', 1, opts.depth ?? Number.POSITIVE_INFINITY, out);
      out.end();
    });
}
