import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../digest/index.js';

/** One file under a store's `blobs/ALGORITHM/` folders. */
export interface BlobFile {
  /** `ALGORITHM:NAME`, what the file's place says it holds. */
  digest: string;
  path: string;
  /** False for a file whose place names no valid digest (not a blob: validate says so). */
  named: boolean;
}

/**
 * Every file under `storeDir/blobs/*` with the digest its place names, for the walks of
 * `prune` and `validate`. Missing folders are empty; `signal` is checked at each file.
 */
export async function* blobFiles(storeDir: string, signal?: AbortSignal): AsyncGenerator<BlobFile> {
  const blobsDir = join(storeDir, 'blobs');
  for (const algorithm of await readdir(blobsDir).catch(() => [] as string[])) {
    for (const hex of await readdir(join(blobsDir, algorithm)).catch(() => [] as string[])) {
      signal?.throwIfAborted();
      const digest = `${algorithm}:${hex}`;
      yield { digest, path: join(blobsDir, algorithm, hex), named: isDigest(digest) };
    }
  }
}
