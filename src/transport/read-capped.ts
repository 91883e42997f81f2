import { Readable } from 'node:stream';
import { TooLargeError } from '../errors/index.js';

/**
 * Read a whole response body, refusing more than `limit` bytes (manifests, configs and
 * error bodies are small; a hostile server must not make us buffer gigabytes).
 */
export async function readCapped(
  body: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void },
  limit: number,
  what: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) {
      body.destroy?.();
      throw new TooLargeError(what, limit);
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** A response body again, from bytes already read (to hand on what was inspected). */
export function bodyOf(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}
