import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ByteBuffer } from 'flatbuffers';
import { isOcipeekError } from '../../../../src/errors/index.js';
import {
  type BuiltZtoc,
  buildLayerZtoc,
  decodeGzipZinfo,
  type ParsedZtoc,
  parseZtoc,
  readZtocRange,
} from '../../../../src/lazy/index.js';
import { PACKED_CHECKPOINT_SIZE, spanStart } from '../../../../src/lazy/soci/gzip-zinfo.js';
import { type TempDir, tempDir } from '../../../harness/temp-dir.js';

/*
 * The zTOC of a real gzip tar checked two ways: by this project's own zTOC reader
 * (listing, and each file read by its checkpoint) and field by field against soci's schema
 * and zinfo layout. (soci-snapshotter's own zTOC code was run on these zTOCs once, built
 * beside the project and not committed: see docs/ARCHITECTURE.md, SOCI zTOCs.)
 * The tar is written and read back by Python's tarfile (PAX: xattrs, a fractional mtime,
 * a long name, links, a fifo, a device), gzipped by gzip(1).
 */

const SPAN = 1024 * 1024;

/** Writes the tar to stdout; with `list`, reads a tar from stdin and prints its members. */
const TAR_PY = String.raw`
import io, json, sys, tarfile
if sys.argv[1] == 'write':
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as t:
        def add(name, kind=tarfile.REGTYPE, data=b'', **kw):
            i = tarfile.TarInfo(name)
            i.type = kind
            i.size = len(data)
            i.mtime = kw.pop('mtime', 1700000000)
            i.mode = kw.pop('mode', 0o644)
            for k, v in kw.items():
                setattr(i, k, v)
            t.addfile(i, io.BytesIO(data) if data else None)
        add('./', tarfile.DIRTYPE, mode=0o755)
        add('./etc/', tarfile.DIRTYPE, mode=0o755)
        add('./etc/hosts', data=b'127.0.0.1 localhost\n', uid=0, gid=0, uname='root', gname='root')
        for n in range(6):
            lines = b''.join(b'line %d of file %d: the quick brown fox %d\n' % (k, n, k * k % 977) for k in range(22000))
            add('./usr/share/text-%d.txt' % n, data=lines, uid=1000, gid=100)
        add('./usr/share/' + 'long-' * 30 + 'name.txt', data=b'a long name\n')
        add('./usr/bin/tool', data=b'#!/bin/sh\necho tool\n' * 50, mode=0o4755)
        add('./usr/bin/link', tarfile.SYMTYPE, linkname='tool')
        add('./usr/bin/hard', tarfile.LNKTYPE, linkname='./usr/bin/tool')
        add('./var/fifo', tarfile.FIFOTYPE)
        add('./dev/null', tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)
        add('./xattr.txt', data=b'has xattrs\n', pax_headers={'SCHILY.xattr.user.test': 'value', 'SCHILY.xattr.security.capability': '\x01\x02'})
        add('./frac.txt', data=b'fractional mtime\n', pax_headers={'mtime': '1600000000.123456789'})
        add('./empty', data=b'')
        add('./zz-last.txt', data=b'the last file\n' * 3000)
    sys.stdout.buffer.write(out.getvalue())
else:
    t = tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode='r:')
    kinds = {tarfile.REGTYPE: 'reg', tarfile.DIRTYPE: 'dir', tarfile.SYMTYPE: 'symlink', tarfile.LNKTYPE: 'hardlink', tarfile.FIFOTYPE: 'fifo', tarfile.CHRTYPE: 'char', tarfile.BLKTYPE: 'block'}
    print(json.dumps([dict(name=m.name, type=kinds[m.type], offset=m.offset_data, size=m.size, mode=m.mode, uid=m.uid, gid=m.gid, uname=m.uname, gname=m.gname, mtime=m.pax_headers.get('mtime', str(int(m.mtime))), linkname=m.linkname, devmajor=m.devmajor, devminor=m.devminor, xattrs={k: v.encode('utf-8', 'surrogateescape').hex() for k, v in m.pax_headers.items() if k.startswith('SCHILY.xattr.')}) for m in t.getmembers()]))
`;

interface PyMember {
  name: string;
  type: string;
  offset: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: string;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, string>;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const clean = (name: string) => name.replace(/^\.\/?/, '').replace(/\/$/, '');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function build(file: string, span = SPAN): Promise<BuiltZtoc> {
  const blob = await readFile(file);
  return buildLayerZtoc(
    createReadStream(file),
    { digest: sha256(blob), size: blob.length },
    { span },
  );
}

describe('SOCI zTOC of a gzip tar', () => {
  let dir: TempDir;
  let tar: Buffer;
  let blob: Buffer;
  let layer: string;
  let members: PyMember[];
  let built: BuiltZtoc;
  let z: ParsedZtoc;

  before(async () => {
    dir = await tempDir('ztoc');
    tar = execFileSync('python3', ['-c', TAR_PY, 'write'], { maxBuffer: 64 << 20 });
    members = JSON.parse(
      execFileSync('python3', ['-c', TAR_PY, 'list'], { input: tar }).toString(),
    );
    layer = join(dir.path, 'layer.tar.gz');
    blob = execFileSync('gzip', ['-6', '-n'], { input: tar, maxBuffer: 64 << 20 });
    await writeFile(layer, blob);
    built = await build(layer);
    z = parseZtoc(built.bytes, 'layer');
  });
  after(() => dir?.remove());

  it('lists the files as Python reads the tar', () => {
    assert.equal(z.files.length, members.length);
    for (const [i, m] of members.entries()) {
      const f = z.files[i]!;
      const name = clean(m.name);
      assert.equal(text(f.name), name === '' ? './' : name, m.name);
      assert.equal(f.type, m.type, m.name);
      assert.equal(f.uncompressedOffset, m.offset, m.name);
      assert.equal(f.uncompressedSize, m.type === 'reg' ? m.size : 0, m.name);
      assert.equal(f.mode, m.mode & 0o7777, m.name);
      assert.deepEqual([f.uid, f.gid, f.uname, f.gname], [m.uid, m.gid, m.uname, m.gname]);
      assert.equal(Date.parse(f.modTime) / 1000, Math.floor(Number(m.mtime) * 1000) / 1000, m.name);
      const link = m.type === 'hardlink' ? clean(m.linkname) : m.linkname;
      assert.equal(text(f.linkname), link, m.name);
      assert.deepEqual([f.devmajor, f.devminor], m.type === 'char' ? [1, 3] : [0, 0]);
      assert.deepEqual(
        Object.fromEntries(f.paxHeaders.map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
        m.xattrs,
        m.name,
      );
    }
    const frac = z.files.find((f) => text(f.name) === 'frac.txt')!;
    assert.equal(frac.modTime, '2020-09-13T12:26:40.123456789Z', 'the PAX record to the ns');
  });

  it('reads every file by the spans that hold it, one range read each', async () => {
    let reads = 0;
    const read = async (start: number, end: number) => {
      reads++;
      return blob.subarray(start, end);
    };
    const regular = members.filter((m) => m.type === 'reg');
    for (const m of regular) {
      const got = await readZtocRange(z, m.offset, m.size, read, 'layer');
      assert.ok(got.equals(tar.subarray(m.offset, m.offset + m.size)), m.name);
    }
    assert.equal(reads, regular.filter((m) => m.size > 0).length);
    const last = members.at(-1)!;
    assert.ok(z.zinfo.checkpoints.at(-1)!.out < last.offset, 'the last file lies in the last span');
  });

  it('holds soci schema fields: sizes, span digests, zinfo layout and windows', () => {
    const f = z.fields;
    assert.equal(f.version, '0.9');
    assert.equal(f.buildToolIdentifier, 'ocipeek');
    assert.equal(f.compressedArchiveSize, blob.length);
    // Go's archive/tar stops after the two zero blocks; Python pads to 10240 beyond them.
    const last = members.at(-1)!;
    const end = last.offset + Math.ceil(last.size / 512) * 512 + 1024;
    assert.equal(f.uncompressedArchiveSize, end);
    assert.ok(tar.length > end && tar.subarray(end - 1024).every((b) => b === 0));
    const cps = z.zinfo.checkpoints;
    assert.ok(cps.length >= 6, `${cps.length} spans of ${SPAN} in ${tar.length} bytes`);
    assert.equal(f.maxSpanId, cps.length - 1);
    assert.equal(z.zinfo.spanSize, SPAN);
    assert.equal(f.checkpoints.length, 12 + cps.length * PACKED_CHECKPOINT_SIZE);
    // gzip -n writes a 10-byte header; the first block starts right after it.
    assert.deepEqual([cps[0]!.in, cps[0]!.out, cps[0]!.bits], [10, 0, 0]);
    for (const [i, cp] of cps.entries()) {
      const before = tar.subarray(Math.max(0, cp.out - 32768), cp.out);
      assert.ok(
        Buffer.from(cp.window)
          .subarray(32768 - before.length)
          .equals(before),
        `window ${i}`,
      );
      if (i > 0) assert.ok(cp.out - cps[i - 1]!.out > SPAN, `span ${i} is more than SPAN`);
      const endIn = cps[i + 1]?.in ?? blob.length;
      assert.equal(f.spanDigests[i], sha256(blob.subarray(spanStart(cp), endIn)), `digest ${i}`);
    }
    // The same checkpoints read back from the bytes, little-endian as gzip_zinfo.c lays them.
    const raw = Buffer.from(f.checkpoints);
    assert.equal(raw.readInt32LE(0), cps.length);
    assert.equal(Number(raw.readBigInt64LE(4)), SPAN);
    assert.deepEqual(
      decodeGzipZinfo(raw).checkpoints.map((c) => c.in),
      cps.map((c) => c.in),
    );
  });

  it('writes the FlatBuffers tables as soci writes them (defaults left out)', () => {
    const bb = new ByteBuffer(built.bytes);
    const root = bb.readInt32(0);
    const vtable = root - bb.readInt32(root);
    assert.equal(bb.readInt16(vtable), 4 + 2 * 6, 'Ztoc has its six fields');
    const infoField = bb.__offset(root, 4 + 2 * 5);
    const info = bb.__indirect(root + infoField);
    const infoVtable = info - bb.readInt32(info);
    assert.equal(bb.__offset(info, 4), 0, 'compression_algorithm = Gzip, the default: absent');
    assert.ok(bb.readInt16(infoVtable) >= 4 + 2 * 4);
    assert.ok(bb.__offset(info, 4 + 2 * 1) > 0, 'max_span_id written');
  });

  it('refuses a span whose bytes do not match its digest, and a cut zTOC', async () => {
    const bad = Buffer.from(blob);
    const at = spanStart(z.zinfo.checkpoints[2]!) + 100;
    bad[at] = bad[at]! ^ 0xff;
    const m = members.find((x) => x.offset > z.zinfo.checkpoints[2]!.out && x.type === 'reg')!;
    await assert.rejects(
      readZtocRange(z, m.offset, m.size, async (s, e) => bad.subarray(s, e), 'layer'),
      (err) => isOcipeekError(err) && /span \d+ does not match its digest/.test(err.message),
    );
    assert.throws(
      () => parseZtoc(built.bytes.subarray(0, built.bytes.length - 40000), 'layer'),
      (err) => isOcipeekError(err) && /zTOC/.test(err.message),
    );
  });

  it('puts a checkpoint at each gzip member, and reads across members', async () => {
    // The tar cut in the middle of a file, each half its own gzip member.
    const cut = members.find((m) => m.name.endsWith('text-3.txt'))!.offset + 12345;
    const multi = Buffer.concat([gzipSync(tar.subarray(0, cut)), gzipSync(tar.subarray(cut))]);
    assert.ok(gunzipSync(multi).equals(tar));
    const file = join(dir.path, 'multi.tar.gz');
    await writeFile(file, multi);
    const m = await build(file);
    const mz = parseZtoc(m.bytes, 'multi');
    assert.ok(
      mz.zinfo.checkpoints.some((c) => c.out === cut),
      'a checkpoint at the member',
    );
    for (const x of members.filter((y) => y.type === 'reg')) {
      const got = await readZtocRange(
        mz,
        x.offset,
        x.size,
        async (s, e) => multi.subarray(s, e),
        'multi',
      );
      assert.ok(got.equals(tar.subarray(x.offset, x.offset + x.size)), x.name);
    }
  });
});
