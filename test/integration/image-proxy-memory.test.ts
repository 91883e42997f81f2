import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  pushLayout,
  type RunningRegistry,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH } from '../harness/run-cli.js';
import { OCIPEEK_PROXY, PROXY_ENV, runJsonClient } from './image-proxy-fixture.js';

const GIB = 1024 * 1024 * 1024;
/** The bound the proxy must stay under (peak RSS of the proxy process). */
const LIMIT_KB = 200 * 1024;

/** An OCI layout holding one image with a 1 GiB layer, written 1 MiB at a time. */
async function gibImage(dir: string): Promise<{ digest: string }> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  const hash = createHash('sha256');
  const temp = join(blobs, 'partial');
  const out = createWriteStream(temp);
  for (let i = 0; i < GIB / chunk.length; i++) {
    chunk.writeUInt32LE(i, 0); // every MiB different
    hash.update(chunk);
    if (!out.write(Buffer.from(chunk)))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(temp, join(blobs, digest.slice(7)));
  const put = async (value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const config = await put({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const manifest = await put({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: GIB }],
  });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'big' },
        },
      ],
    }),
  );
  return { digest };
}

/** Peak resident memory of process `pid` so far, in kB. */
async function peakRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
}

describe('the image proxy streams a 1 GiB layer in bounded memory', () => {
  let dir: TempDir;
  let registry: RunningRegistry;
  let digest: string;
  let ref: string;
  before(async () => {
    dir = await tempDir('proxy-gib');
    ({ digest } = await gibImage(join(dir.path, 'layout')));
    registry = await startRegistry();
    await pushLayout(join(dir.path, 'layout'), 'big', registry, 'proxy/gib:v1');
    ref = `docker://${registry.host}/proxy/gib:v1`;
  });
  after(async () => {
    await registry?.stop();
    await dir?.remove();
  });

  it('through the JSON protocol', async () => {
    const o = await runJsonClient(
      [
        { call: 'Initialize' },
        { call: 'OpenImage', args: [ref] },
        { call: 'GetBlob', args: [1, digest, GIB] },
        { peak_rss: true },
        { shutdown: true },
      ],
      { command: OCIPEEK_PROXY },
    );
    assert.deepEqual(o[2]!.data, { len: GIB, sha256: digest.slice(7) });
    assert.equal(o[2]!.finish.success, true);
    assert.ok(o[3]!.peak_rss_kb < LIMIT_KB, `peak RSS ${o[3]!.peak_rss_kb} kB`);
  });

  it('through the HTTP protocol', async () => {
    const child = spawn(process.execPath, [CLI_PATH, 'proxy', '--sockfd=3', ref], {
      env: PROXY_ENV,
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const connection = child.stdio[3] as Duplex;
    const hash = createHash('sha256');
    let head: Buffer | undefined = Buffer.alloc(0);
    let body = 0;
    const done = new Promise<void>((resolve) => {
      connection.on('data', (chunk: Buffer) => {
        if (body >= GIB) return; // the reply to /quit
        if (head) {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          assert.match(
            head.subarray(0, end).toString(),
            /^HTTP\/1\.1 200 .*content-length: 1073741824/is,
          );
          chunk = head.subarray(end + 4);
          head = undefined;
        }
        body += chunk.length;
        hash.update(chunk);
        if (body >= GIB) resolve();
      });
    });
    connection.write(`GET /blobs/${digest} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await done;
    const peak = await peakRssKb(child.pid!);
    connection.write('POST /quit HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
    assert.equal(await exited, 0);
    assert.equal(body, GIB);
    assert.equal(`sha256:${hash.digest('hex')}`, digest);
    assert.ok(peak < LIMIT_KB, `peak RSS ${peak} kB`);
  });
});
