import { readFile } from 'node:fs/promises';
import type { KeySource } from './policy.js';

/** The bytes of one key file or `keyData` entry, and where they came from (for messages). */
export interface KeyMaterial {
  bytes: Buffer;
  origin: string;
}

/**
 * The bytes a requirement's `keyPath`/`keyPaths` files hold, and its `keyData`/`keyDatas`
 * (base64), in that order; the same for sigstore PEM keys and GPG keyrings. A file that
 * cannot be read throws an Error naming it.
 */
export async function readKeyMaterial(source: KeySource): Promise<KeyMaterial[]> {
  const paths = source.keyPath ? [source.keyPath] : (source.keyPaths ?? []);
  const datas = source.keyData ? [source.keyData] : (source.keyDatas ?? []);
  const out: KeyMaterial[] = [];
  for (const path of paths) {
    try {
      out.push({ bytes: await readFile(path), origin: path });
    } catch (err) {
      throw new Error(`cannot read key ${path}: ${(err as Error).message}`);
    }
  }
  datas.forEach((data, i) => {
    const origin = `keyData${datas.length > 1 ? `[${i}]` : ''}`;
    out.push({ bytes: Buffer.from(data, 'base64'), origin });
  });
  return out;
}
