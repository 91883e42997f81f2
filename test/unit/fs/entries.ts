import { ImageFilesystem } from '../../../src/fs/index.js';
import type { TarEntry } from '../../../src/tar/index.js';

/** Hand-made tar entries for fs tests (offsets are fake but distinct). */
let offset = 0;
function base(path: string, extra: Partial<TarEntry>): TarEntry {
  offset += 1024;
  return {
    path,
    type: 'file',
    size: 0,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    headerOffset: offset,
    dataOffset: offset + 512,
    ...extra,
  };
}

export const file = (path: string, size = 0, extra: Partial<TarEntry> = {}) =>
  base(path, { size, ...extra });
export const dir = (path: string, extra: Partial<TarEntry> = {}) =>
  base(path, { type: 'dir', mode: 0o755, ...extra });
export const symlink = (path: string, target: string) =>
  base(path, { type: 'symlink', linkname: target, mode: 0o777 });
export const hardlink = (path: string, target: string) =>
  base(path, { type: 'hardlink', linkname: target });
export const whiteout = (path: string) => {
  const i = path.lastIndexOf('/');
  return file(i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`);
};
export const opaque = (dirPath: string) => file(`${dirPath}/.wh..wh..opq`);

/** An image filesystem from layers of entries, bottom first. */
export async function build(layers: TarEntry[][]): Promise<ImageFilesystem> {
  const fs = new ImageFilesystem();
  for (let i = 0; i < layers.length; i++)
    await fs.applyLayer(layers[i]!, i, `sha256:${'0'.repeat(63)}${i}`);
  return fs;
}

/** Every path of the filesystem with its type, depth first. */
export function paths(fs: ImageFilesystem): string[] {
  return [...fs.walk('/')].map((e) => `${e.path}${e.type === 'dir' ? '/' : ''}`);
}
