import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { type LayerEntry, makeTar } from '../../test/harness/layers.js';
import { type LayerBlob, writeGzipLayer } from './blob-file.js';

/** Paths left out of the Debian layer, as the official images leave them out. */
export const ROOTFS_EXCLUDES = ['dev/*', 'var/cache/apt/archives/*.deb', 'var/lib/apt/lists/*'];

/**
 * GNU tar of every entry of `dir` (names without `./`, sorted, numeric owners), streamed
 * through gzip `level` into the layout.
 */
export async function layerFromDirectory(
  layoutDir: string,
  dir: string,
  options: { excludes?: string[]; level?: number } = {},
): Promise<LayerBlob> {
  const members = (await readdir(dir)).sort();
  const args = ['-C', dir, '--sort=name', '--numeric-owner', '--anchored'];
  for (const e of options.excludes ?? []) args.push(`--exclude=${e}`);
  args.push('-cf', '-', ...members);
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const blob = await writeGzipLayer(layoutDir, child.stdout, options.level ?? 6);
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${dir} failed (${code}): ${stderr}`);
  return blob;
}

/**
 * Deterministic incompressible bytes: an AES-128-CTR keystream with a fixed key, so the
 * big layer (and its digest) is the same on every machine.
 */
function* keystream(total: number, chunk = 1 << 20): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(chunk);
  for (let left = total; left > 0; left -= chunk) {
    yield cipher.update(left >= chunk ? zeros : zeros.subarray(0, left));
  }
}

const MTIME = new Date('2024-01-01T00:00:00Z');

/**
 * One file of `size` pseudo-random bytes (`data/blob.bin`, the worst case for transfer:
 * gzip cannot shrink it) followed by 200 small text files, gzip level 1.
 */
export async function bigLayer(layoutDir: string, size: number): Promise<LayerBlob> {
  const pack = tar.pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  pack.pipe(out);
  const writing = writeGzipLayer(layoutDir, out as Readable, 1);
  const header = { mtime: MTIME, uid: 0, gid: 0 };
  const entry = (h: Partial<tar.Header> & { name: string }, body = Buffer.alloc(0)) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, ...h }, body, (err) => (err ? reject(err) : resolve())),
    );
  await entry({ name: 'data/', type: 'directory', mode: 0o755 });
  let stream!: ReturnType<typeof pack.entry>;
  const done = new Promise<void>((resolve, reject) => {
    stream = pack.entry({ ...header, name: 'data/blob.bin', size, mode: 0o644 }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
  for (const chunk of keystream(size)) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end(() => {});
  await done;
  await entry({ name: 'data/small/', type: 'directory', mode: 0o755 });
  for (let i = 0; i < 200; i++) {
    const name = `data/small/file-${String(i).padStart(4, '0')}.txt`;
    await entry({ name, mode: 0o644 }, Buffer.from(`small file ${i}\n`.repeat(1 + (i % 50))));
  }
  pack.finalize();
  return writing;
}

/** The application's top layer: deletions, an opaque directory, symlinks and hard links. */
export const TOP_LAYER_ENTRIES: LayerEntry[] = [
  { path: 'app/', type: 'dir' },
  // Deletions of a base file, a base directory and a package from the node_modules layer.
  { path: 'etc/.wh.motd' },
  { path: 'usr/share/doc/.wh.apt' },
  { path: 'app/node_modules/.wh.lodash-es' },
  // ramda becomes opaque: only the one file below remains of its ~700.
  { path: 'app/node_modules/ramda/', type: 'dir' },
  { path: 'app/node_modules/ramda/.wh..wh..opq' },
  { path: 'app/node_modules/ramda/index.js', content: 'module.exports = {};\n' },
  { path: 'app/VERSION', content: '1.2.3\n' },
  { path: 'app/VERSION.link', type: 'hardlink', linkname: 'app/VERSION' },
  { path: 'app/server.js', content: "require('./node_modules/lodash');\nconsole.log('up');\n" },
  { path: 'app/config/', type: 'dir' },
  { path: 'app/config/settings.json', content: '{"port":8080,"log":"info"}\n' },
  {
    path: 'app/config/settings.default.json',
    type: 'hardlink',
    linkname: 'app/config/settings.json',
  },
  { path: 'app/bin/', type: 'dir' },
  { path: 'app/bin/tsc', type: 'symlink', linkname: '../node_modules/typescript/bin/tsc' },
  { path: 'app/current', type: 'symlink', linkname: '/app' },
  { path: 'usr/local/bin/', type: 'dir' },
  { path: 'usr/local/bin/app', type: 'symlink', linkname: '/app/server.js' },
];

/** {@link TOP_LAYER_ENTRIES} as a gzip layer in the layout. */
export async function topLayer(layoutDir: string): Promise<LayerBlob> {
  const bytes = await makeTar(TOP_LAYER_ENTRIES);
  const src = new PassThrough();
  src.end(bytes);
  return writeGzipLayer(layoutDir, src, 6);
}
