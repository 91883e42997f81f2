import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setXattrs, XattrSetter } from '../../../src/unpack/special-files.js';

/** Read one xattr without following symlinks, as python sees it (hex, or null when absent). */
function readXattr(path: string, name: string): string | null {
  const out = execFileSync('python3', [
    '-c',
    'import os, sys\ntry: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())\nexcept OSError: print("-")',
    path,
    name,
  ]).toString();
  return out.trim() === '-' ? null : out.trim();
}

describe('XattrSetter (python3)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-xattr-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sets binary, empty and non-ASCII values on files with spaces and emoji in their names', async () => {
    const a = join(dir, 'a file ✓');
    const b = join(dir, 'b');
    await writeFile(a, 'x');
    await writeFile(b, 'y');
    const setter = new XattrSetter();
    const messages = await setter.set([
      { abs: a, name: 'user.rootlesscontainers', value: '\x10\x2a' },
      { abs: a, name: 'user.empty', value: '' },
      { abs: b, name: 'user.bytes', value: Buffer.from([0, 0xff, 0x80, 0x20]).toString('latin1') },
    ]);
    assert.deepEqual(messages, []);
    assert.equal(readXattr(a, 'user.rootlesscontainers'), '102a');
    assert.equal(readXattr(a, 'user.empty'), '');
    assert.equal(readXattr(b, 'user.bytes'), '00ff8020');
  });

  it('reports each attribute it could not set, naming path and attribute, and sets the rest', async () => {
    const ok = join(dir, 'ok');
    await writeFile(ok, 'z');
    const missing = join(dir, 'no such file');
    const messages = await setXattrs([
      { abs: missing, name: 'user.a', value: 'v' },
      { abs: ok, name: 'user.b', value: 'w' },
    ]);
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /no such file: xattr user\.a not set: No such file or directory/);
    assert.equal(readXattr(ok, 'user.b'), Buffer.from('w').toString('hex'));
  });

  it('does not follow a symlink: the attribute lands on the link or fails, never on its target', async () => {
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    await writeFile(target, 't');
    await symlink(target, link);
    await setXattrs([{ abs: link, name: 'user.x', value: 'v' }]);
    assert.equal(readXattr(target, 'user.x'), null);
  });

  it('started ahead and given nothing, ends quietly; cancelled, sets nothing', async () => {
    assert.deepEqual(await new XattrSetter().set([]), []);
    const f = join(dir, 'cancelled');
    await writeFile(f, 'c');
    const setter = new XattrSetter();
    setter.cancel();
    const messages = await setter.set([{ abs: f, name: 'user.c', value: 'v' }]);
    assert.equal(messages.length, 1);
    assert.match(
      messages[0]!,
      /1 xattrs not set \(python3 setxattr unavailable: python3 was stopped by SIGTERM\)/,
    );
    assert.equal(readXattr(f, 'user.c'), null);
  });
});
