import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { scavengeEvery } from '../../node/dead-buffer-scavenge.js';
import { holdYoungGeneration } from '../../node/young-generation.js';
import { serve } from '../../server/registry/index.js';
import { openRegistryStorage } from '../../server/storage/open-storage.js';
import { parseSize } from '../../util/parse-size.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines } from '../format.js';
import { parseDuration } from '../parse-duration.js';
import { collect } from '../repeatable.js';

interface ServeCliOptions {
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  htpasswd?: string;
  logFormat?: string;
  gcInterval?: string;
  root?: string[];
  storage?: string;
  readOnly?: boolean;
  s3Redirect?: boolean;
  maxBlobSize?: string;
  allowPushToPulled?: boolean;
  listen?: string;
  name?: string;
  quiet?: boolean;
  upstream?: string[];
  defaultUpstream?: string;
  tagTtl?: string;
  memoryCache?: string;
  cacheMaxSize?: string;
}

/**
 * Upload bytes between two scavenges of the serve command (see `scavengeEvery`): 64
 * chunks of 64 KiB, so at most a few MiB of dead chunks wait, whatever the number of
 * uploads at once (the count is the process's). App push into tmpfs: peak RSS 105 → 77 MB.
 */
const UPLOAD_SCAVENGE_BYTES = 4 * 1024 * 1024;

/** `ocipeek serve`: a registry over OCI layouts (read-only) or the ocipeek store. */
export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'serve OCI layouts or an ocipeek store read-only (--root), or a store read-write (--storage), over the distribution API',
    )
    .option(
      '--config <file>',
      'a YAML registry config (auth, access rules, TLS); flags win over it',
    )
    .option(
      '--root <dir>',
      'an OCI layout, a folder of layouts, or an ocipeek store (its images as `images` lists them; repeatable)',
      collect,
    )
    .option(
      '--storage <dir|s3://bucket/prefix>',
      'an ocipeek store, or S3 (AWS_ENDPOINT_URL_S3, AWS_REGION, credentials as usual), to serve read-write',
    )
    .option(
      '--s3-redirect',
      'on S3 storage, answer blob GETs with a redirect to a presigned URL (15 min)',
    )
    .option('--read-only', 'refuse pushes and deletes')
    .option('--max-blob-size <size>', 'refuse blobs larger than this (e.g. 10G)')
    .option(
      '--allow-push-to-pulled',
      'accept pushes to repositories named after other registries (docker.io/..., host_port/...)',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; SIGHUP reloads it)')
    .option('--tls-key <file>', 'the key of --tls-cert (PEM)')
    .option('--client-ca <file>', 'require client certificates issued by this CA (mutual TLS)')
    .option('--htpasswd <file>', 'require HTTP Basic auth against this htpasswd file (bcrypt)')
    .option('--log-format <json|text>', 'access log lines (default json)')
    .option('--gc-interval <duration>', 'collect garbage online this often (e.g. 6h)')
    .option(
      '--listen <host:port>',
      'address to listen on (default 127.0.0.1:5000; port 0 picks a free one)',
    )
    .option('--name <repo>', 'repository name for a --root that is itself a layout')
    .option(
      '--upstream <[name=]url>',
      'serve a pull-through cache of this registry in --storage: NAME/repo comes from URL (repeatable; without NAME=, the default for other names); http:// is plain HTTP, https:// is TLS, a bare host[:port] is HTTPS unless on loopback',
      collect,
    )
    .option('--default-upstream <name>', 'the --upstream that also takes names without a prefix')
    .option(
      '--tag-ttl <duration>',
      'serve a cached tag this long before one HEAD upstream revalidates it (default 5m)',
    )
    .option(
      '--memory-cache <size>',
      "the cache's memory tier for small objects (default 64M; 0: none)",
    )
    .option(
      '--cache-max-size <size>',
      'evict least recently pulled images past this size (checked every minute)',
    )
    .option('--quiet', 'no per-request log lines')
    .action(async (opts: ServeCliOptions, cmd: Command) => {
      quietAwsSdkNotice();
      const ctx = await contextFor(cmd);
      if (opts.logFormat !== undefined && opts.logFormat !== 'json' && opts.logFormat !== 'text') {
        throw new InvalidArgumentError('--log-format is json or text');
      }
      // A server allocates a connection's read buffers (64 KiB, outside the heap) for every
      // read, freed only by a scavenge: held small, the young generation is swept every
      // MiB or two instead of every 16, and 64 pushes' dead buffers go sooner.
      const releaseYoungGeneration = holdYoungGeneration();
      // Request bodies are fresh copies per chunk, outside the heap: an upload written on
      // this thread makes too little garbage in the heap for the young generation to fill,
      // and 32 MiB of dead chunks waited for a scavenge (bench/ANALYSIS.md, hup).
      const stopScavenges = scavengeEvery(UPLOAD_SCAVENGE_BYTES);
      await serve({
        config: opts.config,
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        clientCa: opts.clientCa,
        htpasswd: opts.htpasswd,
        gcIntervalMs: opts.gcInterval === undefined ? undefined : parseDuration(opts.gcInterval),
        logFormat: opts.logFormat as 'json' | 'text' | undefined,
        root: opts.root,
        storage: opts.storage,
        readOnly: opts.readOnly,
        s3RedirectSeconds: opts.s3Redirect ? 900 : undefined,
        maxBlobBytes: opts.maxBlobSize === undefined ? undefined : parseSize(opts.maxBlobSize),
        allowMirrorPush: opts.allowPushToPulled,
        listen: opts.listen,
        name: opts.name,
        quiet: opts.quiet,
        upstream: opts.upstream,
        defaultUpstream: opts.defaultUpstream,
        tagTtlMs: opts.tagTtl === undefined ? undefined : parseDuration(opts.tagTtl),
        memoryCacheBytes: opts.memoryCache === undefined ? undefined : parseSize(opts.memoryCache),
        cacheMaxBytes: opts.cacheMaxSize === undefined ? undefined : parseSize(opts.cacheMaxSize),
        client: ctx.client,
        signal: ctx.signal,
      }).finally(() => {
        stopScavenges();
        releaseYoungGeneration();
      });
    });
  command
    .command('gc')
    .description(
      'remove what no tag or referrer reaches from a --storage store (safe while a server runs)',
    )
    .option('--grace <duration>', 'keep content written within this time (e.g. 10m, 1h)', '1h')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { grace: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      quietAwsSdkNotice();
      const ctx = await contextFor(cmd);
      // `--storage` belongs to `serve`, which commander parses on either side of `gc`.
      const dir = (cmd.parent?.opts() as ServeCliOptions | undefined)?.storage;
      if (dir === undefined) {
        throw new InvalidArgumentError(
          'serve gc needs --storage DIR or s3://BUCKET/PREFIX (the storage a registry serves)',
        );
      }
      const storage = await openRegistryStorage(dir, { create: false });
      const result = await storage
        .collectGarbage({
          signal: ctx.signal,
          dryRun: opts.dryRun,
          graceMs: parseDuration(opts.grace),
        })
        .finally(() => storage.close?.());
      if (opts.json || ctx.options.json) {
        printJson(result);
        return;
      }
      const verb = opts.dryRun ? 'would free' : 'freed';
      printLines(
        `${result.manifestsUnlinked} manifest(s) and ${result.blobsUnlinked} blob link(s) unreferenced, ${result.blobsRemoved} blob(s) and ${result.uploadsRemoved} stale upload(s) removed; ${verb} ${formatBytes(result.bytesFreed)}`,
      );
    });
}

/**
 * On Node < 22 the AWS SDK prints a seven-line notice, when a client is first used, about
 * the Node versions its releases after January 2027 will need. ocipeek supports Node 20,
 * and its CLI speaks in one-line messages (`serve gc` on S3 printed that notice above its
 * result or its error), so the CLI turns the notice off; a program using the library
 * keeps the SDK's default.
 */
function quietAwsSdkNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
