import type { LayerEntry } from '../harness/index.js';

/**
 * Layers shaped like the benchmark's node app image, bottom first: a base with many files,
 * a middle layer, and a small top layer with a whiteout (`/etc/motd`), an opaque directory
 * (`/app/node_modules/ramda`), a hardlink, a symlink, and entries whose parents only lower
 * layers define (`usr/local/bin/app`, `lib/added.so` through the base's `lib -> usr/lib`).
 * `extra` entries go into each layer (by index) after these.
 */
export function appLayers(extra: LayerEntry[][] = []): LayerEntry[][] {
  const many = Array.from({ length: 400 }, (_, i) => ({
    path: `usr/share/doc/pkg${i}/copyright`,
    content: `copyright ${i}\n`.repeat(20),
  }));
  const layers: LayerEntry[][] = [
    [
      { path: 'etc/', type: 'dir' },
      { path: 'etc/motd', content: 'hello\n' },
      { path: 'usr/lib/libc.so', content: 'libc\n' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      ...many,
    ],
    [
      { path: 'app/', type: 'dir' },
      { path: 'app/node_modules/ramda/', type: 'dir' },
      { path: 'app/node_modules/ramda/old.js', content: 'old\n' },
    ],
    [
      { path: 'app/', type: 'dir' },
      { path: 'etc/.wh.motd' },
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
  return layers.map((l, i) => [...l, ...(extra[i] ?? [])]);
}
