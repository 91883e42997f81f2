import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { familiarTag, pickEntry, safeEntryPath } from '../../../src/archive/index.js';
import { rewriteIndex, selectEntries } from '../../../src/copy/index.js';
import { digestOf } from '../../../src/digest/index.js';
import {
  InvalidReferenceError,
  InvalidTarError,
  PlatformNotFoundError,
  UnsupportedError,
} from '../../../src/errors/index.js';
import type { ImageIndex } from '../../../src/media/index.js';
import { formatPlace, parsePlace } from '../../../src/source/index.js';

describe('parsePlace', () => {
  it('reads registry references with or without docker://', () => {
    const a = parsePlace('docker://127.0.0.1:5000/app:1');
    const b = parsePlace('127.0.0.1:5000/app:1');
    assert.equal(a.kind, 'registry');
    assert.equal(a.kind === 'registry' && a.ref.toString(), '127.0.0.1:5000/app:1');
    // A bare reference keeps how it was typed (short names resolve through registries.conf).
    assert.deepEqual({ ...a, explicit: false, typed: '127.0.0.1:5000/app:1' }, b);
    // docker:// means the registry only; a bare reference may be read from the store.
    assert.equal(a.kind === 'registry' && a.explicit, true);
    assert.equal(b.kind === 'registry' && b.explicit, false);
    const c = parsePlace('alpine');
    assert.equal(c.kind === 'registry' && c.ref.toString(), 'docker.io/library/alpine:latest');
  });

  it('splits local places at the first colon, as skopeo does', () => {
    assert.deepEqual(parsePlace('oci:/tmp/l:v1'), { kind: 'oci', path: '/tmp/l', tag: 'v1' });
    assert.deepEqual(parsePlace('oci:/tmp/l'), { kind: 'oci', path: '/tmp/l', tag: undefined });
    assert.deepEqual(parsePlace('oci-archive:a.tar:v1'), {
      kind: 'oci-archive',
      path: 'a.tar',
      tag: 'v1',
    });
    assert.deepEqual(parsePlace('docker-archive:/x/a.tar:example.com/app:1.0'), {
      kind: 'docker-archive',
      path: '/x/a.tar',
      ref: 'example.com/app:1.0',
    });
    const s = parsePlace('store:app:2');
    assert.equal(s.kind === 'store' && s.ref.toString(), 'docker.io/library/app:2');
  });

  it('round-trips through formatPlace and refuses transports it does not speak', () => {
    for (const p of [
      'oci:/a:b',
      'oci-archive:/f.tar',
      'docker-archive:/f.tar:app:1',
      'docker://127.0.0.1:5000/app:1',
      '127.0.0.1:5000/app:1',
      'store:127.0.0.1:5000/app:1',
    ]) {
      assert.equal(formatPlace(parsePlace(p)), p);
    }
    assert.throws(() => parsePlace('containers-storage:app'), UnsupportedError);
    assert.throws(() => parsePlace('dir:/tmp/x'), UnsupportedError);
  });

  it('refuses paths and URLs, saying what to write instead', () => {
    for (const path of ['/tmp/dir', './layout', '../up', '.', '~/images']) {
      assert.throws(
        () => parsePlace(path),
        (e: unknown) =>
          e instanceof InvalidReferenceError &&
          e.message.includes(`a path is not an image reference: write oci:${path} `),
        path,
      );
    }
    assert.throws(
      () => parsePlace('http://127.0.0.1:5000/app:1'),
      /references have no URL scheme: write 127\.0\.0\.1:5000\/app:1 \(plain HTTP: add --plain-http/,
    );
    assert.throws(
      () => parsePlace('https://ghcr.io/team/app'),
      /references have no URL scheme: write ghcr\.io\/team\/app \(HTTPS is the default\)/,
    );
    // A relative name without ./ is still a reference, as in docker.
    assert.equal(parsePlace('team/app').kind, 'registry');
  });
});

describe('safeEntryPath', () => {
  it('keeps inner paths and refuses escapes', () => {
    assert.equal(safeEntryPath('./blobs/sha256/ab', 'f'), 'blobs/sha256/ab');
    assert.equal(safeEntryPath('blobs/', 'f'), 'blobs');
    assert.equal(safeEntryPath('./', 'f'), '');
    assert.equal(safeEntryPath('.', 'f'), '');
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '..']) {
      assert.throws(() => safeEntryPath(bad, 'f.tar'), InvalidTarError, bad);
    }
  });
});

describe('platform subsets', () => {
  const d = (n: string) => digestOf(n);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'm',
        digest: d('amd'),
        size: 1,
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: 'm',
        digest: d('arm64'),
        size: 1,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
      {
        mediaType: 'm',
        digest: d('att'),
        size: 1,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': d('amd'),
        },
      },
    ],
    annotations: { keep: 'me' },
  };

  it('keeps the chosen platforms and their attestations, in index order', () => {
    const kept = selectEntries(index, [{ os: 'linux', architecture: 'amd64' }]);
    assert.deepEqual(
      kept.map((k) => k.digest),
      [d('amd'), d('att')],
    );
    const arm = selectEntries(index, [{ os: 'linux', architecture: 'arm64' }]);
    assert.deepEqual(
      arm.map((k) => k.digest),
      [d('arm64')],
    );
    assert.throws(
      () => selectEntries(index, [{ os: 'linux', architecture: 's390x' }]),
      PlatformNotFoundError,
    );
  });

  it('rewrites the index keeping its other fields, with a new digest', () => {
    const bytes = Buffer.from(JSON.stringify(index));
    const original = { bytes, mediaType: index.mediaType as string, digest: digestOf(bytes) };
    const out = rewriteIndex(original, index, [index.manifests[0]!]);
    const parsed = JSON.parse(out.bytes.toString()) as ImageIndex;
    assert.equal(parsed.manifests.length, 1);
    assert.deepEqual(parsed.annotations, { keep: 'me' });
    assert.equal(out.digest, digestOf(out.bytes));
    assert.notEqual(out.digest, original.digest);
  });
});

describe('docker archive names', () => {
  it('writes RepoTags the way docker save does', () => {
    assert.equal(familiarTag('docker.io/library/alpine:3'), 'alpine:3');
    assert.equal(familiarTag('docker.io/team/app:1'), 'team/app:1');
    assert.equal(familiarTag('127.0.0.1:5000/app:v1'), '127.0.0.1:5000/app:v1');
    assert.equal(familiarTag('127.0.0.1:5000/app'), undefined);
  });

  it('picks an image by RepoTag, @N, or as the only one', () => {
    const entries = [
      { Config: 'a.json', RepoTags: ['alpine:3'], Layers: [] },
      { Config: 'b.json', RepoTags: ['example.com/b:1'], Layers: [] },
    ];
    assert.equal(pickEntry(entries, 'docker.io/library/alpine:3', 'f').Config, 'a.json');
    assert.equal(pickEntry(entries, '@1', 'f').Config, 'b.json');
    assert.throws(() => pickEntry(entries, undefined, 'f'), /holds 2 images/);
    assert.equal(pickEntry([entries[0]!], undefined, 'f').Config, 'a.json');
    assert.throws(() => pickEntry(entries, 'nope:1', 'f'), /no image tagged/);
  });
});
