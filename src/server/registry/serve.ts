import { startRegistryServer } from './server.js';

/** Options of {@link serve}, as the CLI parses them from `ocipeek serve`. */
export interface ServeOptions {
  /** `--root DIR` (repeatable): layouts, or directories holding layouts, read-only. */
  root?: string[] | string;
  /** `--storage DIR`: the ocipeek store, served read-write. */
  storage?: string;
  /** `--read-only`: refuse pushes and deletes. */
  readOnly?: boolean;
  /** `--max-blob-size`: refuse larger blobs. */
  maxBlobBytes?: number;
  /** `--allow-push-to-pulled`: accept pushes to repositories of other registries. */
  allowMirrorPush?: boolean;
  /** `--listen HOST:PORT` (default `127.0.0.1:5000`; port 0 picks a free one). */
  listen?: string;
  /** `--name NAME`: repository name for a root that is itself a layout. */
  name?: string;
  /** `--quiet`: no per-request log lines on stderr. */
  quiet?: boolean;
  /** Stops the server like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
}

/**
 * Run `ocipeek serve`: start the registry, print `listening on URL` to stderr,
 * and keep serving until SIGINT, SIGTERM or `signal`; then close and resolve.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const server = await startRegistryServer({
    roots: options.root,
    storageDir: options.storage,
    readOnly: options.readOnly,
    maxBlobBytes: options.maxBlobBytes,
    allowMirrorPush: options.allowMirrorPush,
    listen: options.listen ?? '127.0.0.1:5000',
    name: options.name,
    signal: options.signal,
    log: options.quiet ? undefined : write,
  });
  write(`listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
}
