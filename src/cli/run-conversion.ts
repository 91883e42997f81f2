import { convertImageFormat } from '../convert/index.js';
import { openDestination } from '../places/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { ImageSource, Place } from '../source/index.js';
import type { CliContext } from './context.js';
import { formatBytes, printJson, printLines } from './format.js';

/**
 * Copy converting (`copy --dest-compress-format`/`--format`, `convert --zstd-chunked`), and
 * print what was written. Closes `source`.
 */
export async function runConversion(
  ctx: CliContext,
  source: ImageSource,
  dst: Place,
  options: Parameters<typeof convertImageFormat>[2] & {
    client: RegistryClient;
    chunkSize?: number;
    json?: boolean;
  },
): Promise<string> {
  try {
    const destination = await openDestination(dst, {
      client: options.client,
      storeDir: ctx.options.store,
      imageName: source.imageName,
      signal: ctx.signal,
      chunkSize: options.chunkSize,
      tmpDir: options.tmpDir,
    });
    const result = await convertImageFormat(source, destination, {
      ...options,
      signal: ctx.signal,
    });
    if (options.json || ctx.options.json) {
      printJson({
        source: source.description,
        destination: destination.description,
        ...result,
      });
      return result.digest;
    }
    printLines(
      `converted ${source.description} -> ${destination.description}`,
      `digest: ${result.digest} (from ${result.sourceDigest})`,
      `layers: ${result.layers.recompressed} recompressed (${formatBytes(result.bytesWritten)}), ${result.layers.kept} kept`,
    );
    return result.digest;
  } finally {
    await source.close();
  }
}
