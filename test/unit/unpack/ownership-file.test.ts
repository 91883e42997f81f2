import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unpackLayers } from '../../../src/unpack/index.js';
import type { LayerEntry } from '../../harness/layers.js';
import { buildLayers, type Sandbox, sandbox } from './helpers.js';

/**
 * The rootless ownership record is written as bytes, path by path (unpack/finish.ts); it
 * must be exactly `JSON.stringify` of the record the result gives, names JSON escapes
 * included, across its 256 KiB write pieces.
 */
describe('unpack: the rootless ownership file', () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(async () => {
    await box.remove();
  });

  it('is JSON.stringify of the ownership record, byte for byte', async () => {
    const odd = [
      'quote"d',
      'back\\slash',
      'tab\there',
      'caf\u00e9',
      'emoji\u{1f600}',
      'line\nfeed',
    ];
    const entries: LayerEntry[] = [
      { path: 'a/', uid: 1000, gid: 1000, mode: 0o750 },
      { path: 'a/b/', mode: 0o2775 },
      { path: 'a/b/run.sh', content: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 50 },
      { path: 'a/link', type: 'symlink', linkname: 'b/run.sh' },
      { path: 'a/hard', type: 'hardlink', linkname: 'a/b/run.sh' },
      { path: 'a/fifo', type: 'fifo', mode: 0o600, uid: 7, gid: 7 },
      ...odd.flatMap((name): LayerEntry[] => [
        { path: `${name}/`, mode: 0o700 },
        { path: `${name}/${name}`, content: name, uid: 65534, gid: 65534 },
      ]),
    ];
    // Enough paths (~10,000, ~80 bytes of record each) to cross several write pieces.
    for (let d = 0; d < 20; d++) {
      entries.push({ path: `many/d${d}/` });
      for (let f = 0; f < 500; f++) {
        entries.push({
          path: `many/d${d}/file-${f}.txt`,
          content: '',
          mode: f % 3 ? 0o644 : 0o600,
        });
      }
    }
    const dir = path.join(box.base.path, 'rootfs');
    const ownershipFile = path.join(box.base.path, 'ownership.json');
    const result = await unpackLayers(await buildLayers([entries]), dir, {
      rootless: true,
      ownershipFile,
    });
    const written = readFileSync(ownershipFile);
    assert.ok(written.length > 600 * 1024, `${written.length} bytes`);
    const expected = Buffer.from(`${JSON.stringify(result.ownership)}\n`, 'utf8');
    assert.equal(written.toString('utf8'), expected.toString('utf8'));
    assert.ok(written.equals(expected));
    const record = JSON.parse(written.toString('utf8'));
    assert.deepEqual(record.entries['/a/b/run.sh'], {
      type: 'file',
      uid: 0,
      gid: 50,
      mode: 0o4755,
    });
    assert.deepEqual(record.entries['/a/hard'], { type: 'file', uid: 0, gid: 50, mode: 0o4755 });
    assert.deepEqual(record.entries['/a/fifo'], { type: 'fifo', uid: 7, gid: 7, mode: 0o600 });
    for (const name of odd) {
      assert.deepEqual(record.entries[`/${name}/${name}`], {
        type: 'file',
        uid: 65534,
        gid: 65534,
        mode: 0o644,
      });
    }
  });
});
