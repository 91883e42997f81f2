import type { Command } from 'commander';
import { resolveImage } from '../../source/index.js';
import { contextFor } from '../context.js';
import { openCliSource } from '../image-source.js';

/** `ocipeek manifest REF`: the manifest bytes exactly as served. */
export function registerManifest(program: Command): void {
  program
    .command('manifest')
    .description(
      'print the manifest exactly as the registry serves it (--platform picks from an index)',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .action(async (refArg: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const source = await openCliSource(cmd, refArg, { wholeIndex: !ctx.platform });
      if (ctx.platform) {
        const img = await resolveImage(source, {
          platform: ctx.platform,
          config: false,
          signal: ctx.signal,
        });
        process.stdout.write(img.image.bytes);
      } else {
        process.stdout.write((await source.root({ signal: ctx.signal })).bytes);
      }
    });
}
