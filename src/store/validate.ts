import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createDigester, parseDigest } from '../digest/index.js';
import { REF_NAME_ANNOTATION } from '../layout/index.js';
import { blobFiles } from './blob-files.js';
import { contentGraph } from './content-graph.js';
import type { Store } from './store.js';

/** Options of {@link validateStore}. */
export interface ValidateOptions {
  signal?: AbortSignal;
  /** Hash every blob and compare with its name (default true; reads the whole store). */
  verifyBlobs?: boolean;
}

/** One thing wrong with a store. */
export interface StoreProblem {
  /** What kind of problem: stable strings callers can switch on. */
  kind:
    | 'duplicate-ref'
    | 'missing-blob'
    | 'size-mismatch'
    | 'digest-mismatch'
    | 'unreadable-manifest'
    | 'stray-file';
  /** The digest, reference or path concerned. */
  subject: string;
  /** One readable line. */
  message: string;
}

/**
 * Check a store: names in `index.json` are unique; every blob an image needs is present
 * with its size (other platforms of a kept index may be absent, as with `skopeo copy`
 * without `--all`); manifests parse; every file under `blobs/` is named by a digest and,
 * with `verifyBlobs`, hashes to it. Temp files are not problems: they live only under
 * `.ocipeek/`, which no layout reader looks at.
 */
export async function validateStore(
  store: Store,
  options: ValidateOptions = {},
): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  const index = await store.layout.index(options);
  const names = new Set<string>();
  for (const root of index.manifests) {
    const name = root.annotations?.[REF_NAME_ANNOTATION];
    if (name !== undefined) {
      if (names.has(name)) {
        problems.push({
          kind: 'duplicate-ref',
          subject: name,
          message: `${name} is named twice in index.json`,
        });
      }
      names.add(name);
    }
    const graph = await contentGraph(store.layout, root, options);
    for (const node of graph.nodes.values()) {
      if (node.present || node.optional) continue;
      const d = node.descriptor;
      const size = await store.hasBlob(d.digest);
      const kind = size === undefined ? 'missing-blob' : 'size-mismatch';
      const what = `${node.role} ${d.digest}${name ? ` of ${name}` : ''}`;
      problems.push({
        kind,
        subject: d.digest,
        message:
          size === undefined
            ? `${what} is missing`
            : `${what} has ${size} bytes, expected ${d.size}`,
      });
    }
    for (const u of graph.unreadable) {
      problems.push({
        kind: 'unreadable-manifest',
        subject: u.digest,
        message: `${u.digest}: ${u.reason}`,
      });
    }
  }
  for await (const { digest, path, named } of blobFiles(store.dir, options.signal)) {
    if (!named || !(await stat(path)).isFile()) {
      problems.push({ kind: 'stray-file', subject: path, message: `${path} is not a blob` });
      continue;
    }
    if (options.verifyBlobs === false) continue;
    const actual = await hashFile(path, digest, options.signal);
    if (actual !== digest) {
      problems.push({
        kind: 'digest-mismatch',
        subject: digest,
        message: `blob ${digest} hashes to ${actual}`,
      });
    }
  }
  return problems;
}

async function hashFile(path: string, digest: string, signal?: AbortSignal): Promise<string> {
  const { algorithm } = parseDigest(digest);
  const hash = createDigester(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer);
  }
  return `${algorithm}:${hash.digest('hex')}`;
}
