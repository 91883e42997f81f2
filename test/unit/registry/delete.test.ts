import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { parseReference, parseRepository } from '../../../src/ref/index.js';
import { deleteManifest, deleteTag } from '../../../src/registry/delete.js';
import type {
  RegistryRequest,
  RegistryResponse,
  RegistryTransport,
} from '../../../src/transport/index.js';

/** A transport that records every request and answers each 202 Accepted. */
function accepting() {
  const sent: RegistryRequest[] = [];
  const transport = {
    send: async (req: RegistryRequest) => {
      sent.push(req);
      return {
        status: 202,
        headers: { 'content-length': '0' },
        body: Readable.from([]),
        url: new URL('https://registry.example/'),
      } as RegistryResponse;
    },
    apiStatus: async () => 200,
  } as unknown as RegistryTransport;
  return { sent, transport };
}

describe('registry deletes', () => {
  const digest = `sha256:${createHash('sha256').update('manifest').digest('hex')}`;

  it('delete a digest at the manifest API path, with a delete-scoped token', async () => {
    const { sent, transport } = accepting();
    await deleteManifest(transport, parseReference(`registry.example/team/app:1.0@${digest}`));
    assert.deepEqual(
      sent.map((r) => [r.method, r.path, r.scope]),
      [['DELETE', `/v2/team/app/manifests/${digest}`, 'repository:team/app:delete']],
    );
  });

  it('delete a tag alone by its name', async () => {
    const { sent, transport } = accepting();
    assert.deepEqual(await deleteTag(transport, parseReference('registry.example/team/app:1.0')), {
      method: 'api',
    });
    assert.deepEqual(
      sent.map((r) => [r.method, r.path]),
      [['DELETE', '/v2/team/app/manifests/1.0']],
    );
  });

  it('refuse a bare repository before sending anything (no manifests/undefined, no latest)', async () => {
    const { sent, transport } = accepting();
    await assert.rejects(
      deleteManifest(transport, parseRepository('registry.example/team/app')),
      (err: unknown) =>
        err instanceof InvalidArgumentError && /a delete needs a tag or a digest/.test(err.message),
    );
    assert.deepEqual(sent, []);
  });
});
