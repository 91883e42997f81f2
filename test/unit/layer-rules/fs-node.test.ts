import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FsNode, Owners, ownName } from '../../../src/layer-rules/fs-node.js';
import type { TarEntryType } from '../../../src/tar/index.js';
import { file } from '../fs/entries.js';

const TYPES: TarEntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];

describe('FsNode (packed fields)', () => {
  it('keeps every type with any layer, and the type when the layer changes', () => {
    for (const type of TYPES) {
      for (const layer of [0, 1, 127, 1000, 2 ** 27 - 1]) {
        const node = new FsNode(type, 5, 0o640, 7, layer, 1024, 1536);
        assert.equal(node.type, type);
        assert.equal(node.layer, layer);
        node.assign(file('x', 5, { type }), layer === 0 ? 3 : layer - 1, new Owners());
        assert.equal(node.type, type, 'assign keeps the node type');
        assert.equal(node.layer, layer === 0 ? 3 : layer - 1);
      }
    }
    const dir = FsNode.impliedDir(9);
    dir.assign(file('d', 0, { type: 'dir', uid: 5 }), 10, new Owners());
    dir.resetImplied(12);
    assert.deepEqual(
      [dir.type, dir.layer, dir.uid, dir.mode, dir.implied],
      ['dir', 12, 0, 0o755, true],
    );
  });

  it('shares one owner between equal owners, and tells apart what differs', () => {
    const owners = new Owners();
    const a = owners.of(file('a', 0, { uid: 1000, gid: 100, uname: 'app', gname: 'users' }));
    const other = owners.of(file('b', 0, { uid: 0, gid: 0 }));
    const b = owners.of(file('c', 0, { uid: 1000, gid: 100, uname: 'app', gname: 'users' }));
    assert.equal(a, b, 'the same object, not only equal');
    assert.notEqual(a, other);
    assert.deepEqual(other, { uid: 0, gid: 0, uname: undefined, gname: undefined });
    const empty = owners.of(file('d', 0, { uid: 0, gid: 0, uname: '', gname: '' }));
    assert.equal(empty.uname, '', 'an empty name is not a missing one');
    assert.equal(owners.of(file('e', 0, { uid: 0, gid: 0 })).uname, undefined);
    const node = new FsNode('file', 0, 0, 0, 0, 0, 0);
    node.assign(file('f', 0, { uid: 1000, gid: 100, uname: 'app', gname: 'users' }), 0, owners);
    assert.deepEqual([node.uid, node.gid, node.uname, node.gname], [1000, 100, 'app', 'users']);
  });

  it('keeps a hardlink content node beside the rare fields, with or without them', () => {
    const owners = new Owners();
    const content = new FsNode('file', 3, 0o644, 0, 0, 0, 512);
    const plain = new FsNode('hardlink', 0, 0, 0, 1, 0, 0);
    plain.assign(file('l', 0, { type: 'hardlink', linkname: 'f' }), 1, owners);
    assert.equal(plain.linkTarget, undefined);
    plain.linkTarget = content;
    assert.equal(plain.linkTarget, content);
    const rare = new FsNode('hardlink', 0, 0, 0, 1, 0, 0);
    rare.assign(file('m', 0, { type: 'hardlink', xattrs: { 'user.a': 'b' } }), 1, owners);
    rare.linkTarget = content;
    assert.equal(rare.linkTarget, content);
    assert.deepEqual(rare.extra?.xattrs, { 'user.a': 'b' });
  });

  it('ownName gives the same text, whatever its length and characters', () => {
    for (const name of [
      'a',
      'module-file-12345.js',
      'x'.repeat(300),
      '\ud800lone-surrogate-name',
      'quote"back\\slash\nnl',
    ]) {
      const path = `usr/lib/${name}`;
      assert.equal(ownName(path.slice(8)), name);
    }
  });
});
