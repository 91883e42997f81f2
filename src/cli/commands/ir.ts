import { access } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { parseDigest } from '../../digest/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import {
  getIsletImage,
  ISLET_DEFAULT_HOST,
  isletLayerFile,
  isletReference,
  isletRegistryHost,
} from '../../ir/index.js';
import type { ConnectionMode } from '../../transport/index.js';
import { unpackLayers } from '../../unpack/index.js';
import { type CliContext, contextFor } from '../context.js';
import { printList } from '../format.js';
import { globalsOf, parseMode } from '../global-options.js';
import { parseCount } from '../parse-count.js';
import { collect } from '../repeatable.js';
import { writeBlobOutput } from './blob.js';

/** islet's defaults for the files its connection options name. */
const DEFAULT_TOKEN = './res/token.bin';
const DEFAULT_ROOT_CA = './res/root-ca.crt';

interface ConnectionOptions {
  host?: string;
  tls?: ConnectionMode;
  token?: string;
  rootCa?: string;
}

/**
 * islet's connection options (`ConnectionArgs`), on `ir` (before the subcommand, as
 * `client` takes them) and on `get-image` (which islet ships as its own binary). Their
 * defaults are applied in {@link connect}, since `--tls`, `--token` and `--root-ca` are
 * also ocipeek's global options and a default here would hide a global one.
 */
function addConnectionOptions(command: Command): Command {
  return command
    .option('-a, --host <host>', `registry address, HOST[:PORT] (default: ${ISLET_DEFAULT_HOST})`)
    .option('-t, --tls <mode>', 'connection: no-tls, tls, ra-tls (default: no-tls)', parseMode)
    .option('--token <token.bin>', `CCA token file, CBOR (ra-tls; default: ${DEFAULT_TOKEN})`)
    .option(
      '--root-ca <root-ca.crt>',
      `the only trusted CAs, PEM (tls, ra-tls; default: ${DEFAULT_ROOT_CA})`,
    );
}

/** A file the connection needs must be there: islet's defaults are relative paths. */
async function requireFile(file: string, option: string, given: boolean): Promise<void> {
  try {
    await access(file);
  } catch {
    throw new InvalidArgumentError(
      `cannot read ${option} ${file}${given ? '' : " (islet's default; give " + option + ' FILE)'}`,
    );
  }
}

/**
 * The run's client in islet's connection mode, and the registry host it talks to:
 * ocipeek's global options (`outer`'s), under the islet options of `cmd` and its parents.
 */
async function connectFor(
  outer: Command,
  cmd: Command,
): Promise<{ ctx: CliContext; host: string }> {
  const o: ConnectionOptions = { ...globalsOf(outer), ...cmd.optsWithGlobals() };
  const mode = o.tls ?? 'no-tls';
  const host = isletRegistryHost(o.host ?? ISLET_DEFAULT_HOST, mode);
  const rootCa = mode === 'no-tls' ? undefined : (o.rootCa ?? DEFAULT_ROOT_CA);
  const token = mode === 'ra-tls' ? (o.token ?? DEFAULT_TOKEN) : undefined;
  if (rootCa) await requireFile(rootCa, '--root-ca', o.rootCa !== undefined);
  if (token) await requireFile(token, '--token', o.token !== undefined);
  // islet ignores the files a mode does not use: so do these commands.
  const ctx = await contextFor(outer, { options: { tls: mode, rootCa, token } });
  return { ctx, host };
}

/**
 * `ocipeek ir ...`: islet's image-registry client commands, same options, verified output.
 *
 * islet's `client` takes its connection options before the subcommand and reuses their
 * letters after it (`client -a HOST get-manifest -a APP`). Commander lets the root
 * program's options appear anywhere (ocipeek's global options need that), which makes
 * every parent option positionless too; so `ir` hands what it got to a command tree of
 * its own whose root parses options positionally, as clap does.
 */
export function registerIr(program: Command): void {
  program
    .command('ir')
    .description(
      "islet's image-registry client (client, get_image, unpack): same options; blobs, diff_ids and manifests verified",
    )
    .usage('[-a HOST] [-t MODE] [--token FILE] [--root-ca FILE] COMMAND [options]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'see "ocipeek ir --help"')
    .action(async (args: string[], _opts: unknown, outer: Command) => {
      await isletProgram(outer).parseAsync(args, { from: 'user' });
    });
}

/** The `ir` command tree, whose actions build their client from `outer`'s globals. */
function isletProgram(outer: Command): Command {
  const ir = addConnectionOptions(
    new Command('ocipeek ir')
      .description("islet's image-registry client commands")
      .helpOption('--help', 'show help')
      .configureOutput({ outputError: () => {} })
      .configureHelp({ sortSubcommands: true })
      .enablePositionalOptions(),
  );
  /** The run's client, from ocipeek's global options and islet's connection options. */
  const connect = (cmd: Command) => connectFor(outer, cmd);

  ir.command('get-manifest')
    .description('print the manifest of an application image, exactly as served')
    .requiredOption('-a, --app-name <APP_NAME>', 'repository namespace (application name)')
    .requiredOption('-r, --reference <REFERENCE>', 'reference of the manifest [digest or tag]')
    .option('-o, --out <OUT>', 'write the manifest to a file instead of stdout')
    .action(async (opts: { appName: string; reference: string; out?: string }, cmd: Command) => {
      const { ctx, host } = await connect(cmd);
      const ref = isletReference(host, opts.appName, opts.reference);
      const { bytes } = await ctx.client.getManifest(ref, { signal: ctx.signal });
      await writeBlobOutput(Readable.from([bytes]), opts.out, true, ctx.signal);
    });

  ir.command('get-blob')
    .description('get a blob (config or layer) of an application image, verified')
    .requiredOption('-a, --app-name <APP_NAME>', 'repository namespace (application name)')
    .requiredOption('-d, --digest <DIGEST>', 'digest of the blob')
    .option('-o, --out <OUT>', 'write the blob to a file (replaced only once verified)')
    .option('--force', 'write binary bytes to a terminal')
    .action(
      async (
        opts: { appName: string; digest: string; out?: string; force?: boolean },
        cmd: Command,
      ) => {
        parseDigest(opts.digest);
        const { ctx, host } = await connect(cmd);
        const repo = isletReference(host, opts.appName);
        const stream = await ctx.client.openBlob(
          repo,
          { digest: opts.digest },
          { signal: ctx.signal },
        );
        await writeBlobOutput(stream, opts.out, opts.force ?? false, ctx.signal);
      },
    );

  ir.command('list-tags')
    .description('list the tags of an application image, one a line')
    .requiredOption('-a, --app-name <APP_NAME>', 'repository namespace (application name)')
    .option('-n, --n <N>', 'list only N tags', parseCount)
    .option('-l, --last <LAST>', 'start listing tags after LAST')
    .action(async (opts: { appName: string; n?: number; last?: string }, cmd: Command) => {
      const { ctx, host } = await connect(cmd);
      const tags = await ctx.client.listTags(isletReference(host, opts.appName), {
        limit: opts.n,
        last: opts.last,
        signal: ctx.signal,
      });
      if (tags.length) printList(tags);
    });

  addConnectionOptions(
    ir
      .command('get-image')
      .description('fetch an application image and unpack it into DEST (new or empty)'),
  )
    .requiredOption('-n, --app-name <APP_NAME>', 'repository namespace (application name)')
    .requiredOption('-r, --reference <REFERENCE>', 'reference of the image [digest or tag]')
    .requiredOption('-d, --dest <DEST>', 'directory to unpack the image into')
    .action(async (opts: { appName: string; reference: string; dest: string }, cmd: Command) => {
      const { ctx, host } = await connect(cmd);
      const ref = isletReference(host, opts.appName, opts.reference);
      const result = await getIsletImage(ref, opts.dest, {
        client: ctx.client,
        signal: ctx.signal,
      });
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stderr.write(
        `unpacked ${ref} (${result.manifestDigest}) into ${opts.dest}: ${result.layers} layers, ${result.files} files, every layer's digest and diff_id checked\n`,
      );
    });

  ir.command('unpack')
    .description(
      'apply layer files (bottom first) to DIR (new or empty), each checked against its diff_id',
    )
    .requiredOption('-d, --dest <DIR>', 'directory to apply the layers to')
    .requiredOption('-l, --layer <PATH>', 'layer file (repeat, bottom first)', collect)
    .requiredOption('-i, --diff-id <DIFF_ID>', "the layer's diff_id (one per --layer)", collect)
    .option(
      '-t, --type <TYPE>',
      'layer file type: tar, tar-gz, tar-zstd (one, or one per --layer; default tar)',
      collect,
    )
    .action(async (opts: { dest: string; layer: string[]; diffId: string[]; type?: string[] }) => {
      const types = opts.type ?? ['tar'];
      if (opts.diffId.length !== opts.layer.length) {
        throw new InvalidArgumentError(
          `give one --diff-id per --layer: ${opts.layer.length} layers, ${opts.diffId.length} diff_ids`,
        );
      }
      if (types.length !== 1 && types.length !== opts.layer.length) {
        throw new InvalidArgumentError('give one --type for all layers, or one per --layer');
      }
      const layers = [];
      for (const [i, file] of opts.layer.entries()) {
        const layer = await isletLayerFile(
          file,
          types[types.length === 1 ? 0 : i]!,
          opts.diffId[i]!,
        );
        layers.push({ ...layer, index: i });
      }
      const result = await unpackLayers(layers, opts.dest, { verify: true });
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stderr.write(
        `applied ${result.layers} layers to ${opts.dest}: ${result.files} files, every diff_id checked\n`,
      );
    });

  for (const command of [ir, ...ir.commands]) command.exitOverride();
  return ir;
}
