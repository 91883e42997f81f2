import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../harness/layers.js';

/** One entry of a hand-built eStargz layer. */
export interface FixtureEntry {
  name: string;
  dir?: boolean;
  content?: Buffer;
  /** Split the content into chunks of this size. */
  chunk?: number;
  /** Lie about the offset in the TOC. */
  offset?: number;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The 512-byte ustar header of one entry (from tar-stream, not from ocipeek's writer). */
async function header(e: FixtureEntry): Promise<Buffer> {
  const tar = await makeTar([
    e.dir ? { path: e.name, type: 'dir' } : { path: e.name, content: e.content ?? '' },
  ]);
  return tar.subarray(0, 512);
}

/**
 * An eStargz layer built by hand, following docs/estargz.md and laid out like the Go
 * writer (containerd/stargz-snapshotter estargz): a header goes into the current gzip
 * member, each payload chunk starts a new member, and the padding plus the next headers
 * follow in the last chunk's member. The TOC tar entry gets its own member, then the
 * 51-byte footer (written here byte by byte, not with ocipeek's `estargzFooter`).
 */
export async function handmadeEstargz(
  entries: FixtureEntry[],
): Promise<{ blob: Buffer; tocDigest: string }> {
  const out: Buffer[] = [];
  let offset = 0;
  let member: Buffer[] = [];
  const close = () => {
    if (member.length === 0) return;
    const gz = gzipSync(Buffer.concat(member));
    out.push(gz);
    offset += gz.length;
    member = [];
  };
  const toc: Record<string, unknown>[] = [];
  for (const e of entries) {
    member.push(await header(e));
    if (e.dir) {
      toc.push({ name: e.name, type: 'dir', modtime: '2024-01-01T00:00:00Z', mode: 0o40755 });
      continue;
    }
    const content = e.content ?? Buffer.alloc(0);
    const reg: Record<string, unknown> = {
      name: e.name,
      type: 'reg',
      size: content.length,
      modtime: '2024-01-01T00:00:00Z',
      mode: 0o100644,
      digest: sha(content),
    };
    toc.push(reg);
    const size = e.chunk ?? content.length;
    for (let at = 0; at < content.length; at += size) {
      close();
      const piece = content.subarray(at, at + size);
      const last = at + size >= content.length;
      const t = at === 0 ? reg : { name: e.name, type: 'chunk', chunkOffset: at };
      t.offset = e.offset ?? offset;
      if (!last) t.chunkSize = piece.length;
      t.chunkDigest = sha(piece);
      if (at > 0) toc.push(t);
      member.push(piece);
    }
    const pad = content.length % 512;
    if (pad) member.push(Buffer.alloc(512 - pad));
  }
  close();
  const tocOffset = offset;
  const json = Buffer.from(JSON.stringify({ version: 1, entries: toc }));
  const tocTar = await makeTar([{ path: 'stargz.index.json', content: json }]);
  out.push(gzipSync(tocTar));
  const footer = Buffer.alloc(51);
  Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 26, 0, 0x53, 0x47, 22, 0]).copy(footer);
  footer.write(`${tocOffset.toString(16).padStart(16, '0')}STARGZ`, 16, 'latin1');
  Buffer.from([1, 0, 0, 0xff, 0xff]).copy(footer, 38);
  out.push(footer);
  return { blob: Buffer.concat(out), tocDigest: sha(json) };
}
