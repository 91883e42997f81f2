import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, symlink } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { hostPlatform, platformEquals } from '../../src/platform/index.js';
import { startImageProxy } from '../../src/server/proxy/index.js';
import { faults, match, skopeo, startFaultProxyFor, tempDir, times } from '../harness/index.js';
import { BIN_PATH, CLI_PATH } from '../harness/run-cli.js';
import {
  PROXY_ENV,
  type ProxyImages,
  PYTHON_DIR,
  proxyImages,
  signedProxyPolicy,
} from './image-proxy-fixture.js';

const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One response of a raw HTTP/1.1 byte stream. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The connection ended before `Content-Length` bytes of body came. */
  truncated: boolean;
}

/** Split what a connection sent into responses (framed by Content-Length). */
function parseResponses(bytes: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    assert.ok(end > 0, `a whole head at byte ${at}`);
    const [statusLine, ...lines] = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    const body = bytes.subarray(end + 4, end + 4 + length);
    out.push({
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body,
      truncated: body.length < length,
    });
    at = end + 4 + length;
  }
  return out;
}

/** A proxy process and the test's end of its connection. */
interface Running {
  child: ChildProcess;
  connection: Duplex;
  stderr: () => string;
  /** Everything received until the connection closed, and the exit code. */
  finish(): Promise<{ responses: RawResponse[]; code: number | null }>;
}

/**
 * Start `ocipeek proxy ARGS` with a connected stream socket as fd 3 (libuv makes
 * `stdio: 'pipe'` a socketpair), or on stdin and stdout when `stdio` is true.
 */
function startProxy(args: string[], options: { stdio?: boolean } = {}): Running {
  const argv = options.stdio ? args : ['--sockfd=3', ...args];
  const child = spawn(process.execPath, [CLI_PATH, 'proxy', ...argv], {
    env: PROXY_ENV,
    stdio: options.stdio ? ['pipe', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const connection = (options.stdio ? null : child.stdio[3]) as Duplex | null;
  const received: Buffer[] = [];
  const errors: Buffer[] = [];
  child.stderr!.on('data', (c: Buffer) => errors.push(c));
  (options.stdio ? child.stdout! : connection!).on('data', (c: Buffer) => received.push(c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    connection: connection ?? (child.stdin as unknown as Duplex),
    stderr: () => Buffer.concat(errors).toString(),
    async finish() {
      const code = await exited;
      return { responses: parseResponses(Buffer.concat(received)), code };
    },
  };
}

function request(method: string, path: string): string {
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`;
}

function runPython(script: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      'python3',
      [join(PYTHON_DIR, script), ...args],
      { env, timeout: 120_000 },
      (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

describe('container-image-proxy: the HTTP protocol', () => {
  let images: ProxyImages;
  before(async () => {
    images = await proxyImages();
  });
  after(async () => {
    await images?.close();
  });

  it('runs both Python demo clients unchanged against container-image-proxy from the package', async () => {
    const links = await tempDir('proxy-bin');
    try {
      // As the package installs it (dist/bin on PATH), and as npm links a bin (a symlink).
      const linked = join(links.path, 'container-image-proxy');
      await symlink(BIN_PATH, linked);
      for (const bin of [dirname(BIN_PATH), links.path]) {
        const env = { ...PROXY_ENV, PATH: `${bin}:${PROXY_ENV.PATH}` };
        for (const name of ['oci', 'docker'] as const) {
          const layers = images[name].layers.map((l) => `${l.digest} ${l.size}`);
          const first = await runPython('proxy_demo_layers.py', [images.ref(name)], env);
          assert.equal(first.code, 0, first.err);
          assert.deepEqual(first.out.trim().split('\n'), ['200 OK', ...layers]);
          const later = await runPython('proxy_demo_quit.py', [images.ref(name)], env);
          assert.equal(later.code, 0, later.err);
          assert.deepEqual(later.out.trim().split('\n'), [
            `200 OK ${images[name].descriptor.digest}`,
            ...layers,
            'quit',
          ]);
        }
      }
    } finally {
      await links.remove();
    }
  });

  it('answers pipelined requests in order and keeps the connection after errors', async () => {
    const [l0, l1] = images.oci.layers;
    const proxy = startProxy([images.ref('oci')]);
    proxy.connection.write(
      request('GET', `/blobs/${l0!.digest}`) +
        request('GET', '/nope') +
        request('POST', '/manifest') +
        request('GET', '/blobs/not-a-digest') +
        request('GET', `/blobs/sha256:${'0'.repeat(64)}`) +
        request('GET', '/manifest') +
        request('GET', `/blobs/${l1!.digest}`) +
        request('POST', '/quit'),
    );
    const { responses, code } = await proxy.finish();
    assert.equal(code, 0, proxy.stderr());
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 400, 405, 400, 500, 200, 200, 200],
    );
    assert.equal(sha256(responses[0]!.body), l0!.digest);
    assert.equal(responses[0]!.headers['content-type'], 'application/octet-stream');
    assert.equal(responses[2]!.headers.allow, 'GET');
    assert.match(responses[4]!.body.toString(), /not referenced/);
    assert.equal(responses[4]!.headers['content-type'], 'text/plain; charset=utf-8');
    assert.deepEqual(responses[5]!.body, images.oci.manifestBytes, 'OCI passed through');
    assert.equal(responses[5]!.headers['manifest-digest'], images.oci.descriptor.digest);
    assert.equal(sha256(responses[6]!.body), l1!.digest);
    assert.equal(responses[7]!.headers['content-length'], '0');
  });

  it('converts Docker schema 2 to OCI and serves the converted config', async () => {
    const proxy = startProxy([images.ref('docker')]);
    proxy.connection.write(request('GET', '/manifest'));
    const manifest = await new Promise<RawResponse>((resolve) => {
      const parts: Buffer[] = [];
      proxy.connection.on('data', (c: Buffer) => {
        parts.push(c);
        try {
          const [r] = parseResponses(Buffer.concat(parts));
          if (r && !r.truncated) resolve(r);
        } catch {}
      });
    });
    const oci = JSON.parse(manifest.body.toString());
    assert.equal(manifest.headers['manifest-digest'], images.docker.descriptor.digest);
    assert.equal(oci.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(oci.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    proxy.connection.write(
      request('GET', `/blobs/${oci.config.digest}`) + request('POST', '/quit'),
    );
    const { responses, code } = await proxy.finish();
    assert.equal(code, 0);
    const config = responses[1]!.body;
    assert.equal(sha256(config), oci.config.digest);
    assert.equal(config.length, oci.config.size);
    assert.deepEqual(JSON.parse(config.toString()).config.ExposedPorts, {
      '443/tcp': {},
      '8080/tcp': {},
    });
  });

  it('resolves an index to this host, or to --platform; serves layouts and archives', async () => {
    const archive = join(images.dir.path, 'oci.tar');
    await skopeo(['copy', `oci:${images.layout}:oci`, `oci-archive:${archive}:oci`]);
    const host = images.index.images.find((i) =>
      platformEquals(i.descriptor.platform!, hostPlatform()),
    )!;
    const arm = images.index.images.find((i) => i.descriptor.platform!.architecture === 'arm64')!;
    const cases: [string[], string][] = [
      [[images.ref('index')], host.descriptor.digest],
      [['--platform', 'linux/arm64', images.ref('index')], arm.descriptor.digest],
      [[`oci:${images.layout}:index`], host.descriptor.digest],
      [[`oci-archive:${archive}`], images.oci.descriptor.digest],
    ];
    for (const [args, digest] of cases) {
      const proxy = startProxy(args);
      proxy.connection.end(request('GET', '/manifest'));
      const { responses, code } = await proxy.finish();
      assert.equal(code, 0, `end of input is a clean exit: ${proxy.stderr()}`);
      assert.equal(responses[0]!.status, 200, responses[0]!.body.toString());
      assert.equal(responses[0]!.headers['manifest-digest'], digest, args.join(' '));
      assert.equal(sha256(responses[0]!.body), digest);
    }
  });

  it('serves stdin and stdout without --sockfd', async () => {
    const proxy = startProxy([images.ref('zstd')], { stdio: true });
    const layer = images.zstd.layers[0]!;
    proxy.connection.end(request('GET', `/blobs/${layer.digest}`) + request('GET', '/manifest'));
    const { responses, code } = await proxy.finish();
    assert.equal(code, 0, proxy.stderr());
    assert.equal(sha256(responses[0]!.body), layer.digest);
    assert.equal(responses[1]!.headers['manifest-digest'], images.zstd.descriptor.digest);
  });

  it('closes the connection when a blob fails verification mid-stream', async () => {
    const layer = images.big.layers[0]!;
    const fault = await startFaultProxyFor(images.registry, {
      onRequest: times(100, match.pathIncludes(layer.digest), faults.corruptByteAt(3_000_000)),
    });
    try {
      const proxy = startProxy([`docker://${fault.host}/proxy/big:v1`]);
      proxy.connection.write(
        request('GET', `/blobs/${layer.digest}`) + request('GET', '/manifest'),
      );
      const { responses, code } = await proxy.finish();
      assert.equal(responses.length, 1, 'nothing after the broken blob');
      assert.equal(responses[0]!.status, 200);
      assert.equal(responses[0]!.headers['content-length'], String(layer.size));
      assert.ok(responses[0]!.truncated, 'never a clean end');
      assert.equal(code, 1);
      assert.match(proxy.stderr(), /digest mismatch/);
    } finally {
      await fault.close();
    }
  });

  it("enforces policy.json: an unsigned image answers 500 with the policy's reason and no blob; a signed one is served", async () => {
    const policy = await signedProxyPolicy(images);
    const layer = images.docker.layers[0]!;
    const refused = startProxy([...policy.flags, images.ref('docker')]);
    refused.connection.write(
      request('GET', '/manifest') +
        request('GET', `/blobs/${layer.digest}`) +
        request('POST', '/quit'),
    );
    const r = await refused.finish();
    assert.equal(r.code, 0, refused.stderr());
    assert.deepEqual(
      r.responses.map((x) => x.status),
      [500, 500, 200],
    );
    for (const response of r.responses.slice(0, 2)) {
      assert.ok(response.body.toString().startsWith(policy.refusal), response.body.toString());
    }
    const accepted = startProxy([...policy.flags, images.ref('oci')]);
    accepted.connection.write(request('GET', '/manifest') + request('POST', '/quit'));
    const a = await accepted.finish();
    assert.equal(a.code, 0, accepted.stderr());
    assert.equal(a.responses[0]!.status, 200, a.responses[0]!.body.toString());
    assert.deepEqual(a.responses[0]!.body, images.oci.manifestBytes);
  });

  it('refuses a missing or bare IMAGE with exit 1', async () => {
    await mkdir(images.dir.path, { recursive: true });
    for (const args of [[], [`${images.registry.host}/proxy/oci:v1`], ['nope:thing']]) {
      const proxy = startProxy(args);
      proxy.connection.end();
      const { code } = await proxy.finish();
      assert.equal(code, 1, args.join(' '));
      assert.match(proxy.stderr(), /(missing required argument|Invalid image name)/);
      assert.equal(proxy.stderr().trim().split('\n').length, 1, proxy.stderr());
    }
  });

  it('in process: startImageProxy serves a socket it is given, and refuses bad options', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const proxy = startImageProxy({
      protocol: 'http',
      image: `oci:${images.layout}:zstd`,
      socket: await accepted,
    });
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    client.write(request('GET', '/manifest') + request('POST', '/quit'));
    assert.equal(await proxy.done, 'quit');
    await new Promise((resolve) => client.on('close', resolve));
    server.close();
    const [manifest, quit] = parseResponses(Buffer.concat(received));
    assert.equal(manifest!.headers['manifest-digest'], images.zstd.descriptor.digest);
    assert.equal(quit!.status, 200);

    const refusals: [Parameters<typeof startImageProxy>[0], RegExp][] = [
      [{ protocol: 'json' }, /serves an fd/],
      [{ protocol: 'http', fd: 3 }, /needs an IMAGE/],
      [
        { protocol: 'http', image: 'app:1', fd: 3 },
        /Invalid image name "app:1", unknown transport "app"/,
      ],
      [{ protocol: 'http', image: 'oci:x' }, /a socket or an fd/],
      [{ protocol: 'gopher' as 'http', image: 'oci:x', fd: 3 }, /unknown image proxy protocol/],
    ];
    for (const [options, message] of refusals) {
      assert.throws(() => startImageProxy(options), { code: 'ERR_INVALID_ARGUMENT', message });
    }
  });
});
