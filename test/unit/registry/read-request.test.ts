import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { MANIFEST_ACCEPT, MediaType } from '../../../src/media/index.js';
import { parseReference } from '../../../src/ref/index.js';
import { openBlobRange, readBlob } from '../../../src/registry/blobs.js';
import { getManifest, headManifest } from '../../../src/registry/manifests.js';
import { listReferrers } from '../../../src/registry/referrers.js';
import { hasBlob } from '../../../src/registry/upload.js';
import type {
  RegistryRequest,
  RegistryResponse,
  RegistryTransport,
} from '../../../src/transport/index.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A transport that records every request and answers each with `answer`. */
function recording(answer: (req: RegistryRequest) => RegistryResponse) {
  const sent: RegistryRequest[] = [];
  const transport = {
    send: async (req: RegistryRequest) => {
      sent.push(req);
      return answer(req);
    },
    apiStatus: async () => 200,
  } as unknown as RegistryTransport;
  return { sent, transport };
}

function response(status: number, body: Buffer, headers: Record<string, string> = {}) {
  return {
    status,
    headers: { 'content-length': String(body.length), ...headers },
    body: Readable.from([body]),
    url: new URL('https://registry.example/'),
  } as RegistryResponse;
}

/**
 * Every read of a repository (blob, blob range, blob HEAD, manifest GET and HEAD,
 * referrers) asks alike: the repository, a pull-scoped token, the caller's signal; only
 * what it accepts differs. One of them asking with another scope or without the
 * repository would fail auth on registries that check (Docker Hub's tokens do).
 */
describe('reads of a repository share one request rule', () => {
  const ref = parseReference('registry.example/team/app:1.0');
  const signal = new AbortController().signal;
  const common = {
    registry: 'registry.example',
    repository: 'team/app',
    scope: 'repository:team/app:pull',
    signal,
  };

  it('blobs: GET (whole and a range) and HEAD', async () => {
    const blob = Buffer.from('config bytes');
    const digest = sha256(blob);
    const { sent, transport } = recording((req) =>
      req.headers?.range
        ? response(206, blob.subarray(2, 5), { 'content-range': `bytes 2-4/${blob.length}` })
        : response(200, req.method === 'HEAD' ? Buffer.alloc(0) : blob),
    );
    assert.deepEqual(
      await readBlob(transport, ref, { digest, size: blob.length }, { signal }),
      blob,
    );
    const part = await openBlobRange(transport, ref, digest, 2, 4, { signal });
    assert.equal(part.start, 2);
    await hasBlob(transport, ref, digest, { signal });
    const path = `/v2/team/app/blobs/${digest}`;
    assert.deepEqual(sent, [
      { ...common, method: 'GET', path, headers: {} },
      { ...common, method: 'GET', path, headers: { range: 'bytes=2-4' } },
      { ...common, method: 'HEAD', path, headers: {} },
    ]);
  });

  it('manifests: GET and HEAD with the same Accept, the option overriding it', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
    );
    const digest = sha256(bytes);
    const { sent, transport } = recording((req) =>
      response(200, req.method === 'HEAD' ? Buffer.alloc(0) : bytes, {
        'content-type': MediaType.ociIndex,
        'docker-content-digest': digest,
      }),
    );
    await getManifest(transport, ref, { signal });
    await headManifest(transport, ref, { signal });
    await getManifest(transport, ref, { signal, accept: MediaType.ociIndex });
    const path = '/v2/team/app/manifests/1.0';
    assert.deepEqual(sent, [
      { ...common, method: 'GET', path, headers: { accept: MANIFEST_ACCEPT } },
      { ...common, method: 'HEAD', path, headers: { accept: MANIFEST_ACCEPT } },
      { ...common, method: 'GET', path, headers: { accept: MediaType.ociIndex } },
    ]);
  });

  it('referrers: GET of the API with the index type accepted', async () => {
    const subject = ref.withDigest(sha256(Buffer.from('subject')));
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
    );
    const { sent, transport } = recording(() =>
      response(200, index, { 'content-type': MediaType.ociIndex }),
    );
    const found = await listReferrers(transport, subject as typeof subject & { digest: string }, {
      signal,
    });
    assert.equal(found.source, 'api');
    assert.deepEqual(sent, [
      {
        ...common,
        method: 'GET',
        path: `/v2/team/app/referrers/${subject.digest}`,
        headers: { accept: MediaType.ociIndex },
      },
    ]);
  });
});
