import { gzipSync } from 'node:zlib';
import { digestOf } from '../digest/index.js';
import { packTarBuffer, type TarHeaderFields, type TarWriteEntry } from '../tar/index.js';

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

const TYPES = { file: 'file', directory: 'dir', symlink: 'symlink', link: 'hardlink' } as const;

/** Build a tar from `entries` (in order) with a fixed mtime and root ownership. */
export async function buildTar(entries: ExampleEntry[], mtime: Date): Promise<Buffer> {
  const members: TarWriteEntry[] = entries.map((e) => {
    const type = TYPES[e.type ?? (e.name.endsWith('/') ? 'directory' : 'file')];
    const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    // A hard link carries its target's mode; a symlink's mode is always 0777.
    const mode = e.mode ?? { file: 0o644, dir: 0o755, symlink: 0o777, hardlink: 0o644 }[type];
    const header: TarHeaderFields = {
      path: e.name.replace(/\/$/, ''),
      type,
      size: body?.length ?? 0,
      mode,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      mtime: Math.floor(mtime.getTime() / 1000),
    };
    if (type === 'symlink' || type === 'hardlink') header.linkname = e.linkname ?? '';
    return body ? { header, body } : { header };
  });
  return packTarBuffer(members);
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
