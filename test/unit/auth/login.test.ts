import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authFileWritePath, Keychain, login, logout } from '../../../src/auth/index.js';
import { CredentialsError } from '../../../src/errors/index.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ocipeek-login-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('authFileWritePath', () => {
  it('follows podman: authFile, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, home', () => {
    const homeDir = '/h';
    assert.equal(authFileWritePath({ authFile: '/a.json', env: {}, homeDir }), '/a.json');
    assert.equal(
      authFileWritePath({
        env: { REGISTRY_AUTH_FILE: '/r.json', XDG_RUNTIME_DIR: '/run' },
        homeDir,
      }),
      '/r.json',
    );
    assert.equal(
      authFileWritePath({ env: { XDG_RUNTIME_DIR: '/run', XDG_CONFIG_HOME: '/c' }, homeDir }),
      '/run/containers/auth.json',
    );
    assert.equal(
      authFileWritePath({ env: { XDG_CONFIG_HOME: '/c' }, homeDir }),
      '/c/containers/auth.json',
    );
    assert.equal(authFileWritePath({ env: {}, homeDir }), '/h/.config/containers/auth.json');
  });
});

describe('login and logout', () => {
  it('round-trips through the keychain, with a 0700 directory and a 0600 file', async () => {
    const home = join(root, 'round-trip');
    const env = { XDG_RUNTIME_DIR: join(home, 'run') };
    const path = await login(
      'reg.example:5000',
      { username: 'alice', password: 'pa:ss' },
      { env, homeDir: home },
    );
    assert.equal(path, join(home, 'run/containers/auth.json'));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, 'run/containers'))).mode & 0o777, 0o700);
    const written = JSON.parse(await readFile(path, 'utf8'));
    assert.deepEqual(written, {
      auths: { 'reg.example:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') } },
    });

    const kc = new Keychain({ env, homeDir: home });
    assert.deepEqual(await kc.resolve('reg.example:5000', 'x/y'), {
      username: 'alice',
      password: 'pa:ss',
    });
    assert.equal(await logout('reg.example:5000', { env, homeDir: home }), true);
    assert.equal(await kc.resolve('reg.example:5000', 'x/y'), undefined);
    assert.equal(await logout('reg.example:5000', { env, homeDir: home }), false);
    // No temp files are left beside the auth file.
    assert.deepEqual(await readdir(join(home, 'run/containers')), ['auth.json']);
  });

  it('keeps other entries and fields, and replaces older spellings of the same key', async () => {
    const dir = join(root, 'preserve');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'auth.json');
    const other = { auth: Buffer.from('bob:b').toString('base64') };
    await writeFile(
      file,
      JSON.stringify({
        auths: { 'other.example': other, 'https://index.docker.io/v1/': { auth: 'b2xkOm9sZA==' } },
        credHelpers: { 'gcr.io': 'gcloud' },
        custom: { keep: true },
      }),
      { mode: 0o644 },
    );
    await login('docker.io', { identityToken: 'refresh-1' }, { authFile: file });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      auths: { 'other.example': other, 'docker.io': { identitytoken: 'refresh-1' } },
      credHelpers: { 'gcr.io': 'gcloud' },
      custom: { keep: true },
    });
    await login('reg.example/team/app', { username: 'c', password: 'd' }, { authFile: file });
    const kc = new Keychain({ authFile: file });
    assert.deepEqual(await kc.resolve('registry-1.docker.io', 'library/a'), {
      identityToken: 'refresh-1',
    });
    assert.deepEqual(await kc.resolve('reg.example', 'team/app'), { username: 'c', password: 'd' });
    assert.equal(await kc.resolve('reg.example', 'team/other'), undefined);

    assert.equal(await logout('index.docker.io', { authFile: file }), true);
    assert.deepEqual(Object.keys(JSON.parse(await readFile(file, 'utf8')).auths).sort(), [
      'other.example',
      'reg.example/team/app',
    ]);
  });

  it('refuses to overwrite a malformed auth file and to store nothing', async () => {
    const dir = join(root, 'malformed');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'auth.json');
    await writeFile(file, '{ broken');
    await assert.rejects(
      login('reg.example', { username: 'u', password: 'p' }, { authFile: file }),
      CredentialsError,
    );
    assert.equal(await readFile(file, 'utf8'), '{ broken');
    await assert.rejects(login('reg.example', {}, { authFile: join(dir, 'x.json') }), /needs a/);
  });
});
