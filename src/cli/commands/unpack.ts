import { readdir, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { holdYoungGeneration } from '../../node/young-generation.js';
import { Store } from '../../store/index.js';
import { stillUnpacking, type UnpackRecord, UnpackRecords } from '../../store/unpack-records.js';
import { unpackLayers } from '../../unpack/index.js';
import { openCliImage } from '../cli-image.js';
import { printJson } from '../format.js';

interface UnpackCliOptions {
  rootless?: boolean;
  verify?: boolean;
  force?: boolean;
  json?: boolean;
}

/** `ocipeek unpack REF DIR`: extract the merged root filesystem safely. */
export function registerUnpack(program: Command): void {
  program
    .command('unpack')
    .description(
      'extract the merged root filesystem into DIR (new or empty), safely; each layer checked against its diff_id',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<dir>', 'destination folder (created; must be empty)')
    .option('--rootless', 'do not chown; record owners in the store (default when not root)')
    .option('--verify', 'refuse layers the config gives no diff_id for')
    .option(
      '--force',
      'DIR holds an earlier unpack (interrupted or not): clear it and unpack again',
    )
    .option('--json', 'print a JSON summary')
    .action(async (refArg: string, dir: string, opts: UnpackCliOptions, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      const rootless = opts.rootless ?? process.getuid?.() !== 0;
      const store = img.store ?? (await Store.open(img.ctx.options.store));
      const records = new UnpackRecords(store);
      const abs = await realpath(dir).catch(() => resolve(dir));
      const clear = await checkTarget(dir, abs, records, {
        force: opts.force ?? false,
        digest: img.image.manifestDigest,
      });
      let record: UnpackRecord = await records.begin({
        dir: abs,
        image: refArg,
        digest: img.image.manifestDigest,
        layers: img.image.layers.length,
        ...(rootless ? { ownershipFile: records.ownershipFile(abs) } : {}),
      });
      // What is done so far, should the unpack be interrupted: one write after another.
      let saved = Promise.resolve();
      const save = (next: UnpackRecord) => {
        record = next;
        saved = saved.then(() => records.write(next)).catch(() => {});
      };
      let result: Awaited<ReturnType<typeof unpackLayers>>;
      const releaseYoungGeneration = holdYoungGeneration();
      try {
        result = await unpackLayers(img.image.layers, dir, {
          rootless,
          verify: opts.verify,
          clear,
          ownershipFile: record.ownershipFile ?? false,
          onLayer: () => save({ ...record, applied: record.applied + 1 }),
          signal: img.ctx.signal,
        });
        save({ ...record, state: 'complete' });
      } finally {
        releaseYoungGeneration();
        await saved;
      }
      if (opts.json || img.ctx.options.json)
        return printJson({ name: img.image.name, dir, ...result });
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      if (result.warningCount > result.warnings.length) {
        process.stderr.write(
          `warning: … and ${result.warningCount - result.warnings.length} more\n`,
        );
      }
      process.stderr.write(
        `unpacked ${result.layers} layers into ${dir}: ${result.files} files, ${result.dirs} dirs, ${result.symlinks} symlinks, ${result.hardlinks} hardlinks` +
          (result.ownershipFile ? ` (owners recorded in ${result.ownershipFile})` : '') +
          '\n',
      );
    });
}

/**
 * Whether DIR must be cleared first. A DIR that is not empty is refused, saying what it
 * holds; with `--force` it is cleared only when the store recorded an unpack into it
 * (interrupted or finished) and no live process is still at it, so `--force` never
 * deletes what ocipeek did not write. An interrupted unpack of the same image (same
 * manifest digest) is redone without `--force`: its partial tree is worth nothing, and
 * the re-run is what its user meant.
 */
async function checkTarget(
  dir: string,
  abs: string,
  records: UnpackRecords,
  want: { force: boolean; digest: string },
): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return false;
  const earlier = await records.read(abs);
  if (earlier && stillUnpacking(earlier)) {
    throw new InvalidArgumentError(
      `${dir} is not empty: process ${earlier.owner.pid} is unpacking ${earlier.image} into it`,
    );
  }
  if (earlier?.state === 'unpacking' && earlier.digest === want.digest) {
    // Layers are applied over a model of the tree built from the first layer on, so a
    // partial tree cannot be continued from: it is cleared and the image unpacked whole.
    process.stderr.write(
      `redoing ${describe(earlier)} in ${dir}: clearing it and unpacking again\n`,
    );
    return true;
  }
  if (!want.force) {
    throw new InvalidArgumentError(
      earlier
        ? `${dir} is not empty: it holds ${describe(earlier)}; add --force to clear it and unpack again`
        : `${dir} is not empty; unpack only into a new or empty directory`,
    );
  }
  if (!earlier) {
    throw new InvalidArgumentError(
      `${dir} is not empty and the store ${records.dir} records no unpack into it: --force clears only what ocipeek unpacked; empty it yourself`,
    );
  }
  return true;
}

function describe(record: UnpackRecord): string {
  return record.state === 'complete'
    ? `an unpack of ${record.image}`
    : `an interrupted unpack of ${record.image} (${record.applied} of ${record.layers} layers applied)`;
}
