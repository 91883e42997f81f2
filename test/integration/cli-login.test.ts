import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH, runCli } from '../harness/run-cli.js';

/**
 * login, logout and per-side copy credentials against the real docker-registry (htpasswd
 * and token auth), with skopeo as the peer that must read what ocipeek writes and write
 * what ocipeek reads.
 */

/**
 * Drive `node CLI ARGS` on a pseudo-terminal: wait for the password prompt, type
 * `password` and Return, and give back everything the terminal showed.
 */
const PTY_DRIVER = `
import os, pty, sys
password = os.environ.pop('TYPED_PASSWORD').encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
shown = b''
typed = False
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    shown += data
    if not typed and b'Password for' in shown:
        os.write(fd, password + b'\\r')
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(shown)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function onTerminal(
  args: string[],
  password: string,
  env: Record<string, string>,
): Promise<{ code: number; shown: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY_DRIVER, process.execPath, CLI_PATH, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, TYPED_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, shown: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Run skopeo with exactly `env` (no credentials of whoever runs the tests). */
function skopeoWith(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'skopeo',
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

describe('login, logout and copy credentials', () => {
  let dir: { path: string; remove(): Promise<void> };
  let home: Record<string, string>;
  let layout: string;
  let image: BuiltImage;
  let basic: RunningRegistry;
  let token: RunningRegistry;
  let other: RunningRegistry;

  before(async () => {
    dir = await tempDir('cli-login');
    const homeDir = join(dir.path, 'home');
    await mkdir(homeDir);
    home = {
      HOME: homeDir,
      XDG_CONFIG_HOME: join(homeDir, '.config'),
      XDG_RUNTIME_DIR: join(homeDir, 'run'),
    };
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 1, refName: 'img' });
    await w.finish();
    [basic, token, other] = await Promise.all([
      startRegistry({ auth: 'htpasswd', users: [{ username: 'alice', password: 'alice-pass' }] }),
      startRegistry({ auth: 'token', users: [{ username: 'tess', password: 'tess-pass' }] }),
      startRegistry({ auth: 'htpasswd', users: [{ username: 'bob', password: 'bob-pass' }] }),
    ]);
    await pushLayout(layout, 'img', basic, 'secure/app:1');
    await pushLayout(layout, 'img', token, 'secure/app:1');
  });
  after(async () => {
    await Promise.all([basic?.stop(), token?.stop(), other?.stop()]);
    await dir?.remove();
  });

  it('on a terminal the password is asked for without echo, and saved where podman keeps it', async () => {
    const r = await onTerminal(['login', basic.host, '-u', 'alice'], 'alice-pass', home);
    assert.equal(r.code, 0, r.shown);
    assert.match(r.shown, new RegExp(`Password for alice@${basic.host.replace(/\./g, '\\.')}: `));
    assert.doesNotMatch(r.shown, /alice-pass/, 'the password is not echoed');
    const file = join(home.XDG_RUNTIME_DIR!, 'containers', 'auth.json');
    assert.match(
      r.shown,
      new RegExp(`Login succeeded \\(saved in ${file.replace(/\./g, '\\.')}\\)`),
    );
    const saved = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(
      Buffer.from(saved.auths[basic.host].auth, 'base64').toString(),
      'alice:alice-pass',
    );
    // skopeo, with the same environment, finds and uses what ocipeek wrote.
    const inspected = await skopeoWith(
      ['inspect', '--tls-verify=false', '--raw', `docker://${basic.host}/secure/app:1`],
      home,
    );
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(inspected.stdout, image.manifestBytes.toString('utf8'));

    const out = await runCli(['logout', basic.host], { env: home });
    assert.equal(out.code, 0);
    assert.equal(out.stderr, `Removed login credentials for ${basic.host}\n`);
    const again = await runCli(['logout', basic.host], { env: home });
    assert.equal(again.code, 0);
    assert.equal(
      again.stderr,
      `Not logged in to ${basic.host} (no credentials for it in ${file})\n`,
    );
  });

  it('no terminal and no --password-stdin: a usage error naming --password-stdin', async () => {
    const r = await runCli(['login', basic.host, '-u', 'alice'], { env: home });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'ocipeek: no password: standard input is not a terminal; pipe it with --password-stdin\n',
    );
  });

  it('a wrong password is "credentials rejected by HOST" (basic and token auth); nothing is saved', async () => {
    for (const reg of [basic, token]) {
      const authfile = join(dir.path, `rejected-${reg.port}.json`);
      const user = reg === basic ? 'alice' : 'tess';
      const r = await runCli(
        ['login', reg.host, '--username', user, '--password-stdin', '--authfile', authfile],
        { stdin: 'wrong-password\n', env: home },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `ocipeek: login to ${reg.host} failed: credentials rejected by ${reg.host} (nothing was saved)\n`,
      );
      await assert.rejects(stat(authfile), /ENOENT/);
    }
  });

  it('--authfile: ocipeek reads what skopeo login wrote, and skopeo what ocipeek login wrote', async () => {
    const bySkopeo = join(dir.path, 'skopeo-auth.json');
    const login = await skopeoWith(
      [
        'login',
        '--tls-verify=false',
        '--authfile',
        bySkopeo,
        '-u',
        'tess',
        '--password-stdin',
        token.host,
      ],
      home,
      'tess-pass\n',
    );
    assert.equal(login.code, 0, login.stderr);
    const read = await runCli(['digest', `${token.host}/secure/app:1`, '--authfile', bySkopeo], {
      env: home,
    });
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.out.trim(), image.descriptor.digest);

    const byOcipeek = join(dir.path, 'ocipeek-auth.json');
    const ours = await runCli(
      ['login', token.host, '-u', 'tess', '--password-stdin', '--authfile', byOcipeek],
      { stdin: 'tess-pass\n', env: home },
    );
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = await skopeoWith(
      [
        'inspect',
        '--tls-verify=false',
        '--authfile',
        byOcipeek,
        '--raw',
        `docker://${token.host}/secure/app:1`,
      ],
      home,
    );
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.equal(theirs.stdout, image.manifestBytes.toString('utf8'));
  });

  it('login -p as skopeo and podman take it (with a warning); logout --all empties the auth file', async () => {
    const authfile = join(dir.path, 'all-auth.json');
    const a = await runCli(
      ['login', '-u', 'alice', '-p', 'alice-pass', basic.host, '--authfile', authfile],
      {
        env: home,
      },
    );
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /^warning: a password given with -p shows in the process list/);
    // skopeo logs in to the second registry in the same file.
    const t = await skopeoWith(
      [
        'login',
        '--tls-verify=false',
        '--authfile',
        authfile,
        '-u',
        'tess',
        '-p',
        'tess-pass',
        token.host,
      ],
      home,
    );
    assert.equal(t.code, 0, t.stderr);
    const saved = JSON.parse(await readFile(authfile, 'utf8'));
    assert.deepEqual(Object.keys(saved.auths).sort(), [basic.host, token.host].sort());
    const ok = await runCli(['digest', `${basic.host}/secure/app:1`, '--authfile', authfile], {
      env: home,
    });
    assert.equal(ok.out.trim(), image.descriptor.digest, ok.stderr);

    const both = await runCli(
      ['login', '-u', 'alice', '-p', 'x', '--password-stdin', basic.host, '--authfile', authfile],
      { stdin: 'x\n', env: home },
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /use one of --password and --password-stdin/);
    const neither = await runCli(['logout', '--authfile', authfile], { env: home });
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /logout needs HOST, or --all/);

    const out = await runCli(['logout', '--all', '--authfile', authfile], { env: home });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /^Removed login credentials for 2 registries \(/);
    assert.deepEqual(JSON.parse(await readFile(authfile, 'utf8')).auths, {});
    // Neither ocipeek nor skopeo finds credentials in it any more.
    const denied = await runCli(['digest', `${basic.host}/secure/app:1`, '--authfile', authfile], {
      env: home,
    });
    assert.equal(denied.code, 1);
    const theirs = await skopeoWith(
      [
        'inspect',
        '--tls-verify=false',
        '--authfile',
        authfile,
        `docker://${token.host}/secure/app:1`,
      ],
      home,
    );
    assert.notEqual(theirs.code, 0);
    const again = await runCli(['logout', '-a', '--authfile', authfile], { env: home });
    assert.equal(again.code, 0);
    assert.equal(again.stderr, `Not logged in anywhere (no credentials in ${authfile})\n`);
  });

  it('--authfile naming a missing file is an error, not a silent anonymous run', async () => {
    const missing = join(dir.path, 'no-such-auth.json');
    const r = await runCli(['digest', `${basic.host}/secure/app:1`, '--authfile', missing], {
      env: home,
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ocipeek: auth file ${missing} does not exist\n`);
  });

  it('copy: --src-creds/--dest-creds and --src-authfile/--dest-authfile, one side each', async () => {
    const from = `${basic.host}/secure/app:1`;
    const denied = await runCli(
      ['copy', from, `${other.host}/copied/app:1`, '--src-creds', 'alice:alice-pass'],
      {
        env: home,
      },
    );
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^ocipeek: unauthorized: /);

    const creds = await runCli(
      [
        'copy',
        from,
        `${other.host}/copied/app:1`,
        '--src-creds',
        'alice:alice-pass',
        '--dest-creds',
        'bob:bob-pass',
      ],
      { env: home },
    );
    assert.equal(creds.code, 0, creds.stderr);
    const copied = await skopeoWith(
      [
        'inspect',
        '--tls-verify=false',
        '--creds',
        'bob:bob-pass',
        '--raw',
        `docker://${other.host}/copied/app:1`,
      ],
      home,
    );
    assert.equal(copied.stdout, image.manifestBytes.toString('utf8'));

    const srcFile = join(dir.path, 'src-auth.json');
    const destFile = join(dir.path, 'dest-auth.json');
    for (const [reg, user, file] of [
      [basic, 'alice', srcFile],
      [other, 'bob', destFile],
    ] as const) {
      const r = await runCli(
        ['login', reg.host, '-u', user, '--password-stdin', '--authfile', file],
        {
          stdin: `${user}-pass\n`,
          env: home,
        },
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const files = await runCli(
      [
        'copy',
        from,
        `${other.host}/copied/app:2`,
        '--src-authfile',
        srcFile,
        '--dest-authfile',
        destFile,
      ],
      { env: home },
    );
    assert.equal(files.code, 0, files.stderr);
    const second = await skopeoWith(
      [
        'inspect',
        '--tls-verify=false',
        '--creds',
        'bob:bob-pass',
        '--raw',
        `docker://${other.host}/copied/app:2`,
      ],
      home,
    );
    assert.equal(second.stdout, image.manifestBytes.toString('utf8'));

    const bad = await runCli(['copy', from, `${other.host}/copied/app:3`, '--src-creds', 'alice'], {
      env: home,
    });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'ocipeek: --src-creds takes USER:PASSWORD\n');
  });
});
