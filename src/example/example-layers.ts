import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { digestOf } from '../digest/index.js';

/** One entry of a generated layer tar. Directories end in `/`. */
export interface ExampleEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  /** File content (files only). */
  content?: string;
  /** Symlink target or, for hard links, the path (in the same layer) linked to. */
  linkname?: string;
  mode?: number;
}

/** A generated layer: the tar, its gzip form and both digests. */
export interface ExampleLayer {
  tar: Buffer;
  gzip: Buffer;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: string;
  /** sha256 of the gzip bytes (the manifest's layer digest). */
  digest: string;
}

/** Build a tar from `entries` (in order) with a fixed mtime and root ownership. */
export async function buildTar(entries: ExampleEntry[], mtime: Date): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    tar.on('data', (chunk) => {
      chunks.push(chunk as Buffer);
    });
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith('/') ? 'directory' : 'file');
    const base = { mtime, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    if (type === 'file') {
      tar.entry({ ...base, name: e.name, type, mode: e.mode ?? 0o644 }, e.content ?? '');
    } else if (type === 'directory') {
      tar.entry({ ...base, name: e.name, type, mode: e.mode ?? 0o755 });
    } else {
      // A hard link carries its target's mode; a symlink's mode is always 0777.
      const mode = e.mode ?? (type === 'link' ? 0o644 : 0o777);
      tar.entry({ ...base, name: e.name, type, mode, linkname: e.linkname ?? '' });
    }
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Gzip with a header that does not depend on the host: zlib writes mtime 0 already, and
 * the OS byte is pinned to 255 ("unknown", as Go's gzip writes) instead of the build's
 * OS code. The deflate stream itself is reproducible for a given zlib build.
 */
export function reproducibleGzip(data: Buffer): Buffer {
  const out = gzipSync(data, { level: 9 });
  out[9] = 0xff;
  return out;
}

/** Tar, gzip and hash `entries` into a layer. */
export async function buildLayer(entries: ExampleEntry[], mtime: Date): Promise<ExampleLayer> {
  const tar = await buildTar(entries, mtime);
  const gzip = reproducibleGzip(tar);
  return { tar, gzip, diffId: digestOf(tar), digest: digestOf(gzip) };
}

const ARCH_NAMES: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };

/** The base layer: a tiny root filesystem, different per architecture. */
export function baseEntries(arch: string): ExampleEntry[] {
  const osRelease = [
    'NAME="Ocipeek Example Linux"',
    'ID=ocipeek-example',
    'VERSION_ID=1.0',
    `PRETTY_NAME="Ocipeek Example Linux 1.0 (${arch})"`,
    'HOME_URL="https://example.invalid/ocipeek"',
    '',
  ].join('\n');
  return [
    { name: 'etc/' },
    { name: 'etc/hostname', content: 'example\n' },
    { name: 'etc/motd', content: 'Welcome to the ocipeek example image.\n' },
    { name: 'etc/os-release', content: osRelease },
    {
      name: 'etc/passwd',
      content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
    },
    { name: 'root/', mode: 0o700 },
    { name: 'tmp/', mode: 0o1777 },
    { name: 'usr/' },
    { name: 'usr/bin/' },
    { name: 'usr/lib/' },
    { name: 'usr/lib/arch', content: `${ARCH_NAMES[arch] ?? arch}\n` },
    // Debian keeps the real file in /usr/lib and links /etc to it; here the other way
    // round and as a hard link, so the example carries one.
    { name: 'usr/lib/os-release', type: 'link', linkname: 'etc/os-release' },
    { name: 'var/' },
    { name: 'var/cache/' },
    { name: 'var/cache/example/' },
    { name: 'var/cache/example/index.db', content: 'stale cache v1\n' },
    { name: 'var/cache/example/old.txt', content: 'left over from the base image\n' },
  ];
}

const HELLO_SCRIPT = `#!/bin/sh
# hello: greets whoever is named on the command line.
set -eu
greeting="\${HELLO_GREETING:-Hello}"
echo "$greeting, \${1:-world}! (from $(cat /etc/hostname) on $(cat /usr/lib/arch))"
`;

/** The application layer: the same bytes on every architecture. */
export function appEntries(): ExampleEntry[] {
  return [
    { name: 'usr/' },
    { name: 'usr/bin/' },
    { name: 'usr/bin/hello', content: HELLO_SCRIPT, mode: 0o755 },
    { name: 'usr/bin/hi', type: 'symlink', linkname: 'hello' },
    { name: 'usr/local/' },
    { name: 'usr/local/bin/' },
    { name: 'usr/local/bin/hello', type: 'symlink', linkname: '/usr/bin/hello' },
    { name: 'usr/share/' },
    { name: 'usr/share/hello/' },
    { name: 'usr/share/hello/README.md', content: '# hello\n\nRun `hello NAME` to be greeted.\n' },
    { name: 'usr/share/hello/greeting.txt', content: 'Hello\n' },
    { name: 'usr/share/doc/' },
    { name: 'usr/share/doc/hello/' },
    { name: 'usr/share/doc/hello/README.md', type: 'link', linkname: 'usr/share/hello/README.md' },
    { name: 'var/' },
    { name: 'var/cache/' },
    { name: 'var/cache/example/' },
    { name: 'var/cache/example/app.db', content: 'app cache v1\n' },
  ];
}

/**
 * The top layer: deletes /etc/motd with a whiteout, makes /var/cache/example opaque (its
 * lower contents vanish) and adds a version file.
 */
export function topEntries(): ExampleEntry[] {
  return [
    { name: 'etc/' },
    { name: 'etc/.wh.motd' },
    { name: 'usr/' },
    { name: 'usr/share/' },
    { name: 'usr/share/hello/' },
    { name: 'usr/share/hello/VERSION', content: '1.0.0\n' },
    { name: 'var/' },
    { name: 'var/cache/' },
    { name: 'var/cache/example/' },
    { name: 'var/cache/example/.wh..wh..opq' },
    { name: 'var/cache/example/fresh.txt', content: 'rebuilt cache\n' },
  ];
}
