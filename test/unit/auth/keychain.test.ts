import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  authFileSearchPath,
  encodeBasicAuth,
  Keychain,
  normalizeAuthKey,
} from '../../../src/auth/index.js';
import { CredentialsError } from '../../../src/errors/index.js';

let root: string;
let bin: string;
let helperLog: string;
let caseNo = 0;

/** A fresh home directory and environment for one test; nothing points at the real home. */
async function sandbox(): Promise<{ home: string; env: NodeJS.ProcessEnv }> {
  const home = join(root, `case-${++caseNo}`);
  await mkdir(home, { recursive: true });
  const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HELPER_LOG: helperLog };
  return { home, env };
}

async function writeJson(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(data));
}

function auth(user: string, pass: string) {
  return { auth: encodeBasicAuth(user, pass) };
}

async function writeHelper(name: string, script: string): Promise<void> {
  const path = join(bin, `docker-credential-${name}`);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ocipeek-keychain-'));
  bin = join(root, 'bin');
  helperLog = join(root, 'helper.log');
  await mkdir(bin);
  await writeHelper(
    'test',
    `read -r server
echo "$server" >> "$HELPER_LOG"
case "$server" in
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"hub-secret"}' ;;
  helper.example) echo '{"ServerURL":"helper.example","Username":"<token>","Secret":"refresh-xyz"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
  );
  await writeHelper('broken', 'cat >/dev/null; echo "keychain is locked" >&2; exit 3');
  await writeHelper('leaky', 'cat >/dev/null; echo "Secret: leaked-secret-value"');
  await writeHelper('slow', 'exec sleep 30');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('authFileSearchPath', () => {
  it('lists the containers and docker locations in order, skipping unset variables', () => {
    assert.deepEqual(authFileSearchPath({ env: {}, homeDir: '/h' }), [
      '/h/.config/containers/auth.json',
      '/h/.docker/config.json',
    ]);
    assert.deepEqual(
      authFileSearchPath({
        env: {
          REGISTRY_AUTH_FILE: '/r/auth.json',
          XDG_RUNTIME_DIR: '/run/user/1',
          XDG_CONFIG_HOME: '/cfg',
          DOCKER_CONFIG: '/dc',
        },
        homeDir: '/h',
      }),
      [
        '/r/auth.json',
        '/run/user/1/containers/auth.json',
        '/cfg/containers/auth.json',
        '/dc/config.json',
      ],
    );
    assert.deepEqual(
      authFileSearchPath({ authFile: '/x.json', env: { XDG_RUNTIME_DIR: '/r' }, homeDir: '/h' }),
      ['/x.json'],
    );
  });
});

describe('normalizeAuthKey', () => {
  it('folds Docker Hub aliases and URL keys, keeps repository paths', () => {
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeAuthKey('index.docker.io'), 'docker.io');
    assert.equal(normalizeAuthKey('registry-1.docker.io'), 'docker.io');
    assert.equal(normalizeAuthKey('http://Reg.Example:5000/v2/'), 'reg.example:5000');
    assert.equal(normalizeAuthKey('reg.example/team/app/'), 'reg.example/team/app');
    assert.equal(normalizeAuthKey('index.docker.io/library/alpine'), 'docker.io/library/alpine');
  });
});

describe('Keychain', () => {
  it('finds nothing when no auth file exists', async () => {
    const { home, env } = await sandbox();
    const kc = new Keychain({ env, homeDir: home });
    assert.equal(await kc.resolve('reg.example', 'a/b'), undefined);
  });

  it('reads each search location on its own', async () => {
    const locations: Array<(home: string) => [NodeJS.ProcessEnv, string]> = [
      (h) => [{ REGISTRY_AUTH_FILE: join(h, 'custom.json') }, join(h, 'custom.json')],
      (h) => [{ XDG_RUNTIME_DIR: join(h, 'run') }, join(h, 'run/containers/auth.json')],
      (h) => [{ XDG_CONFIG_HOME: join(h, 'cfg') }, join(h, 'cfg/containers/auth.json')],
      (h) => [{}, join(h, '.config/containers/auth.json')],
      (h) => [{ DOCKER_CONFIG: join(h, 'dc') }, join(h, 'dc/config.json')],
      (h) => [{}, join(h, '.docker/config.json')],
    ];
    for (const [i, location] of locations.entries()) {
      const { home, env } = await sandbox();
      const [extra, file] = location(home);
      await writeJson(file, { auths: { 'reg.example:5000': auth(`user${i}`, `pw:${i}`) } });
      const kc = new Keychain({ env: { ...env, ...extra }, homeDir: home });
      assert.deepEqual(
        await kc.resolve('reg.example:5000', 'team/app'),
        { username: `user${i}`, password: `pw:${i}` },
        file,
      );
      assert.equal(await kc.resolve('other.example', 'team/app'), undefined, file);
    }
  });

  it('takes the first file with a match and falls through files without one', async () => {
    const { home, env } = await sandbox();
    const runtime = join(home, 'run');
    await writeJson(join(runtime, 'containers/auth.json'), {
      auths: { 'reg.example': auth('runtime', 'r') },
    });
    await writeJson(join(home, '.docker/config.json'), {
      auths: { 'reg.example': auth('docker', 'd'), 'only-docker.example': auth('docker2', 'd2') },
    });
    const kc = new Keychain({ env: { ...env, XDG_RUNTIME_DIR: runtime }, homeDir: home });
    assert.equal((await kc.resolve('reg.example'))?.username, 'runtime');
    assert.equal((await kc.resolve('only-docker.example'))?.username, 'docker2');
  });

  it('reads only the explicit authFile when one is given', async () => {
    const { home, env } = await sandbox();
    const explicit = join(home, 'explicit.json');
    await writeJson(explicit, { auths: { 'a.example': auth('explicit', 'e') } });
    await writeJson(join(home, '.docker/config.json'), {
      auths: { 'a.example': auth('docker', 'd'), 'b.example': auth('docker', 'd') },
    });
    const kc = new Keychain({ authFile: explicit, env, homeDir: home });
    assert.equal((await kc.resolve('a.example'))?.username, 'explicit');
    assert.equal(await kc.resolve('b.example'), undefined);
  });

  it('prefers the most specific per-repository key', async () => {
    const { home, env } = await sandbox();
    await writeJson(join(home, '.config/containers/auth.json'), {
      auths: {
        'reg.example': auth('registry', 'x'),
        'reg.example/team': auth('team', 'x'),
        'reg.example/team/app': auth('app', 'x'),
      },
    });
    const kc = new Keychain({ env, homeDir: home });
    assert.equal((await kc.resolve('reg.example', 'team/app'))?.username, 'app');
    assert.equal((await kc.resolve('reg.example', 'team/app/sub'))?.username, 'app');
    assert.equal((await kc.resolve('reg.example', 'team/other'))?.username, 'team');
    assert.equal((await kc.resolve('reg.example', 'teams/app'))?.username, 'registry');
    assert.equal((await kc.resolve('reg.example'))?.username, 'registry');
  });

  it('treats every Docker Hub alias as Docker Hub', async () => {
    for (const key of [
      'https://index.docker.io/v1/',
      'index.docker.io',
      'registry-1.docker.io',
      'docker.io',
    ]) {
      const { home, env } = await sandbox();
      await writeJson(join(home, '.docker/config.json'), { auths: { [key]: auth('hub', 'h') } });
      const kc = new Keychain({ env, homeDir: home });
      for (const registry of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
        assert.deepEqual(
          await kc.resolve(registry, 'library/alpine'),
          { username: 'hub', password: 'h' },
          `${key} for ${registry}`,
        );
      }
    }
  });

  it('returns identity and registry tokens from auths entries', async () => {
    const { home, env } = await sandbox();
    await writeJson(join(home, '.docker/config.json'), {
      auths: {
        'id.example': { identitytoken: 'refresh-1' },
        'reg-token.example': { registrytoken: 'bearer-1' },
        'empty.example': {},
      },
    });
    const kc = new Keychain({ env, homeDir: home });
    assert.deepEqual(await kc.resolve('id.example'), { identityToken: 'refresh-1' });
    assert.deepEqual(await kc.resolve('reg-token.example'), { registryToken: 'bearer-1' });
    assert.equal(await kc.resolve('empty.example'), undefined);
  });

  it('runs credHelpers and credsStore helpers with the server URL on stdin', async () => {
    const { home, env } = await sandbox();
    await writeFile(helperLog, '');
    await writeJson(join(home, '.docker/config.json'), {
      auths: { 'https://index.docker.io/v1/': {}, 'file.example': auth('fromfile', 'f') },
      credHelpers: { 'helper.example': 'test' },
      credsStore: 'test',
    });
    const kc = new Keychain({ env, homeDir: home });
    assert.deepEqual(await kc.resolve('helper.example', 'a/b'), { identityToken: 'refresh-xyz' });
    assert.deepEqual(await kc.resolve('docker.io', 'library/alpine'), {
      username: 'hubuser',
      password: 'hub-secret',
    });
    assert.deepEqual(await kc.resolve('file.example'), { username: 'fromfile', password: 'f' });
    // The store has nothing for this one: "credentials not found" means none, not an error.
    assert.equal(await kc.resolve('nowhere.example'), undefined);
    const asked = (await readFile(helperLog, 'utf8')).trim().split('\n');
    assert.deepEqual(asked, ['helper.example', 'https://index.docker.io/v1/', 'nowhere.example']);
  });

  it('reports a failing helper by name without its secret', async () => {
    const { home, env } = await sandbox();
    await writeJson(join(home, '.docker/config.json'), {
      credHelpers: { 'broken.example': 'broken', 'leaky.example': 'leaky', 'gone.example': 'gone' },
    });
    const kc = new Keychain({ env, homeDir: home });
    await assert.rejects(kc.resolve('broken.example'), (err: Error) => {
      assert.ok(err instanceof CredentialsError);
      assert.match(err.message, /docker-credential-broken failed \(exit 3\).*keychain is locked/);
      return true;
    });
    await assert.rejects(kc.resolve('leaky.example'), (err: Error) => {
      assert.ok(err instanceof CredentialsError);
      assert.match(err.message, /docker-credential-leaky returned invalid JSON/);
      assert.doesNotMatch(err.message, /leaked-secret-value/);
      return true;
    });
    await assert.rejects(kc.resolve('gone.example'), (err: Error) => {
      assert.ok(err instanceof CredentialsError);
      assert.match(err.message, /docker-credential-gone not found/);
      return true;
    });
  });

  it('kills a helper that outlives the timeout, and one whose caller aborts', async () => {
    const { home, env } = await sandbox();
    await writeJson(join(home, '.docker/config.json'), { credsStore: 'slow' });
    const kc = new Keychain({ env, homeDir: home, helperTimeoutMs: 200 });
    await assert.rejects(kc.resolve('any.example'), /docker-credential-slow timed out/);
    const patient = new Keychain({ env, homeDir: home });
    const ac = new AbortController();
    const pending = patient.resolve('any.example', undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop now')), 50);
    await assert.rejects(pending, /stop now/);
  });

  it('names a malformed auth file without quoting it', async () => {
    const { home, env } = await sandbox();
    const file = join(home, '.docker/config.json');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, '{"auths": {"reg.example": {"auth": "c2VjcmV0LXB3"}},,}');
    const kc = new Keychain({ env, homeDir: home });
    await assert.rejects(kc.resolve('reg.example'), (err: Error) => {
      assert.ok(err instanceof CredentialsError);
      assert.ok(err.message.includes(file), err.message);
      assert.doesNotMatch(err.message, /c2VjcmV0LXB3/);
      return true;
    });
    await writeFile(file, JSON.stringify({ auths: { 'reg.example': { auth: 'bm9jb2xvbg==' } } }));
    await assert.rejects(kc.resolve('reg.example'), /"auth" for "reg.example" is not base64/);
    await writeFile(file, JSON.stringify({ auths: ['reg.example'] }));
    await assert.rejects(kc.resolve('reg.example'), /"auths" is not an object/);
  });

  it('uses explicit credentials for every registry without reading files', async () => {
    const { home, env } = await sandbox();
    await writeFile(join(home, 'broken.json'), 'not json');
    const kc = new Keychain({
      authFile: join(home, 'broken.json'),
      env,
      homeDir: home,
      credentials: { username: 'u', password: 'p' },
    });
    assert.deepEqual(await kc.resolve('a.example'), { username: 'u', password: 'p' });
    assert.deepEqual(await kc.resolve('docker.io', 'library/x'), { username: 'u', password: 'p' });
  });
});
