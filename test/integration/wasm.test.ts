import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOcipeekError } from '../../src/errors/index.js';
import type { Descriptor, Platform } from '../../src/media/index.js';
import { parsePlatform } from '../../src/platform/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { inspectWasm, pullWasm, pushWasm, type WasmSignal } from '../../src/wasm/index.js';
import {
  type FaultProxy,
  inspectRaw,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  SkopeoError,
  skopeo,
  startFaultProxyFor,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { EMPTY_COMPONENT, MODULE_WITH_TYPE } from '../unit/wasm/wasm-binaries.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';
const TITLE = 'org.opencontainers.image.title';

const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { validate(bytes: Uint8Array): boolean };
};
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface HandArtifact {
  artifactType?: string;
  configMediaType: string;
  config: unknown;
  layers: { mediaType: string; bytes: Buffer; annotations?: Record<string, string> }[];
}

/** Write a single-manifest artifact into a layout by hand; returns its descriptor. */
async function writeArtifact(w: LayoutWriter, a: HandArtifact): Promise<Descriptor> {
  const { bytes: _c, ...config } = await w.writeJson(a.config, a.configMediaType);
  const layers: Descriptor[] = [];
  for (const l of a.layers) {
    const { digest, size } = await w.writeBlob(l.bytes);
    layers.push({
      mediaType: l.mediaType,
      digest,
      size,
      ...(l.annotations ? { annotations: l.annotations } : {}),
    });
  }
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_MANIFEST };
  if (a.artifactType) manifest.artifactType = a.artifactType;
  manifest.config = config;
  manifest.layers = layers;
  return (await w.writeManifest(manifest)).descriptor;
}

describe('wasm artifacts against a real registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let dir: TempDir;
  let client: RegistryClient;

  /** Push a hand-written layout entry with skopeo (digests preserved). */
  async function publish(name: string, build: (w: LayoutWriter) => Promise<Descriptor>) {
    const layout = join(dir.path, `layout-${name}`);
    const w = new LayoutWriter(layout);
    const desc = await build(w);
    w.addToIndex(desc, 'v1');
    await w.finish();
    await pushLayout(layout, 'v1', reg, `hand/${name}:v1`, { method: 'skopeo' });
    return desc;
  }

  function layerRequests(digest: string) {
    return proxy.log.filter((e) => e.method === 'GET' && e.url.endsWith(`/blobs/${digest}`));
  }

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxyFor(reg);
    dir = await tempDir('wasm');
    client = new RegistryClient();
  });

  after(async () => {
    await client.close();
    await proxy.close();
    await reg.stop();
    await dir.remove();
  });

  describe('ocipeek wasm push', () => {
    let digest: string;
    const file = () => join(dir.path, 'hello.wasm');

    before(async () => {
      await writeFile(file(), MODULE_WITH_TYPE);
      const r = await runCli([
        'wasm',
        'push',
        file(),
        `${reg.host}/wasm/hello:1`,
        '--annotation',
        'org.opencontainers.image.source=https://example.test/hello',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const m = /^(.+)@(sha256:[0-9a-f]{64})\n$/.exec(r.out);
      assert.ok(m, r.out);
      assert.equal(m[1], `${reg.host}/wasm/hello`);
      digest = m[2]!;
    });

    it('publishes a standard OCI artifact that skopeo inspect --raw returns byte for byte', async () => {
      const raw = await inspectRaw(reg, 'wasm/hello:1');
      assert.equal(sha256(raw), digest);
      const served = await client.getManifest(`${reg.host}/wasm/hello:1`);
      assert.ok(served.bytes.equals(raw));
      const m = JSON.parse(raw.toString());
      assert.equal(m.mediaType, OCI_MANIFEST);
      assert.equal(m.artifactType, 'application/vnd.wasm.module.v1+wasm');
      assert.equal(m.config.mediaType, 'application/vnd.wasm.config.v0+json');
      assert.deepEqual(m.layers, [
        {
          mediaType: 'application/wasm',
          digest: sha256(MODULE_WITH_TYPE),
          size: MODULE_WITH_TYPE.length,
          annotations: { [TITLE]: 'hello.wasm' },
        },
      ]);
      assert.deepEqual(m.annotations, {
        'org.opencontainers.image.source': 'https://example.test/hello',
      });
      const config = JSON.parse(
        (await client.readBlob(`${reg.host}/wasm/hello`, m.config)).toString(),
      );
      assert.equal(config.architecture, 'wasm');
      assert.equal(config.os, 'wasip1');
      assert.deepEqual(config.layerDigests, [sha256(MODULE_WITH_TYPE)]);
      assert.ok(!Number.isNaN(Date.parse(config.created)));
      assert.equal(config.component, undefined);
    });

    it('skopeo 1.9.3: plain inspect refuses the non-image config, copy to oci: works', async () => {
      await assert.rejects(
        skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/wasm/hello:1`]),
        (err: unknown) =>
          err instanceof SkopeoError &&
          err.stderr.includes(
            'unsupported image-specific operation on artifact with type \\"application/vnd.wasm.config.v0+json\\"',
          ),
      );
      const out = join(dir.path, 'skopeo-copy');
      await skopeo([
        '--insecure-policy',
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${reg.host}/wasm/hello:1`,
        `oci:${out}:copied`,
      ]);
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, digest, 'skopeo kept the manifest unchanged');
      const blob = await readFile(join(out, 'blobs', 'sha256', sha256(MODULE_WITH_TYPE).slice(7)));
      assert.ok(blob.equals(MODULE_WITH_TYPE));
    });

    it('ocipeek wasm REF --json reads the manifest and config only', async () => {
      proxy.resetLog();
      const r = await runCli(['wasm', `${proxy.host}/wasm/hello:1`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.out), {
        kind: 'wasm',
        wasiVersion: 'preview1',
        signal: 'artifactType',
        layerDigest: sha256(MODULE_WITH_TYPE),
        size: MODULE_WITH_TYPE.length,
        moduleName: 'hello.wasm',
        annotations: {
          'org.opencontainers.image.source': 'https://example.test/hello',
          [TITLE]: 'hello.wasm',
        },
      });
      assert.equal(layerRequests(sha256(MODULE_WITH_TYPE)).length, 0, 'no layer blob fetched');
      assert.ok(proxy.log.some((e) => e.url.includes('/manifests/1')));
      assert.equal(proxy.log.filter((e) => e.url.includes('/blobs/')).length, 1, 'config only');
    });

    it('prints a human summary', async () => {
      const r = await runCli(['wasm', `${reg.host}/wasm/hello:1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.out, /Kind:\s+wasm/);
      assert.match(r.out, /WASI:\s+preview1 \(wasm32-wasip1\)/);
      assert.match(r.out, /Module:\s+hello\.wasm/);
      assert.ok(r.out.includes(`Digest:       ${digest}`), r.out);
    });

    it('ocipeek wasm REF -o FILE writes the exact verified bytes', async () => {
      proxy.resetLog();
      const out = join(dir.path, 'out-hello.wasm');
      const r = await runCli(['wasm', `${proxy.host}/wasm/hello:1`, '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      const written = await readFile(out);
      assert.ok(written.equals(MODULE_WITH_TYPE));
      assert.equal(WebAssembly.validate(written), true);
      assert.equal(layerRequests(sha256(MODULE_WITH_TYPE)).length, 1);
    });

    it('publishes a component with artifactType component and a wasip2 config', async () => {
      const comp = join(dir.path, 'comp.wasm');
      await writeFile(comp, EMPTY_COMPONENT);
      const r = await runCli(['wasm', 'push', comp, `${reg.host}/wasm/comp:2`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const pushed = JSON.parse(r.out);
      assert.equal(pushed.artifactType, 'application/vnd.wasm.component.v1+wasm');
      assert.equal(pushed.kind, 'component');
      assert.equal(sha256(await inspectRaw(reg, 'wasm/comp:2')), pushed.digest);
      const info = await inspectWasm(`${reg.host}/wasm/comp:2`, { client });
      assert.deepEqual(info.type, {
        kind: 'wasm',
        wasiVersion: 'preview2',
        signal: 'artifactType',
      });
      assert.deepEqual(info.config, {
        ...(info.config as object),
        architecture: 'wasm',
        os: 'wasip2',
        layerDigests: [sha256(EMPTY_COMPONENT)],
        component: { imports: [], exports: [] },
      });
      const pulled = await pullWasm(`${reg.host}/wasm/comp:2`, { client });
      assert.ok(pulled.bytes.equals(EMPTY_COMPONENT));
      assert.equal(pulled.header.kind, 'component');
    });

    it('pushWasm (library) from bytes round-trips through pullWasm', async () => {
      const pushed = await pushWasm(MODULE_WITH_TYPE, `${reg.host}/wasm/lib:1`, {
        client,
        title: 'lib.wasm',
        created: '2024-01-01T00:00:00Z',
      });
      const pulled = await pullWasm(`${reg.host}/wasm/lib:1`, { client });
      assert.ok(pulled.bytes.equals(MODULE_WITH_TYPE));
      assert.equal(pulled.inspection.manifestDigest, pushed.manifestDigest);
      assert.equal(pulled.info.moduleName, 'lib.wasm');
    });

    it('refuses to push a file that is not wasm, and publishes nothing', async () => {
      const bad = join(dir.path, 'script.sh');
      await writeFile(bad, '#!/bin/sh\necho hi\n');
      const r = await runCli(['wasm', 'push', bad, `${reg.host}/wasm/bad:1`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not WebAssembly/);
      await assert.rejects(client.getManifest(`${reg.host}/wasm/bad:1`), (e: unknown) =>
        isOcipeekError(e, 'ERR_NOT_FOUND'),
      );
    });
  });

  describe('each detection signal, published with skopeo from hand-written layouts', () => {
    interface Case {
      name: string;
      signal: WasmSignal;
      /** What detection alone says. */
      detected: 'preview1' | 'preview2' | 'unknown';
      /** What the binary says once pulled. */
      pulled: 'preview1' | 'preview2';
      binary: Buffer;
      build: (w: LayoutWriter, binary: Buffer) => Promise<Descriptor>;
      layerDigest?: (binary: Buffer) => string | null;
      moduleName: string;
      platform?: Platform;
    }
    const raw = (binary: Buffer, mediaType = 'application/octet-stream') => ({
      mediaType,
      bytes: binary,
    });
    const cases: Case[] = [
      {
        name: 'artifact-type',
        signal: 'artifactType',
        detected: 'preview2',
        pulled: 'preview2',
        binary: EMPTY_COMPONENT,
        moduleName: 'artifact-type',
        build: (w, b) =>
          writeArtifact(w, {
            artifactType: 'application/vnd.wasm.component.v1+wasm',
            configMediaType: EMPTY_CONFIG,
            config: {},
            layers: [raw(b)],
          }),
      },
      {
        name: 'config-v1',
        signal: 'configMediaType',
        detected: 'unknown',
        pulled: 'preview1',
        binary: MODULE_WITH_TYPE,
        moduleName: 'named-by-config',
        build: (w, b) =>
          writeArtifact(w, {
            configMediaType: 'application/vnd.wasm.config.v1+json',
            config: { name: 'named-by-config' },
            layers: [raw(b)],
          }),
      },
      {
        name: 'content-layer',
        signal: 'layerMediaType',
        detected: 'unknown',
        pulled: 'preview2',
        binary: EMPTY_COMPONENT,
        moduleName: 'c.wasm',
        build: (w, b) =>
          writeArtifact(w, {
            configMediaType: EMPTY_CONFIG,
            config: {},
            layers: [
              {
                mediaType: 'application/vnd.wasm.content.layer.v1+wasm',
                bytes: b,
                annotations: { [TITLE]: 'c.wasm' },
              },
            ],
          }),
      },
      {
        name: 'module-layer',
        signal: 'layerMediaType',
        detected: 'unknown',
        pulled: 'preview1',
        binary: MODULE_WITH_TYPE,
        moduleName: 'module-layer',
        build: (w, b) =>
          writeArtifact(w, {
            configMediaType: EMPTY_CONFIG,
            config: {},
            layers: [raw(b, 'application/vnd.module.wasm.content.layer.v1+wasm')],
          }),
      },
      {
        name: 'index-platform',
        signal: 'platform',
        detected: 'unknown',
        pulled: 'preview1',
        binary: MODULE_WITH_TYPE,
        moduleName: 'index-platform',
        build: async (w, b) => {
          const container = await randomImage(w, {});
          const wasm = await writeArtifact(w, {
            configMediaType: EMPTY_CONFIG,
            config: {},
            layers: [raw(b)],
          });
          const index = {
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [
              container.descriptor,
              { ...wasm, platform: { os: 'wasip1', architecture: 'wasm' } },
            ],
          };
          return (await w.writeManifest(index)).descriptor;
        },
      },
      {
        name: 'runwasi',
        signal: 'platform',
        detected: 'unknown',
        pulled: 'preview1',
        binary: MODULE_WITH_TYPE,
        moduleName: 'app.wasm',
        layerDigest: () => null,
        build: async (w, b) => {
          const img = await randomImage(w, {
            platform: { os: 'wasi', architecture: 'wasm' },
            layerEntries: [[{ path: 'app.wasm', content: b }], [{ path: 'etc/x', content: 'x' }]],
            entrypoint: ['/app.wasm'],
          });
          const { platform: _p, ...desc } = img.descriptor;
          return desc;
        },
      },
    ];

    for (const c of cases) {
      it(`${c.name}: detected by ${c.signal} without the layer, pulled and refined`, async () => {
        await publish(c.name, (w) => c.build(w, c.binary));
        const ref = `${proxy.host}/hand/${c.name}:v1`;
        proxy.resetLog();
        const r = await runCli(['wasm', ref, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const json = JSON.parse(r.out);
        const layerDigest = c.layerDigest ? c.layerDigest(c.binary) : sha256(c.binary);
        assert.equal(json.kind, 'wasm');
        assert.equal(json.signal, c.signal);
        assert.equal(json.wasiVersion, c.detected);
        assert.equal(json.layerDigest, layerDigest);
        assert.equal(json.moduleName, c.moduleName);
        if (layerDigest) {
          assert.equal(json.size, c.binary.length);
          assert.equal(layerRequests(layerDigest).length, 0, 'no layer blob fetched');
        }
        assert.ok(
          proxy.log.every((e) => !e.url.includes('/blobs/') || e.range === undefined),
          'no range peeks either',
        );

        const out = join(dir.path, `${c.name}.wasm`);
        const o = await runCli(['wasm', ref, '-o', out, '--json']);
        assert.equal(o.code, 0, o.stderr);
        assert.ok((await readFile(out)).equals(c.binary));
        assert.equal(JSON.parse(o.out).wasiVersion, c.pulled);

        const pulled = await pullWasm(ref, { client });
        assert.equal(pulled.info.wasiVersion, c.pulled);
        assert.equal(pulled.header.kind, c.pulled === 'preview2' ? 'component' : 'module');
      });
    }

    it('an explicit --platform picks the container entry of a mixed index', async () => {
      const r = await runCli([
        'wasm',
        `${reg.host}/hand/index-platform:v1`,
        '--json',
        '--platform',
        'linux/amd64',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.out).kind, 'container');
    });
  });

  describe('containers are never mistaken for wasm', () => {
    before(async () => {
      await publish('container', async (w) => (await randomImage(w, { layers: 2 })).descriptor);
      await publish(
        'multi',
        async (w) => (await multiPlatformIndex(w, { attestation: true })).descriptor,
      );
    });

    it('a plain image: kind container, null wasm fields, no layer fetched', async () => {
      proxy.resetLog();
      const r = await runCli(['wasm', `${proxy.host}/hand/container:v1`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.out), {
        kind: 'container',
        wasiVersion: null,
        signal: null,
        layerDigest: null,
        size: null,
        moduleName: null,
        annotations: {},
      });
      assert.equal(proxy.log.filter((e) => e.url.includes('/blobs/')).length, 1, 'config only');
    });

    it('every platform of a multi-platform index is a container', async () => {
      for (const p of ['linux/amd64', 'linux/arm64', 'linux/arm/v7']) {
        const info = await inspectWasm(`${reg.host}/hand/multi:v1`, {
          client,
          platform: parsePlatform(p),
        });
        assert.deepEqual(info.type, { kind: 'container' }, p);
        assert.equal(info.info, undefined);
      }
    });

    it('-o on a container fails and writes nothing', async () => {
      const out = join(dir.path, 'container.wasm');
      const r = await runCli(['wasm', `${reg.host}/hand/container:v1`, '-o', out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is a container image, not a wasm artifact/);
      assert.ok(
        !(await readdir(dir.path)).some(
          (f) => f.startsWith('container.wasm') || f.startsWith('.container.wasm'),
        ),
      );
    });
  });

  describe('bad input: a clear error and nothing written', () => {
    const wasmConfig = 'application/vnd.wasm.config.v0+json';
    async function expectFailure(name: string, pattern: RegExp) {
      const out = join(dir.path, 'bad', `${name}.wasm`);
      await mkdir(join(dir.path, 'bad'), { recursive: true });
      const r = await runCli(['wasm', `${reg.host}/hand/${name}:v1`, '-o', out]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.stderr, pattern);
      assert.deepEqual(await readdir(join(dir.path, 'bad')), [], 'no file, no temp file');
    }

    it('wrong magic', async () => {
      await publish('wrong-magic', (w) =>
        writeArtifact(w, {
          artifactType: 'application/vnd.wasm.module.v1+wasm',
          configMediaType: wasmConfig,
          config: { architecture: 'wasm', os: 'wasip1' },
          layers: [
            { mediaType: 'application/wasm', bytes: Buffer.from('MZ\x90\0 not wasm at all') },
          ],
        }),
      );
      await expectFailure('wrong-magic', /is not WebAssembly: it starts with 0x4d5a/);
      await assert.rejects(pullWasm(`${reg.host}/hand/wrong-magic:v1`, { client }), {
        code: 'ERR_INVALID_WASM',
        reason: 'bad-magic',
      });
    });

    it('two wasm layers (also refused by plain inspection)', async () => {
      await publish('two-layers', (w) =>
        writeArtifact(w, {
          configMediaType: wasmConfig,
          config: {},
          layers: [
            { mediaType: 'application/wasm', bytes: MODULE_WITH_TYPE },
            { mediaType: 'application/wasm', bytes: EMPTY_COMPONENT },
          ],
        }),
      );
      await expectFailure('two-layers', /2 wasm layers .* expected exactly one/);
      const r = await runCli(['wasm', `${reg.host}/hand/two-layers:v1`, '--json']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /2 wasm layers/);
    });

    it('an empty layer', async () => {
      await publish('empty-layer', (w) =>
        writeArtifact(w, {
          configMediaType: wasmConfig,
          config: {},
          layers: [{ mediaType: 'application/wasm', bytes: Buffer.alloc(0) }],
        }),
      );
      proxy.resetLog();
      await expectFailure('empty-layer', /wasm layer sha256:[0-9a-f]{64} of .* is empty/);
    });
  });

  describe('CLI usage', () => {
    it('help documents both forms', async () => {
      const r = await runCli(['help', 'wasm']);
      assert.equal(r.code, 0);
      assert.match(r.out, /Usage: ocipeek wasm \[options\] REF \| push \[options\] FILE REF/);
      assert.match(r.out, /ocipeek wasm REF -o FILE/);
      assert.match(r.out, /ocipeek wasm push FILE REF/);
    });

    it('wrong argument counts are usage errors', async () => {
      const push = await runCli(['wasm', 'push', 'only-a-file.wasm']);
      assert.equal(push.code, 2);
      assert.match(push.stderr, /usage: ocipeek wasm push FILE REF/);
      const extra = await runCli(['wasm', `${reg.host}/x/y:1`, 'surplus']);
      assert.equal(extra.code, 2);
      assert.match(extra.stderr, /unexpected arguments/);
    });
  });
});
