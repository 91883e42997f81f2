import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeFd, seqpacketPair } from '../../src/native/socket.js';
import { hostPlatform, platformEquals } from '../../src/platform/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { startImageProxy } from '../../src/server/proxy/index.js';
import type { BuiltImage } from '../harness/index.js';
import { faults, match, startFaultProxyFor, tempDir, times } from '../harness/index.js';
import {
  type Entry,
  OCIPEEK_PROXY,
  type ProxyImages,
  proxyImages,
  type Reply,
  runJsonClient,
  type ScriptStep,
  SKOPEO_PROXY,
  signedProxyPolicy,
} from './image-proxy-fixture.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const img = { $: 'img' };

/** The requests every image gets: manifest, both configs, every blob, close. */
function imageSteps(ref: string, image: BuiltImage): ScriptStep[] {
  const blobs = [image.configDescriptor, ...image.layers];
  return [
    { call: 'OpenImage', args: [ref], as: 'img' },
    { call: 'GetManifest', args: [img] },
    { call: 'GetConfig', args: [img] },
    { call: 'GetFullConfig', args: [img] },
    ...blobs.map((b) => ({ call: 'GetBlob', args: [img, b.digest, b.size] })),
    { call: 'CloseImage', args: [img] },
  ];
}

/** What must match between skopeo and ocipeek: everything but the version and pipe numbers. */
function comparable(entry: Entry): Entry {
  const out: Entry = structuredClone(entry);
  for (const key of ['reply', 'finish'] as const) {
    const reply = out[key] as Reply | undefined;
    if (!reply) continue;
    delete reply.error_code; // protocol 0.2.8 added it; skopeo 1.9.3 speaks 0.2.3
    reply.pipeid = reply.pipeid !== 0;
    if (reply.value === '0.2.3' || reply.value === '0.2.8') reply.value = 'the protocol version';
  }
  if (out.pipeline) out.pipeline = out.pipeline.map(comparable);
  return out;
}

function assertSameTranscripts(skopeo: Entry[], ours: Entry[], loose: Set<number>) {
  assert.equal(ours.length, skopeo.length);
  skopeo.forEach((theirs, i) => {
    const a = comparable(theirs);
    const b = comparable(ours[i]!);
    if (loose.has(i)) {
      // Malformed and over-long requests: Go's JSON errors have their own words.
      assert.equal(b.reply.success, false);
      assert.equal(a.reply.success, false);
      assert.match(b.reply.error, /^invalid request: /);
      return;
    }
    assert.deepEqual(b, a, `step ${i}: ${JSON.stringify(theirs).slice(0, 300)}`);
  });
}

describe('experimental-image-proxy: the JSON protocol, against skopeo 1.9.3', () => {
  let images: ProxyImages;
  before(async () => {
    images = await proxyImages();
  });
  after(async () => {
    await images?.close();
  });

  it('answers every request as skopeo does (OCI, Docker schema 2, index, zstd; registry and layout)', async () => {
    const host = images.index.images.find((i) =>
      platformEquals(i.descriptor.platform!, hostPlatform()),
    )!;
    const big = 'x'.repeat(32 * 1024 - '{"method":"Initialize","args":[]}'.length);
    const steps: ScriptStep[] = [
      { call: 'OpenImage', args: [images.ref('oci')] },
      { call: 'Initialize' },
      { call: 'Initialize', args: [1] },
      { call: 'Initialize' },
      ...imageSteps(images.ref('oci'), images.oci),
      ...imageSteps(images.ref('docker'), images.docker),
      ...imageSteps(images.ref('index'), host),
      ...imageSteps(images.ref('zstd'), images.zstd),
      ...imageSteps(`oci:${images.layout}:oci`, images.oci),
      ...imageSteps(`oci:${images.layout}:index`, host),
      { call: 'OpenImage', args: [] },
      { call: 'OpenImage', args: [5] },
      { call: 'OpenImage', args: ['nocolon'] },
      { call: 'OpenImage', args: ['bogus:thing'] },
      { call: 'OpenImage', args: [images.ref('oci')], as: 'img' },
      { call: 'GetManifest', args: [] },
      { call: 'GetManifest', args: ['1'] },
      { call: 'GetManifest', args: [true] },
      { call: 'GetManifest', args: [null] },
      { call: 'GetManifest', args: [[1]] },
      { call: 'GetManifest', args: [{}] },
      { call: 'GetManifest', args: [999] },
      { call: 'GetConfig', args: [] },
      { call: 'GetFullConfig', args: [img, 2] },
      { call: 'GetBlob', args: [img] },
      { call: 'GetBlob', args: [img, 5, 1] },
      { call: 'GetBlob', args: [img, 'sha256:abc', 'x'] },
      { call: 'GetBlob', args: [img, 'sha256:abc', 2 ** 60] },
      { call: 'GetBlob', args: [img, 'sha256:abc', 10] },
      { call: 'GetBlob', args: [img, 'md5:abc', 10] },
      { call: 'GetBlob', args: [img, 'nodigest', 10] },
      { call: 'GetBlob', args: [img, `sha256:${'A'.repeat(64)}`, 10] },
      { call: 'CloseImage', args: [] },
      { call: 'FinishPipe', args: [99] },
      { call: 'FinishPipe', args: ['x'] },
      { call: 'NoSuchMethod', args: [] },
      { raw: '{"method": 5}' },
      { raw: '{"args": "x", "method": "GetManifest"}' },
      { raw: '[1]' },
      { raw: '{"Method": "Initialize", "ARGS": []}' },
      { raw: `{"method":"Initialize","args":[]}${' '.repeat(big.length)}` },
      { raw: '{bad' },
      { raw_size: 40_000 },
      { call: 'CloseImage', args: [img] },
      { shutdown: true },
    ];
    const loose = new Set([steps.length - 4, steps.length - 3]);
    const [skopeo, ours] = await Promise.all([
      runJsonClient(steps, { command: SKOPEO_PROXY }),
      runJsonClient(steps, { command: OCIPEEK_PROXY }),
    ]);
    assertSameTranscripts(skopeo, ours, loose);

    // And both are right, not merely alike.
    const replies = ours;
    const manifestOf = (from: number) => replies[from + 1]!;
    let at = 4;
    for (const image of [images.oci, images.docker, host, images.zstd, images.oci, host]) {
      const manifest = manifestOf(at);
      assert.equal(manifest.reply.value, image.descriptor.digest, 'the original manifest digest');
      const oci = JSON.parse(manifest.data.text!);
      assert.equal(oci.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      const full = replies[at + 3]!.data.text as string;
      if (image === images.docker) {
        assert.equal(oci.config.digest, `sha256:${sha(full)}`, 'converted config named by digest');
        assert.deepEqual(
          oci.layers.map((l: { mediaType: string }) => l.mediaType),
          [
            'application/vnd.oci.image.layer.v1.tar+gzip',
            'application/vnd.oci.image.layer.v1.tar+gzip',
          ],
        );
        assert.equal(JSON.parse(full).container_config, undefined, 'Docker-only fields dropped');
        assert.match(full, /"created":"2023-06-01T10:20:30\.12Z"/);
        assert.match(full, /\\u003c\/script\\u003e/);
      } else {
        assert.equal(manifest.data.sha256, image.descriptor.digest.slice(7), 'OCI bytes as stored');
      }
      const blobs = [image.configDescriptor, ...image.layers];
      blobs.forEach((b, j) => {
        const got = replies[at + 4 + j]!;
        assert.equal(got.reply.value, b.size);
        assert.equal(got.data.sha256, b.digest.slice(7));
        assert.equal(got.finish.success, true);
      });
      at += 5 + blobs.length;
    }
    const errors = replies.filter((r) => r.reply && !r.reply.success);
    assert.ok(errors.length >= 25);
    for (const e of errors) assert.equal(e.reply.error_code, 'other');
    assert.deepEqual(replies.at(-1), { shutdown: 0, after: null });
  });

  it('serves pipes concurrently and pipelined, closes on early close, reports corruption at FinishPipe', async () => {
    const bigLayer = images.big.layers[0]!;
    const fault = await startFaultProxyFor(images.registry, {
      onRequest: times(100, match.pathIncludes(bigLayer.digest), faults.corruptByteAt(100_000)),
    });
    try {
      const corrupt = `docker://${fault.host}/proxy/big:v1`;
      const layers = images.oci.layers;
      const steps: ScriptStep[] = [
        { call: 'Initialize' },
        {
          pipeline: [
            { call: 'OpenImage', args: [images.ref('big')] },
            { call: 'OpenImage', args: [images.ref('oci')] },
            { call: 'GetBlob', args: [1, bigLayer.digest, bigLayer.size] },
            { call: 'GetBlob', args: [2, layers[0]!.digest, layers[0]!.size] },
            { call: 'GetManifest', args: [2] },
            { call: 'GetBlob', args: [2, layers[1]!.digest, layers[1]!.size] },
          ],
        },
        {
          call: 'GetBlob',
          args: [1, bigLayer.digest, bigLayer.size],
          pipe: { read: 100, close: true },
        },
        { call: 'GetBlob', args: [1, bigLayer.digest, bigLayer.size + 1] },
        { call: 'GetManifest', args: [1] },
        { call: 'OpenImage', args: [corrupt], as: 'img' },
        { call: 'GetBlob', args: [img, bigLayer.digest, bigLayer.size] },
        { eof: true },
      ];
      const [skopeo, ours] = await Promise.all([
        runJsonClient(steps, { command: SKOPEO_PROXY }),
        runJsonClient(steps, { command: [...OCIPEEK_PROXY, '--sockfd', '{fd}'], passFd: true }),
      ]);
      assertSameTranscripts(skopeo, ours, new Set());
      const o = ours;
      const pipelined = o[1]!.pipeline;
      assert.deepEqual(
        pipelined.map((e) => e.reply.success),
        [true, true, true, true, true, true],
      );
      assert.equal(pipelined[2]!.data.sha256, bigLayer.digest.slice(7));
      assert.equal(pipelined[5]!.data.sha256, layers[1]!.digest.slice(7));
      assert.deepEqual(o[2]!.finish, {
        success: false,
        value: null,
        pipeid: 0,
        error_code: 'EPIPE',
        error: 'write |1: broken pipe',
      });
      assert.equal(o[3]!.data.sha256, bigLayer.digest.slice(7), 'the whole blob still streams');
      assert.equal(
        o[3]!.finish.error,
        `expected ${bigLayer.size + 1} bytes in blob, got ${bigLayer.size}`,
      );
      assert.equal(o[4]!.reply.success, true, 'the proxy works on after failed pipes');
      assert.equal(o[6]!.data.len, bigLayer.size);
      assert.notEqual(o[6]!.data.sha256, bigLayer.digest.slice(7));
      assert.equal(o[6]!.finish.error, `corrupted blob, expecting ${bigLayer.digest}`);
      assert.deepEqual(o.at(-1), { eof: 0 });
    } finally {
      await fault.close();
    }
  });

  it('has the methods of protocol 0.2.8 that skopeo 1.9.3 lacks', async () => {
    const layers = images.docker.layers;
    const steps: ScriptStep[] = [
      { call: 'Initialize' },
      {
        call: 'OpenImageOptional',
        args: [`docker://${images.registry.host}/proxy/docker:missing`],
      },
      { call: 'OpenImageOptional', args: [images.ref('docker')], as: 'img' },
      { call: 'GetLayerInfo', args: [img] },
      { call: 'GetLayerInfoPiped', args: [img] },
      { call: 'GetLayerInfo', args: [] },
      { call: 'GetRawBlob', args: [img, layers[1]!.digest] },
      { call: 'GetRawBlob', args: [img] },
      { call: 'OpenImage', args: [`docker://${images.registry.host}/proxy/docker:missing`] },
      { raw: '{"method":"Initialize","args":[]}' },
      { shutdown: true },
    ];
    const o = await runJsonClient(steps, { command: OCIPEEK_PROXY });
    assert.deepEqual(Object.keys(o[0]!.reply), [
      'success',
      'value',
      'pipeid',
      'error_code',
      'error',
    ]);
    assert.deepEqual(o[0]!.reply, {
      success: true,
      value: '0.2.8',
      pipeid: 0,
      error_code: '',
      error: '',
    });
    assert.deepEqual(o[1]!.reply, {
      success: true,
      value: 0,
      pipeid: 0,
      error_code: '',
      error: '',
    });
    assert.equal(o[2]!.reply.value, 1);
    const info = layers.map((l) => ({ digest: l.digest, size: l.size, media_type: l.mediaType }));
    assert.deepEqual(o[3]!.reply.value, info, 'media types as stored (Docker)');
    assert.equal(o[4]!.reply.value, null);
    assert.deepEqual(JSON.parse(o[4]!.data.text!), info);
    assert.equal(o[4]!.finish.success, true);
    assert.equal(o[5]!.reply.error, 'found 0 args, expecting (imgid)');
    assert.equal(o[6]!.reply.value, layers[1]!.size);
    assert.equal(o[6]!.reply.pipeid, 0, 'GetRawBlob uses no FinishPipe');
    assert.equal(o[6]!.fds, 2);
    assert.equal(o[6]!.data.sha256, layers[1]!.digest.slice(7));
    assert.equal(o[6]!.errors.len, 0);
    assert.equal(o[7]!.reply.error, 'found 1 args, expecting (imgid, digest)');
    assert.equal(o[8]!.reply.success, false);
    assert.match(o[8]!.reply.error, /not found|unknown/i);
    assert.equal(o[9]!.reply.error, 'already initialized');
    assert.deepEqual(o[10], { shutdown: 0, after: null });
  });

  it("enforces policy.json: OpenImage of an unsigned image fails with the policy's reason; a signed one opens", async () => {
    // skopeo 1.9.3's proxy opens both (it checks no policy there); ocipeek enforces the
    // policy on every way an image comes in, the proxy included.
    const policy = await signedProxyPolicy(images);
    const steps: ScriptStep[] = [
      { call: 'Initialize' },
      { call: 'OpenImage', args: [images.ref('docker')] },
      { call: 'OpenImageOptional', args: [images.ref('docker')] },
      { call: 'OpenImage', args: [images.ref('oci')], as: 'img' },
      { call: 'GetManifest', args: [img] },
      { call: 'CloseImage', args: [img] },
      { shutdown: true },
    ];
    const o = await runJsonClient(steps, { command: [...OCIPEEK_PROXY, ...policy.flags] });
    for (const refused of [o[1]!, o[2]!]) {
      assert.equal(refused.reply.success, false);
      assert.equal(refused.reply.error_code, 'other');
      assert.ok(refused.reply.error.startsWith(policy.refusal), refused.reply.error);
    }
    assert.equal(o[3]!.reply.success, true, o[3]!.reply.error);
    assert.equal(o[4]!.reply.value, images.oci.descriptor.digest);
    assert.equal(o[4]!.data.sha256, images.oci.descriptor.digest.slice(7));
    assert.equal(o[4]!.finish.success, true);
    assert.deepEqual(o[6], { shutdown: 0, after: null });
  });

  it('runs other requests while FinishPipe waits for its pipe', async () => {
    const fault = await startFaultProxyFor(images.registry);
    const dir = await tempDir('finish-pipe');
    try {
      const bigLayer = images.big.layers[0]!;
      const signal = join(dir.path, 'go');
      const steps: ScriptStep[] = [
        { call: 'Initialize' },
        { call: 'OpenImage', args: [`docker://${fault.host}/proxy/big:v1`] },
        { call: 'GetBlob', args: [1, bigLayer.digest, bigLayer.size], hold: 'held' },
        {
          pipeline: [
            { call: 'FinishPipe', args: [{ $: 'held' }] },
            { call: 'OpenImage', args: [`docker://${fault.host}/proxy/zstd:v1`] },
          ],
          wait_file: signal,
          read_held: ['held'],
        },
        { shutdown: true },
      ];
      const client = runJsonClient(steps, { command: OCIPEEK_PROXY });
      // The held pipe is full and unread, its FinishPipe pending: the next OpenImage must
      // still reach the registry. Only then does the client drain the pipe.
      const seen = await waitFor(() =>
        fault.log.some((e) => e.url.includes('/proxy/zstd/manifests/')),
      );
      await writeFile(signal, '');
      const o = await client;
      assert.ok(seen, 'OpenImage ran while FinishPipe waited');
      const [finish, opened] = o[3]!.pipeline;
      assert.deepEqual([finish!.reply.success, opened!.reply.value], [true, 2]);
      assert.equal(o[3]!.held[0]!.sha256, bigLayer.digest.slice(7));
    } finally {
      await fault.close();
      await dir.remove();
    }
  });

  it('in process: a stalled upstream ends in an error at FinishPipe, not a hang', async () => {
    const bigLayer = images.big.layers[0]!;
    const fault = await startFaultProxyFor(images.registry, {
      onRequest: times(100, match.pathIncludes(bigLayer.digest), faults.stallAfterBytes(1000)),
    });
    const client = new RegistryClient({ bodyTimeoutMs: 300, retry: { retries: 0 } });
    const [ours, theirs] = seqpacketPair();
    const proxy = startImageProxy({ protocol: 'json', fd: ours, client });
    try {
      const steps: ScriptStep[] = [
        { call: 'Initialize' },
        { call: 'OpenImage', args: [`docker://${fault.host}/proxy/big:v1`] },
        { call: 'GetBlob', args: [1, bigLayer.digest, bigLayer.size] },
        { shutdown: true },
      ];
      const o = await runJsonClient(steps, { stdin: theirs }).finally(() => closeFd(theirs));
      assert.equal(o[2]!.reply.success, true);
      assert.ok(o[2]!.data.len < bigLayer.size);
      assert.equal(o[2]!.finish.success, false);
      assert.match(o[2]!.finish.error, /stall|closed|timed out/i);
      assert.equal(o[2]!.finish.error_code, 'retryable');
      assert.equal(await proxy.done, 'shutdown');
    } finally {
      await proxy.close();
      await client.close();
      await fault.close();
    }
  });
});

async function waitFor(test: () => boolean, ms = 60_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
