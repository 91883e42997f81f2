import { type BuiltImage, randomImage } from './fixtures.js';
import type { LayerEntry } from './layers.js';
import { LayoutWriter } from './oci-layout-writer.js';

/**
 * The layers of an image shaped like a small Node application's (and like the benchmark's
 * app image): a base with many files and a `lib -> usr/lib` symlink, a layer of
 * dependencies, and a top layer with a whiteout, an opaque directory, a hard link, a
 * symlink, and an entry whose parent only a lower layer defines (`lib/added.so` is
 * `/usr/lib/added.so`).
 */
export function appImageLayers(docFiles = 40, baseExtra: LayerEntry[] = []): LayerEntry[][] {
  const docs = Array.from({ length: docFiles }, (_, i) => ({
    path: `usr/share/doc/pkg${i}/copyright`,
    content: `copyright ${i}\n`.repeat(20),
  }));
  return [
    [
      { path: 'etc/', type: 'dir' },
      { path: 'etc/motd', content: 'hello\n' },
      { path: 'etc/os-release', content: 'ID=app-base\n' },
      { path: 'usr/lib/libc.so', content: 'libc\n' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      ...docs,
      ...baseExtra,
    ],
    [
      { path: 'app/', type: 'dir' },
      { path: 'app/package.json', content: '{"name":"app","version":"1.2.2"}\n' },
      { path: 'app/node_modules/ramda/', type: 'dir' },
      { path: 'app/node_modules/ramda/old.js', content: 'old\n' },
    ],
    [
      { path: 'app/', type: 'dir' },
      { path: 'etc/.wh.motd' },
      { path: 'app/package.json', content: '{"name":"app","version":"1.2.3"}\n' },
      { path: 'app/node_modules/ramda/', type: 'dir' },
      { path: 'app/node_modules/ramda/.wh..wh..opq' },
      { path: 'app/node_modules/ramda/index.js', content: 'new\n' },
      { path: 'app/VERSION', content: '1.2.3\n' },
      { path: 'app/VERSION.link', type: 'hardlink', linkname: 'app/VERSION' },
      { path: 'usr/local/bin/', type: 'dir' },
      { path: 'usr/local/bin/app', type: 'symlink', linkname: '/app/VERSION' },
      { path: 'lib/added.so', content: 'added through the lib symlink\n' },
    ],
  ];
}

/** The build steps {@link appImageLayers} stand for, as the config's history names them. */
export const APP_IMAGE_STEPS = [
  'ADD rootfs.tar /',
  'RUN npm ci',
  'COPY . /app && rm /etc/motd',
] as const;

/** Write the app-like image into an OCI layout at `dir`, tagged `tag`; `baseExtra` joins the base layer. */
export async function writeAppImage(
  dir: string,
  tag = 'v1',
  options: { docFiles?: number; baseExtra?: LayerEntry[] } = {},
): Promise<BuiltImage> {
  const w = new LayoutWriter(dir);
  const created = '2024-01-01T00:00:00Z';
  const image = await randomImage(w, {
    refName: tag,
    layerEntries: appImageLayers(options.docFiles, options.baseExtra),
    history: APP_IMAGE_STEPS.map((step) => ({ created, created_by: step })),
  });
  await w.finish();
  return image;
}
