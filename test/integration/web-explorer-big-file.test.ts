import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';
import { encodeTarHeader } from '../../src/tar/index.js';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH } from '../harness/run-cli.js';
import { stopChild } from '../harness/stop-child.js';

/*
 * The "a file viewer request for a 2 GiB file streams and never loads it whole":
 * a 2 GiB file (zeros, so its gzip layer is ~2 MB and the test stays quick) downloaded
 * through `ocipeek ui` in a process of its own, whose peak RSS is then read from /proc.
 */

const SIZE = 2 * 1024 * 1024 * 1024;
const PIECE = Buffer.alloc(1024 * 1024);

/** A gzip layer holding `data/huge.bin` of SIZE zeros, its diff_id, and the file's sha256. */
async function hugeLayer(): Promise<{ blob: Buffer; diffId: string; fileSha: string }> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  const tarSha = createHash('sha256');
  const fileSha = createHash('sha256');
  const write = async (b: Buffer) => {
    tarSha.update(b);
    if (!gzip.write(b)) await new Promise((r) => gzip.once('drain', r));
  };
  const owner = { uid: 0, gid: 0, mtime: 0 };
  await write(encodeTarHeader({ ...owner, path: 'data/', type: 'dir', size: 0, mode: 0o755 }));
  await write(
    encodeTarHeader({ ...owner, path: 'data/huge.bin', type: 'file', size: SIZE, mode: 0o644 }),
  );
  for (let done = 0; done < SIZE; done += PIECE.length) {
    fileSha.update(PIECE);
    await write(PIECE);
  }
  await write(Buffer.alloc(1024)); // the end of the archive (SIZE is a whole number of blocks)
  gzip.end();
  await ended;
  return {
    blob: Buffer.concat(parts),
    diffId: `sha256:${tarSha.digest('hex')}`,
    fileSha: fileSha.digest('hex'),
  };
}

/** The peak resident set of process `pid`, in bytes (VmHWM). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status);
  assert.ok(kb, status);
  return Number(kb[1]) * 1024;
}

describe('web explorer: a 2 GiB file streams', { timeout: 900_000 }, () => {
  let reg: RunningRegistry;
  let dir: TempDir;
  let ref: string;
  let fileSha: string;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('web-explorer-big');
    const layer = await hugeLayer();
    fileSha = layer.fileSha;
    const w = new LayoutWriter(join(dir.path, 'layout'));
    const blob = await w.writeBlob(layer.blob);
    const config = await w.writeJson(
      {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const { bytes: _bytes, ...configDescriptor } = config;
    const { descriptor } = await w.writeManifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob }],
    });
    w.addToIndex(descriptor, 'v1');
    await w.finish();
    await pushLayout(w.dir, 'v1', reg, 'ui/huge:v1');
    ref = `${reg.host}/ui/huge:v1`;
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('a download of the whole file has its bytes, and the explorer stays far below its size', async (t) => {
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'ui', ref, '--store', join(dir.path, 'store')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ocipeek ui: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
      });
      const r = await fetch(`${url}/raw/${ref}/data/huge.bin`);
      assert.equal(r.status, 200, err);
      assert.equal(r.headers.get('content-length'), String(SIZE));
      const sha = createHash('sha256');
      let got = 0;
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        sha.update(chunk);
        got += chunk.length;
      }
      assert.equal(got, SIZE);
      assert.equal(sha.digest('hex'), fileSha, 'the bytes of the file');
      const peak = await peakRss(child.pid!);
      t.diagnostic(
        `explorer peak RSS: ${Math.round(peak / 2 ** 20)} MiB for a ${SIZE / 2 ** 30} GiB file`,
      );
      // Loaded whole, the file alone would be 2 GiB; streamed, the process stays near its
      // start-up size (~100 MB). 512 MiB leaves room for a busy machine's slower GC.
      assert.ok(peak < 512 * 1024 * 1024, `explorer peak RSS ${peak} bytes`);
    } finally {
      await stopChild(child, 'SIGINT');
    }
  });
});
