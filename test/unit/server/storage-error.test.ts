import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  blobReferenced,
  blobTooLarge,
  chunkOutOfOrder,
  chunkTooLong,
  digestInvalid,
  manifestBlobsUnknown,
  manifestReferenced,
  RegistryStorageError,
  uploadBusy,
} from '../../../src/server/storage/storage-error.js';

/**
 * The refusals both storage backends (the store and S3) raise: one definition each, so a
 * client sees the same problem, text and detail whichever backend serves it.
 */
describe('the refusals the storage backends share', () => {
  const cases: [RegistryStorageError, string, string, object | undefined][] = [
    [
      digestInvalid('sha256:aa', 'sha256', 'bb'),
      'digest-invalid',
      'uploaded bytes hash to sha256:bb, not sha256:aa',
      undefined,
    ],
    [
      manifestBlobsUnknown('lib/app', ['sha256:1', 'sha256:2']),
      'manifest-blob-unknown',
      'manifest references content unknown to lib/app: sha256:1, sha256:2',
      { digests: ['sha256:1', 'sha256:2'] },
    ],
    [
      blobReferenced('lib/app', 'sha256:1'),
      'referenced',
      'blob sha256:1 is part of an image tagged in lib/app; delete that tag first',
      undefined,
    ],
    [
      manifestReferenced('lib/app', 'sha256:1'),
      'referenced',
      'manifest sha256:1 is part of an index tagged in lib/app; delete that first',
      undefined,
    ],
    [uploadBusy('u1', 7), 'busy', 'blob upload u1 is being written', { offset: 7 }],
    [chunkOutOfOrder('u1', 5, 7), 'range', 'chunk starts at 5, upload u1 is at 7', { offset: 7 }],
    [chunkTooLong(10, 7), 'range', 'chunk longer than its 10 bytes', { offset: 7 }],
    [blobTooLarge(100), 'too-large', 'blob exceeds the limit of 100 bytes', undefined],
  ];
  for (const [error, problem, message, detail] of cases) {
    it(`${problem}: ${message}`, () => {
      assert.ok(error instanceof RegistryStorageError);
      assert.equal(error.problem, problem);
      assert.equal(error.message, message);
      assert.deepEqual(error.detail, detail);
    });
  }
});
