import type { Command } from 'commander';
import type { LayerCompressionFormat, ManifestFormat } from '../../convert/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { openSource } from '../../places/index.js';
import { parsePlace } from '../../source/index.js';
import { clientForSide, contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { signaturesToCarry } from '../copy-signatures.js';
import { printLines } from '../format.js';
import { type SigningFlags, signerFor, signingOptions } from '../image-signing.js';
import { parseCount } from '../parse-count.js';
import { runConversion } from '../run-conversion.js';
import { isArchivePlace, storeTmpDir } from '../store-tmp.js';

interface CopyFlags extends PlatformFlags {
  concurrency?: number;
  chunkSize?: number;
  json?: boolean;
  destCompressFormat?: string;
  destCompressLevel?: number;
  format?: string;
  removeSignatures?: boolean;
}

const COMPRESSIONS: readonly string[] = ['gzip', 'zstd', 'zstd:chunked'];
const FORMATS: readonly string[] = ['oci', 'v2s2'];

/** skopeo's per-side credential flags. */
interface SideFlags {
  srcCreds?: string;
  destCreds?: string;
  srcAuthfile?: string;
  destAuthfile?: string;
}

/** `ocipeek copy SRC DST`: copy an image between registries, layouts, archives and the store. */
export function registerCopy(program: Command): void {
  const command = program
    .command('copy')
    .description(
      'copy an image between places: REF (docker://), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], store:REF',
    )
    .argument('<src>', 'where the image is')
    .argument('<dst>', 'where it goes')
    .option('--all-platforms', 'copy every platform of an index (digests preserved)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--concurrency <n>', 'blobs copied at once (default 4)', parseCount)
    .option('--chunk-size <bytes>', 'upload to registries in chunks of this many bytes', parseCount)
    .option(
      '--dest-compress-format <format>',
      'recompress layers that are not already so: gzip | zstd | zstd:chunked (manifest digests change)',
    )
    .option(
      '--dest-compress-level <n>',
      'compression level (gzip 1-9, default 6; zstd and zstd:chunked 1-19, default 3)',
      parseCount,
    )
    .option('--format <format>', 'write the manifests as oci | v2s2 (Docker schema 2)')
    .option('--src-creds <user:password>', 'credentials for the source registry')
    .option('--dest-creds <user:password>', 'credentials for the destination registry')
    .option('--src-authfile <file>', 'auth file for the source registry')
    .option('--dest-authfile <file>', 'auth file for the destination registry')
    .option(
      '--remove-signatures',
      "do not copy the source's signatures (sigstore attachments, lookaside signatures)",
    )
    .option('--json', 'print JSON');
  signingOptions(command, 'the copy (a registry)').action(
    async (src: string, dst: string, opts: CopyFlags & SigningFlags & SideFlags, cmd: Command) => {
      // Both places are read before anything is opened: a mistake in DST is said at once.
      const [from, to] = [parsePlace(src), parsePlace(dst)];
      const ctx = await contextFor(cmd);
      const platform = platformOptions(ctx, opts);
      const srcClient = await clientForSide(
        ctx,
        { creds: opts.srcCreds, authfile: opts.srcAuthfile },
        'src',
      );
      const destClient = await clientForSide(
        ctx,
        { creds: opts.destCreds, authfile: opts.destAuthfile },
        'dest',
      );
      const common = { storeDir: ctx.options.store, signal: ctx.signal };
      // Archives on either side are staged in the store's temp folder (opened once).
      const converting = opts.destCompressFormat !== undefined || opts.format !== undefined;
      const tmpDir =
        isArchivePlace(src) || isArchivePlace(dst) || converting
          ? await storeTmpDir(ctx)
          : undefined;
      const conversion = converting ? conversionOf(opts) : undefined;
      // The key is read (and its passphrase checked) before anything is copied.
      const signer = await signerFor(ctx, opts);
      if (signer && to.kind !== 'registry') {
        throw new InvalidArgumentError('signing needs a registry destination');
      }
      const source = await openSource(from, { ...common, client: srcClient, tmpDir });
      const carry = opts.removeSignatures
        ? undefined
        : await signaturesToCarry(
            ctx,
            source,
            { from, to },
            { src: srcClient, dest: destClient },
            converting,
          ).catch(async (err: unknown) => {
            await source.close();
            throw err;
          });
      const result = conversion
        ? await runConversion(ctx, source, to, {
            ...conversion,
            ...platform,
            client: destClient,
            tmpDir,
            chunkSize: opts.chunkSize,
            json: opts.json,
          })
        : await runCopy(ctx, source, to, {
            open: { chunkSize: opts.chunkSize, tmpDir, client: destClient },
            ...platform,
            concurrency: opts.concurrency,
            json: opts.json,
          });
      const digest = typeof result === 'string' ? result : result.digest;
      if (carry && typeof result !== 'string') await carry.finish(result);
      if (signer && to.kind === 'registry') {
        const signed = await signer(destClient, to.ref, digest);
        if (!(opts.json || ctx.options.json)) printLines(signed.line);
      }
    },
  );
}

/** The conversion the flags ask for, checked before anything is opened. */
function conversionOf(opts: CopyFlags): {
  compression?: LayerCompressionFormat;
  format?: ManifestFormat;
  level?: number;
} {
  const compression = opts.destCompressFormat;
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) {
    throw new InvalidArgumentError(
      `--dest-compress-format must be one of ${COMPRESSIONS.join(', ')}`,
    );
  }
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) {
    throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}`);
  }
  if (opts.destCompressLevel !== undefined && compression === undefined) {
    throw new InvalidArgumentError('--dest-compress-level needs --dest-compress-format');
  }
  return {
    compression: compression as LayerCompressionFormat | undefined,
    format: opts.format as ManifestFormat | undefined,
    level: opts.destCompressLevel,
  };
}
