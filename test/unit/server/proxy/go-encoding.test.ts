import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ImageManifest } from '../../../../src/media/index.js';
import { goImageConfig } from '../../../../src/server/proxy/go-image-config.js';
import { goMap, goString, goValue } from '../../../../src/server/proxy/go-json.js';
import { goTimeText } from '../../../../src/server/proxy/go-time.js';
import {
  checkDigest,
  goTypeOf,
  parseImageId,
  parseRequest,
  parseUint64,
} from '../../../../src/server/proxy/json-proxy-args.js';
import { ociManifestFromSchema2 } from '../../../../src/server/proxy/oci-conversion.js';

// Expected texts are what Go 1.19's encoding/json, time and go-digest produce (the versions
// skopeo 1.9.3 is built with); the integration tests compare with skopeo itself.

describe("Go's JSON, as the proxy writes it", () => {
  it('escapes like encoding/json: HTML characters, U+2028/9, control characters', () => {
    assert.equal(goString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
    assert.equal(goString('q"\\'), '"q\\"\\\\"');
    assert.equal(goString('\n\r\t\b\f\u0001\u001f'), '"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f"');
    assert.equal(goString('\u2028\u2029'), '"\\u2028\\u2029"');
    assert.equal(goString('café 🐳 \u007f'), '"café 🐳 \u007f"');
    assert.equal(goString('lone \ud800 x'), '"lone \ufffd x"');
  });

  it('sorts map keys by their UTF-8 bytes', () => {
    const map = new Map([
      ['\uffff', 1],
      ['\u{10000}', 2],
      ['B', 3],
      ['a', 4],
    ]);
    // UTF-16 order would put U+10000 (a surrogate pair) before U+FFFF.
    assert.equal(goMap(map, String), '{"B":3,"a":4,"\uffff":1,"\u{10000}":2}');
    assert.equal(goMap(null, String), 'null');
  });

  it('writes replies field by field', () => {
    assert.equal(
      goValue({ success: true, value: [{ digest: 'sha256:x', size: 3 }], pipeid: 0, error: '' }),
      '{"success":true,"value":[{"digest":"sha256:x","size":3}],"pipeid":0,"error":""}',
    );
    assert.throws(() => goValue(1.5), /not an integer/);
  });

  it('rewrites times as time.Time does', () => {
    assert.equal(goTimeText('2024-01-01T00:00:00Z'), '2024-01-01T00:00:00Z');
    assert.equal(goTimeText('2024-01-01T00:00:00.000000000Z'), '2024-01-01T00:00:00Z');
    assert.equal(goTimeText('2024-01-01T00:00:00.120Z'), '2024-01-01T00:00:00.12Z');
    assert.equal(goTimeText('2024-01-01T00:00:00.1234567891Z'), '2024-01-01T00:00:00.123456789Z');
    assert.equal(goTimeText('2024-01-01T02:00:00+00:00'), '2024-01-01T02:00:00Z');
    assert.equal(goTimeText('2024-01-01T02:00:00-05:30'), '2024-01-01T02:00:00-05:30');
    assert.equal(goTimeText('2024-02-29T00:00:00Z'), '2024-02-29T00:00:00Z');
    for (const bad of ['2023-02-29T00:00:00Z', '2024-01-01 00:00:00Z', '2024-01-01T24:00:00Z']) {
      assert.throws(() => goTimeText(bad), /RFC 3339|out of range/, bad);
    }
  });
});

describe('image configs re-encoded as the OCI Image struct', () => {
  it('drops unknown fields, keeps struct order, leaves out empty omitempty fields', () => {
    const docker = {
      os: 'linux',
      architecture: 'amd64',
      docker_version: '20.10',
      container_config: { Cmd: ['x'] },
      config: {
        Hostname: 'h',
        Env: [],
        Cmd: ['/app'],
        Entrypoint: null,
        Labels: { b: '2', a: '1' },
        ExposedPorts: { '80/tcp': {} },
        Volumes: {},
      },
      rootfs: { type: 'layers', diff_ids: ['sha256:1'] },
      history: [{ created_by: 'x', empty_layer: false }, { empty_layer: true }],
    };
    const { full, runtime } = goImageConfig(Buffer.from(JSON.stringify(docker)));
    assert.equal(
      runtime.toString(),
      '{"ExposedPorts":{"80/tcp":{}},"Cmd":["/app"],"Labels":{"a":"1","b":"2"}}',
    );
    assert.equal(
      full.toString(),
      `{"architecture":"amd64","os":"linux","config":${runtime},"rootfs":{"type":"layers","diff_ids":["sha256:1"]},"history":[{"created_by":"x"},{"empty_layer":true}]}`,
    );
  });

  it('matches keys case-insensitively, writes a missing diff_ids as null, an empty one as []', () => {
    const { full } = goImageConfig(
      Buffer.from('{"OS":"linux","Architecture":"arm64","Config":{"user":"1"},"created":null}'),
    );
    assert.equal(
      full.toString(),
      '{"architecture":"arm64","os":"linux","config":{"User":"1"},"rootfs":{"type":"","diff_ids":null}}',
    );
    const empty = goImageConfig(Buffer.from('{"rootfs":{"diff_ids":[]}}')).full.toString();
    assert.match(empty, /"rootfs":\{"type":"","diff_ids":\[\]\}/);
  });

  it('refuses what Go refuses', () => {
    assert.throws(
      () => goImageConfig(Buffer.from('{"os":5}')),
      /cannot read a JSON number into Image\.os/,
    );
    assert.throws(() => goImageConfig(Buffer.from('[1]')), /JSON array into Image \(v1\.Image\)/);
    assert.throws(() => goImageConfig(Buffer.from('{"created":"yesterday"}')), /RFC 3339/);
    assert.throws(() => goImageConfig(Buffer.from('{')), /not valid JSON/);
  });
});

describe('Docker schema 2 converted to OCI', () => {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: 'sha256:c',
      size: 9,
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: 'sha256:a',
        size: 1,
      },
      {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        digest: 'sha256:b',
        size: 2,
        urls: ['https://example.invalid/b'],
      },
    ],
  };

  it('names the re-encoded config by its digest and maps layer media types', () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    assert.equal(
      ociManifestFromSchema2(manifest, config).toString(),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
        `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${digest}","size":${config.length}},` +
        '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:a","size":1},' +
        '{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":"sha256:b","size":2,"urls":["https://example.invalid/b"]}]}',
    );
  });

  it('refuses layer types containers/image cannot convert', () => {
    const odd = {
      ...manifest,
      layers: [{ mediaType: 'application/x-odd', digest: 'sha256:a', size: 1 }],
    };
    assert.throws(
      () => ociManifestFromSchema2(odd, Buffer.from('{}')),
      /Unknown media type during manifest conversion: "application\/x-odd"/,
    );
  });
});

describe("the JSON protocol's argument checks, in skopeo's words", () => {
  it("names Go's types", () => {
    assert.deepEqual([1, 'x', true, null, [1], {}].map(goTypeOf), [
      'float64',
      'string',
      'bool',
      '<nil>',
      '[]interface {}',
      'map[string]interface {}',
    ]);
  });

  it('reads numbers as skopeo does', () => {
    assert.equal(parseUint64(12), 12);
    assert.throws(() => parseUint64('12'), /^Error: expecting numeric, not string$/);
    assert.throws(
      () => parseUint64(2 ** 60),
      /out of range integer for numeric 1152921504606846976\.000000/,
    );
    // Every digit of the double, as C's and Go's %f print it (python3 -c "print('%f' % 1e300)").
    const digits =
      '1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160';
    assert.throws(() => parseUint64(1e300), {
      message: `out of range integer for numeric ${digits}.000000`,
    });
    assert.equal(parseImageId(3.9), 3);
    assert.throws(() => parseImageId(null), /expecting integer imageid, not <nil>/);
  });

  it("checks digests with go-digest's errors", () => {
    const hex = 'a'.repeat(64);
    assert.doesNotThrow(() => checkDigest(`sha256:${hex}`));
    assert.doesNotThrow(() => checkDigest(`sha384:${'b'.repeat(96)}`));
    const cases: [string, string][] = [
      ['sha256', 'invalid checksum digest format'],
      [':abc', 'invalid checksum digest format'],
      ['sha256:', 'invalid checksum digest format'],
      ['md5:abc', 'unsupported digest algorithm'],
      ['MD5:abc', 'invalid checksum digest format'],
      ['sha256+b64:abc', 'unsupported digest algorithm'], // the image spec's separators
      ['sha.256:abc', 'unsupported digest algorithm'],
      ['sha..256:abc', 'invalid checksum digest format'],
      ['md5:a/c', 'invalid checksum digest format'],
      ['sha256:abc', 'invalid checksum digest length'],
      [`sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
    ];
    for (const [digest, message] of cases)
      assert.throws(() => checkDigest(digest), { message }, digest);
  });

  it('decodes requests as Go decodes them into the request struct', () => {
    assert.deepEqual(parseRequest(Buffer.from('{"method":"GetBlob","args":[1]}')), {
      method: 'GetBlob',
      args: [1],
    });
    assert.deepEqual(parseRequest(Buffer.from('{"METHOD":"X","Args":null,"extra":1}')), {
      method: 'X',
      args: [],
    });
    assert.deepEqual(parseRequest(Buffer.from('null')), { method: '', args: [] });
    assert.throws(
      () => parseRequest(Buffer.from('{"method":true}')),
      /^Error: invalid request: json: cannot unmarshal bool into Go struct field request\.method of type string$/,
    );
    assert.throws(
      () => parseRequest(Buffer.from('"x"')),
      /cannot unmarshal string into Go value of type main\.request/,
    );
  });
});
