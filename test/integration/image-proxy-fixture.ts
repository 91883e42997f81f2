import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageManifest } from '../../src/media/types.js';
import { generateSigstoreKeyPair } from '../../src/trust/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  FIXTURE_MEDIA_TYPES,
  LayoutWriter,
  makeLayer,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH, runCli } from '../harness/run-cli.js';

/** The Python clients the proxy tests drive (stdlib only; python3 is a test peer). */
export const PYTHON_DIR = fileURLToPath(new URL('../harness/python/', import.meta.url));

/** A home with no credentials, for every proxy process the tests start. */
const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'ocipeek-proxy-home-'));
export const PROXY_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: EMPTY_HOME,
  XDG_CONFIG_HOME: join(EMPTY_HOME, '.config'),
  XDG_RUNTIME_DIR: join(EMPTY_HOME, 'run'),
};

/** A Docker schema 2 image whose config has fields OCI lacks and times Go rewrites. */
async function dockerImage(w: LayoutWriter): Promise<BuiltImage> {
  const layers = [
    await makeLayer([{ path: 'etc/motd', content: 'docker image\n' }], { mediaTypes: 'docker' }),
    await makeLayer([{ path: 'data/r.bin', content: randomBytes(4096) }], { mediaTypes: 'docker' }),
  ];
  for (const l of layers) await w.writeBlob(l.blob);
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2023-06-01T10:20:30.120000000+00:00',
    docker_version: '20.10.7',
    container: 'c0ffee',
    container_config: { Hostname: 'c0ffee', Cmd: ['/bin/sh'] },
    config: {
      Hostname: '',
      User: 'app',
      Env: ['PATH=/usr/bin:/bin', 'A=<b>&"c"'],
      Cmd: ['/app', '--flag'],
      Entrypoint: null,
      ExposedPorts: { '8080/tcp': {}, '443/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { 'z.last': 'z', 'a.first': 'caf\u00e9 \u2028 line', 'm.tag': '</script>' },
      OnBuild: null,
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [
      { created: '2023-06-01T10:20:30Z', created_by: 'ADD file', empty_layer: false },
      { created: '2023-06-01T10:20:31.5Z', created_by: 'CMD ["/app"]', empty_layer: true },
      { created: '2023-06-01T10:20:32Z', created_by: 'COPY r.bin' },
    ],
  };
  const { bytes: configBytes, ...configDescriptor } = await w.writeJson(
    config,
    FIXTURE_MEDIA_TYPES.docker.config,
  );
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: FIXTURE_MEDIA_TYPES.docker.manifest,
    config: configDescriptor,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const written = await w.writeManifest(manifest as unknown as Record<string, unknown>);
  w.addToIndex(written.descriptor, 'docker');
  return {
    manifest,
    manifestBytes: written.bytes,
    descriptor: written.descriptor,
    config: config as unknown as BuiltImage['config'],
    configBytes,
    configDescriptor,
    layers,
  };
}

/** The images both proxies serve in the tests, in a layout and on a registry. */
export interface ProxyImages {
  registry: RunningRegistry;
  dir: TempDir;
  /** The OCI layout holding every image (tags `oci`, `docker`, `index`, `zstd`, `big`). */
  layout: string;
  oci: BuiltImage;
  docker: BuiltImage;
  index: BuiltIndex;
  zstd: BuiltImage;
  /** One 4 MiB incompressible layer (larger than any pipe buffer). */
  big: BuiltImage;
  /** `docker://HOST/proxy/NAME:v1` for each of them. */
  ref(name: 'oci' | 'docker' | 'index' | 'zstd' | 'big'): string;
  close(): Promise<void>;
}

/** Start a registry and push the test images to it. */
export async function proxyImages(): Promise<ProxyImages> {
  const registry = await startRegistry();
  const dir = await tempDir('proxy-images');
  const layout = join(dir.path, 'layout');
  const w = new LayoutWriter(layout);
  const oci = await randomImage(w, {
    layers: 2,
    refName: 'oci',
    env: ['PATH=/bin', 'LANG=C.UTF-8'],
    entrypoint: ['/bin/app'],
    labels: { 'org.example.escape': '<&>', 'org.example.unicode': '\u00fcber \u2029' },
    user: '1000:1000',
    workingDir: '/srv',
    created: '2024-02-03T04:05:06.000000000Z',
    annotations: { 'org.example.kept': 'yes' },
  });
  const docker = await dockerImage(w);
  const index = await multiPlatformIndex(w, { attestation: true, refName: 'index' });
  const zstd = await randomImage(w, { compression: 'zstd', layers: 1, refName: 'zstd' });
  const big = await randomImage(w, { layers: 1, layerSize: 4 << 20, refName: 'big' });
  await w.finish();
  for (const name of ['oci', 'docker', 'index', 'zstd', 'big']) {
    await pushLayout(layout, name, registry, `proxy/${name}:v1`);
  }
  return {
    registry,
    dir,
    layout,
    oci,
    docker,
    index,
    zstd,
    big,
    ref: (name) => `docker://${registry.host}/proxy/${name}:v1`,
    async close() {
      await registry.stop();
      await dir.remove();
    },
  };
}

/** One step of a {@link runJsonClient} script (see json_proxy_client.py). */
export type ScriptStep = Record<string, unknown>;

/** A reply as the client decoded it. */
export interface Reply {
  success: boolean;
  value: unknown;
  /** A number on the wire; `comparable` turns it into "has a pipe". */
  pipeid: number | boolean;
  error_code?: string;
  error: string;
}

/** What the client read from a pipe. */
export interface PipeData {
  len: number;
  sha256: string;
  /** The bytes, when short and UTF-8. */
  text?: string;
  hex?: string;
}

/**
 * One entry of a transcript: what a step got back. Which fields are there depends on the
 * step; they are typed as present, and a test that reads a missing one fails.
 */
export interface Entry {
  reply: Reply;
  fds: number;
  data: PipeData;
  /** GetRawBlob's error pipe. */
  errors: PipeData;
  finish: Reply;
  pipeline: Entry[];
  held: PipeData[];
  shutdown: number | string;
  after: unknown;
  eof: number | string;
  peak_rss_kb: number;
}

/** The proxy commands the JSON tests compare. */
export const SKOPEO_PROXY = ['skopeo', 'experimental-image-proxy', '--tls-verify=false'];
export const OCIPEEK_PROXY = [process.execPath, CLI_PATH, 'experimental-image-proxy'];

/** Options of {@link runJsonClient}. */
export interface JsonClientOptions {
  /** Start this proxy command with the socket (else the socket is `stdin`). */
  command?: string[];
  /** Give the child the socket as an extra fd, whose number replaces `{fd}` in the command. */
  passFd?: boolean;
  /** The socket, when no command is started (an fd of this process, e.g. from seqpacketPair). */
  stdin?: number;
  /** Kill the client after this many ms (default 240 s). */
  timeoutMs?: number;
}

/** Run json_proxy_client.py with `script`; resolves to its transcript. */
export async function runJsonClient(
  script: ScriptStep[],
  options: JsonClientOptions,
): Promise<Entry[]> {
  const dir = await tempDir('json-client');
  try {
    const file = join(dir.path, 'script.json');
    await writeFile(file, JSON.stringify(script));
    const args = [join(PYTHON_DIR, 'json_proxy_client.py'), file];
    if (options.passFd) args.push('--pass-fd');
    if (options.command) args.push('--', ...options.command);
    const child = spawn('python3', args, {
      env: PROXY_ENV,
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    if (code !== 0) {
      throw new Error(`json_proxy_client.py exited ${code}: ${Buffer.concat(err).toString()}`);
    }
    return JSON.parse(Buffer.concat(out).toString()) as Entry[];
  } finally {
    await dir.remove();
  }
}

/**
 * A policy.json for the proxy tests: images under `HOST/proxy` must be sigstore-signed by
 * a key made here; `proxy/oci:v1` is signed with it (by `ocipeek sign`), the others are
 * not. Resolves to the global flags that apply it (`--signature-policy`, `--registries.d`)
 * and the words the refusal of the unsigned `proxy/docker:v1` starts with.
 */
export async function signedProxyPolicy(
  images: ProxyImages,
): Promise<{ flags: string[]; refusal: string }> {
  const dir = join(images.dir.path, 'policy');
  await mkdir(join(dir, 'registries.d'), { recursive: true });
  const pair = await generateSigstoreKeyPair('pw');
  const file = (name: string) => join(dir, name);
  await writeFile(file('key'), pair.privateKeyPem);
  await writeFile(file('pass'), 'pw\n');
  await writeFile(file('pub'), pair.publicKeyPem);
  await writeFile(
    join(dir, 'registries.d', 'default.yaml'),
    'default-docker:\n  use-sigstore-attachments: true\n',
  );
  const scope = `${images.registry.host}/proxy`;
  await writeFile(
    file('policy.json'),
    JSON.stringify({
      default: [{ type: 'insecureAcceptAnything' }],
      transports: { docker: { [scope]: [{ type: 'sigstoreSigned', keyPath: file('pub') }] } },
    }),
  );
  const flags = [
    '--signature-policy',
    file('policy.json'),
    '--registries.d',
    join(dir, 'registries.d'),
  ];
  const signed = await runCli([
    'sign',
    `${scope}/oci:v1`,
    '--sign-by-sigstore-private-key',
    file('key'),
    '--sign-passphrase-file',
    file('pass'),
    ...flags,
  ]);
  if (signed.code !== 0) throw new Error(`ocipeek sign failed: ${signed.stderr}`);
  return {
    flags,
    refusal: `${scope}/docker:v1 rejected by policy: sigstoreSigned (keyPath ${file('pub')}) in docker scope "${scope}" of ${file('policy.json')}: no sigstore signature`,
  };
}
