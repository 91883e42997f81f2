import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  freePort,
  LayoutWriter,
  pushLayout,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * Raw Node errors and slow failures, as a user meets them: each is one line naming what
 * to do, with the exit code the README promises, and a registry that cannot answer fails
 * after the number of attempts asked for. Servers here are fakes on purpose: each injects
 * one fault (a port held, a web server that is not a registry, a port that is not HTTP, a
 * server that never answers).
 */

/** The DNS fault loaded into CLI runs (see the file). */
const DNS_FAULT = fileURLToPath(new URL('../harness/dns-fault.mjs', import.meta.url));

/** A TCP server on loopback; `connections` counts what it accepted. */
async function tcpServer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP server answering every request with `status`; `requests` lists what it got. */
async function httpServer(
  status: number,
  body = '',
): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `requests=N` of a `--stats` line. */
function requestsOf(stderr: string): number {
  const m = /stats: requests=(\d+)/.exec(stderr);
  assert.ok(m, `no stats line in ${JSON.stringify(stderr)}`);
  return Number(m[1]);
}

/** The error line: the first line of stderr, which must be the only `ocipeek:` line. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('ocipeek:'));
  assert.equal(lines.length, 1, `one error line expected in ${JSON.stringify(stderr)}`);
  return lines[0]!;
}

describe('clear one-line errors instead of raw Node errors', () => {
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;

  before(async () => {
    dir = await tempDir('cli-net-errors');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, {
      layerEntries: [[{ path: 'hello.txt', content: 'hi\n' }]],
      refName: 'v1',
    });
    await w.finish();
  });
  after(async () => {
    await dir?.remove();
  });

  it('a store path that is a file: ENOTDIR becomes a line naming the store', async () => {
    const file = join(dir.path, 'not-a-store');
    await writeFile(file, 'x');
    const r = await runCli(['--store', file, 'images']);
    assert.equal(r.code, 1);
    assert.equal(
      errorLine(r.stderr),
      `ocipeek: the store ${file} is a file, not a folder (ENOTDIR): name a folder (--store, $OCIPEEK_STORE)`,
    );
    assert.doesNotMatch(r.stderr, /scandir/);
  });

  it('unpack onto a file: EEXIST becomes a usage error naming the directory', async () => {
    const file = join(dir.path, 'a-file');
    await writeFile(file, 'keep me');
    const r = await runCli(['unpack', `oci:${layout}:v1`, file]);
    assert.equal(r.code, 2);
    assert.equal(
      errorLine(r.stderr),
      `ocipeek: cannot unpack into ${file}: it is a file, not a directory (EEXIST); give a new or empty directory`,
    );
    assert.equal((await stat(file)).size, 'keep me'.length, 'the file is left as it was');
    const under = await runCli(['unpack', `oci:${layout}:v1`, join(file, 'sub')]);
    assert.equal(under.code, 2);
    assert.match(errorLine(under.stderr), /a parent of it is a file, not a directory \(ENOTDIR\)/);
  });

  it('serve on a port in use: EADDRINUSE becomes ERR_LISTEN naming the address', async () => {
    const held = await tcpServer(() => {});
    try {
      const store = join(dir.path, 'serve-store');
      await mkdir(store);
      const address = `127.0.0.1:${held.port}`;
      const r = await runCli(['serve', '--storage', store, '--listen', address]);
      assert.equal(r.code, 1);
      assert.equal(
        errorLine(r.stderr),
        `ocipeek: cannot listen on ${address}: the address is already in use (EADDRINUSE); choose another address (port 0 picks a free one)`,
      );
    } finally {
      await held.close();
    }
  });

  it('a web server that is not a registry: its /v2/ answering 404 is said, not "not found"', async () => {
    const web = await httpServer(404, '<html>Not Found</html>');
    try {
      const host = `127.0.0.1:${web.port}`;
      for (const args of [
        ['digest', `${host}/team/app:1`],
        ['inspect', `docker://${host}/team/app:1`],
        ['tags', `${host}/team/app`],
      ]) {
        web.requests.length = 0;
        const r = await runCli(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(
          errorLine(r.stderr),
          `ocipeek: ${host} is not an OCI registry: GET /v2/ answered 404 (check the host and port of the reference)`,
        );
        assert.equal(web.requests.at(-1), 'GET /v2/', 'the ping is what decided');
      }
    } finally {
      await web.close();
    }
  });

  it("a web server's 404 is not 'no referrers API': the ping decides before the tag schema", async () => {
    const web = await httpServer(404, '<html>Not Found</html>');
    try {
      const host = `127.0.0.1:${web.port}`;
      const subject = `sha256:${'ab'.repeat(32)}`;
      const r = await runCli(['referrers', `${host}/team/app@${subject}`]);
      assert.equal(r.code, 1);
      assert.equal(
        errorLine(r.stderr),
        `ocipeek: ${host} is not an OCI registry: GET /v2/ answered 404 (check the host and port of the reference)`,
      );
      assert.deepEqual(
        web.requests.filter((req) => req.includes('/team/app/')),
        [`GET /v2/team/app/referrers/${subject}`],
        'the tag schema is not tried on a server that is not a registry',
      );
    } finally {
      await web.close();
    }
  });

  it("a web server's 404 to a blob HEAD is not 'absent': nothing is uploaded to it", async () => {
    const web = await httpServer(404, '<html>Not Found</html>');
    try {
      const host = `127.0.0.1:${web.port}`;
      const r = await runCli(['copy', `oci:${layout}:v1`, `docker://${host}/team/app:1`]);
      assert.equal(r.code, 1);
      assert.equal(
        errorLine(r.stderr),
        `ocipeek: ${host} is not an OCI registry: GET /v2/ answered 404 (check the host and port of the reference)`,
      );
      assert.deepEqual(
        web.requests.filter((req) => !req.startsWith('HEAD ') && req !== 'GET /v2/'),
        [],
      );
    } finally {
      await web.close();
    }
  });

  it('a port that does not speak HTTP is named so, and not retried', async () => {
    const ssh = await tcpServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2p1 Debian\r\n'));
    try {
      const host = `127.0.0.1:${ssh.port}`;
      const r = await runCli(['digest', `${host}/team/app:1`, '--stats']);
      assert.equal(r.code, 1);
      assert.match(
        errorLine(r.stderr),
        new RegExp(
          `^ocipeek: ${host.replace(/\./g, '\\.')} does not speak HTTP \\(HPE_INVALID_CONSTANT\\); is this the registry's port\\?$`,
        ),
      );
      // Plain HTTP, then TLS (a loopback port may be either), then plain once more when
      // the TLS handshake met plain text: no retry loop on top.
      assert.ok(ssh.connections() <= 3, `${ssh.connections()} connections`);
    } finally {
      await ssh.close();
    }
  });

  it('copy to a bare path says to write oci:PATH', async () => {
    const target = join(dir.path, 'out');
    await mkdir(target);
    const r = await runCli(['copy', `oci:${layout}:v1`, target]);
    assert.equal(r.code, 2);
    assert.equal(
      errorLine(r.stderr),
      `ocipeek: invalid reference "${target}": a path is not an image reference: write oci:${target} for an OCI layout folder, oci-archive:${target} or docker-archive:${target} for a tar file`,
    );
    const relative = await runCli(['ls', './image-dir']);
    assert.equal(relative.code, 2);
    assert.match(errorLine(relative.stderr), /write oci:\.\/image-dir for an OCI layout folder/);
  });

  it('http:// and https:// references say what to write instead', async () => {
    const plain = await runCli(['digest', 'http://registry.example:5000/team/app:1']);
    assert.equal(plain.code, 2);
    assert.equal(
      errorLine(plain.stderr),
      'ocipeek: invalid reference "http://registry.example:5000/team/app:1": references have no URL scheme: write registry.example:5000/team/app:1 (plain HTTP: add --plain-http; loopback registries need nothing)',
    );
    const secure = await runCli(['inspect', 'https://registry.example/team/app']);
    assert.equal(secure.code, 2);
    assert.equal(
      errorLine(secure.stderr),
      'ocipeek: invalid reference "https://registry.example/team/app": references have no URL scheme: write registry.example/team/app (HTTPS is the default)',
    );
  });
});

describe('fast failures, --timeout and --retries', () => {
  it('a refused connection fails at once: one attempt, no retry loop', async () => {
    const port = await freePort();
    const r = await runCli(['digest', `127.0.0.1:${port}/team/app:1`, '--stats']);
    assert.equal(r.code, 1);
    assert.equal(
      errorLine(r.stderr),
      `ocipeek: cannot reach 127.0.0.1:${port}: connection refused`,
    );
    assert.equal(requestsOf(r.stderr), 1);
  });

  it('a server that accepts and never answers: --timeout bounds each try, one retry at most', async () => {
    const silent = await tcpServer(() => {});
    try {
      const ref = `127.0.0.1:${silent.port}/team/app:1`;
      const r = await runCli(['digest', ref, '--timeout', '300ms', '--stats']);
      assert.equal(r.code, 1);
      assert.equal(
        errorLine(r.stderr),
        `ocipeek: cannot reach 127.0.0.1:${silent.port}: timed out (no response within 300 ms)`,
      );
      assert.equal(silent.connections(), 2, 'one try and one retry, not five');
      assert.equal(requestsOf(r.stderr), 2);

      const once = await runCli(['digest', ref, '--timeout', '300ms', '--retries', '0']);
      assert.equal(once.code, 1);
      assert.equal(silent.connections(), 3, '--retries 0: a single try');
    } finally {
      await silent.close();
    }
  });

  it('--retries N bounds the retries of a failing registry', async () => {
    const failing = await httpServer(503, '{"errors":[{"code":"UNAVAILABLE","message":"down"}]}');
    try {
      const ref = `127.0.0.1:${failing.port}/team/app:1`;
      const r = await runCli(['digest', ref, '--retries', '2']);
      assert.equal(r.code, 1);
      assert.match(
        errorLine(r.stderr),
        /^ocipeek: registry answered 503 UNAVAILABLE for manifest /,
      );
      assert.equal(failing.requests.length, 3, 'the first try and two retries');
      failing.requests.length = 0;
      const none = await runCli(['digest', ref, '--retries', '0']);
      assert.equal(none.code, 1);
      assert.equal(failing.requests.length, 1);
    } finally {
      await failing.close();
    }
  });

  it('bad --timeout and --retries values are usage errors', async () => {
    const t = await runCli(['digest', 'x', '--timeout', '5']);
    assert.equal(t.code, 2);
    assert.match(errorLine(t.stderr), /invalid duration "5": use e\.g\. 500ms, 90s/);
    const n = await runCli(['digest', 'x', '--retries', 'many']);
    assert.equal(n.code, 2);
    assert.match(errorLine(n.stderr), /--retries takes a whole number from 0 to 100, got "many"/);
  });

  it('EAI_AGAIN (DNS failed for now), met by the real CLI: retried, then said in one line', async () => {
    // The registry is real; its name resolves only through a DNS fault injected into the
    // CLI's process (test/harness/dns-fault.mjs, loaded with NODE_OPTIONS --import).
    const dir = await tempDir('cli-net-errors-dns');
    const reg = await startRegistry();
    try {
      const layout = join(dir.path, 'layout');
      const w = new LayoutWriter(layout);
      await randomImage(w, { layerEntries: [[{ path: 'a', content: 'a\n' }]], refName: 'v1' });
      await w.finish();
      const pushed = await pushLayout(layout, 'v1', reg, 'team/app:1');
      const port = reg.host.split(':')[1];
      const ref = `dns-flaky.test:${port}/team/app:1`;
      const log = join(dir.path, 'dns-lookups.log');
      const withDns = (fails: number) => ({
        env: {
          NODE_OPTIONS: `--import=${pathToFileURL(DNS_FAULT).href}`,
          DNS_FAULT_HOST: 'dns-flaky.test',
          DNS_FAULT_FAILS: String(fails),
          DNS_FAULT_LOG: log,
        },
      });
      const lookups = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean).length;

      const once = await runCli(['digest', ref, '--plain-http'], withDns(1));
      assert.equal(once.code, 0, once.stderr);
      assert.equal(once.out, `${pushed.digest}\n`);
      assert.ok((await lookups()) >= 2, 'the failed lookup was tried again');

      await rm(log);
      const down = await runCli(['digest', ref, '--plain-http', '--retries', '2'], withDns(-1));
      assert.equal(down.code, 1);
      assert.equal(
        errorLine(down.stderr),
        `ocipeek: cannot reach dns-flaky.test:${port}: name lookup failed for now (EAI_AGAIN: DNS did not answer)`,
      );
      assert.equal(await lookups(), 3, 'the first try and two retries');
    } finally {
      await reg.stop();
      await dir.remove();
    }
  });
});
