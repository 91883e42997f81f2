import { TooLargeError } from '../errors/index.js';
import { openImageFile } from '../image/index.js';
import type { Reference } from '../ref/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import { openImage } from '../source/index.js';

/*
 * runwasi-style images (`docker buildx --platform wasi/wasm`) are ordinary filesystem
 * images whose entrypoint is a .wasm file; the platform is their only wasm signal. The
 * module is read out of the layers with the same top-down search `ocipeek cat` uses,
 * every layer digest-verified on the way.
 */

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The module a runwasi-style config runs: its entrypoint (else cmd) when it ends in `.wasm`. */
export function runwasiModulePath(config: unknown): string | undefined {
  const runtime = record(record(config)?.config);
  for (const key of ['Entrypoint', 'Cmd']) {
    const list = runtime?.[key];
    const first = Array.isArray(list) ? list[0] : undefined;
    if (typeof first === 'string' && first.endsWith('.wasm')) return first;
  }
  return undefined;
}

/** Options for {@link readModuleFromLayers}. */
export interface ReadModuleFromLayersOptions {
  /** Refuse files larger than this many bytes. */
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * Read the file at `path` from the filesystem layers of the image manifest `manifestRef`
 * (a reference with the manifest's digest), whole, capped at `maxBytes`.
 */
export async function readModuleFromLayers(
  client: RegistryClient,
  manifestRef: Reference,
  path: string,
  options: ReadModuleFromLayersOptions,
): Promise<Buffer> {
  const { signal, maxBytes } = options;
  const image = await openImage(new RegistrySource(manifestRef, { client }), { signal });
  const stream = await openImageFile(image, path, { signal });
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new TooLargeError(`wasm module ${path}`, maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
