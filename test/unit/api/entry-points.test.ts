import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// These tests use the built package (dist/, made by `npm test` before the tests run),
// imported by its own name as an importer would: `ocipeek/registry` etc.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
const SUBPATHS = Object.keys(pkg.exports)
  .filter((k) => k !== '.' && k !== './package.json')
  .map((k) => k.slice(2));

/**
 * A loader hook, given to a fresh node as a data: URL, that prints every module of dist/
 * the import loads (as `folder/file.js`).
 */
const HOOK = `data:text/javascript,${encodeURIComponent(
  "export async function load(url, context, next) { if (url.includes('/dist/')) process.stderr.write('LOADED ' + url.slice(url.lastIndexOf('/dist/') + 6) + '\\n'); return next(url, context); }",
)}`;
const REGISTER = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(HOOK)});`,
)}`;

/** The top folders of dist/ a fresh node loads for `import(specifier)`. */
function foldersLoadedBy(specifier: string): Set<string> {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      REGISTER,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(specifier)})`,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  assert.equal(r.status, 0, r.stderr);
  const loaded = [...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
  assert.ok(loaded.length > 0, `the hook saw no module of ${specifier}`);
  return new Set(loaded.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : p)));
}

describe('subpath entry points', () => {
  it('each loads only what it needs (the root loads everything)', () => {
    const all = foldersLoadedBy('ocipeek');
    for (const heavy of ['unpack', 'server', 'fs', 'lazy', 'copy', 'tar']) {
      assert.ok(all.has(heavy), `the root import loads ${heavy}/ (else the probe is blind)`);
    }
    const mustNotLoad: Record<string, string[]> = {
      registry: [
        'store',
        'image',
        'fs',
        'tar',
        'compression',
        'unpack',
        'lazy',
        'copy',
        'archive',
        'server',
        'native',
      ],
      store: ['fs', 'tar', 'compression', 'unpack', 'lazy', 'copy', 'archive', 'server', 'native'],
      image: ['fs', 'tar', 'compression', 'unpack', 'lazy', 'copy', 'archive', 'server', 'native'],
      fs: ['unpack', 'lazy', 'copy', 'archive', 'server'],
      unpack: ['fs', 'lazy', 'copy', 'archive', 'server'],
      server: ['fs', 'tar', 'unpack', 'lazy', 'copy', 'archive'],
      proxy: ['fs', 'unpack', 'lazy', 'image'],
    };
    for (const [subpath, forbidden] of Object.entries(mustNotLoad)) {
      const loaded = foldersLoadedBy(`ocipeek/${subpath}`);
      const own = subpath === 'proxy' ? 'server' : subpath;
      assert.ok(loaded.has(own), `${subpath} loads itself`);
      const extra = forbidden.filter((f) => loaded.has(f));
      assert.deepEqual(extra, [], `ocipeek/${subpath} loads ${extra.join(', ')}`);
    }
  });

  it('together export exactly the root API, the same objects', async () => {
    const root = (await import(join(ROOT, 'dist/index.js'))) as Record<string, unknown>;
    const union = new Map<string, unknown>();
    for (const subpath of SUBPATHS) {
      const mod = (await import(join(ROOT, `dist/api/${subpath}.js`))) as Record<string, unknown>;
      assert.ok(Object.keys(mod).length > 0, subpath);
      for (const [name, value] of Object.entries(mod)) {
        if (union.has(name))
          assert.equal(union.get(name), value, `${name} differs between entries`);
        union.set(name, value);
        assert.equal(root[name], value, `ocipeek/${subpath} exports ${name}, the root does not`);
      }
    }
    assert.deepEqual([...union.keys()].sort(), Object.keys(root).sort());
  });
});

describe('await using', () => {
  it('closes a registry server when its block ends', async () => {
    const { startRegistryServer } = (await import(
      join(ROOT, 'dist/api/server.js')
    )) as typeof import('../../../src/api/server.js');
    let port: number;
    {
      await using server = await startRegistryServer({ roots: [], listen: '127.0.0.1:0' });
      port = server.port;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve();
        }).on('error', reject);
      });
    }
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve('connected');
      }).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
  });

  it('releases a store lock when its block ends', async () => {
    const { mkdtemp, rm, stat } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { FileLock } = await import('../../../src/store/file-lock.js');
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-dispose-'));
    try {
      const path = join(dir, 'lock');
      {
        await using _lock = await FileLock.acquire(path);
        assert.ok((await stat(path)).isFile());
      }
      await assert.rejects(stat(path), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
