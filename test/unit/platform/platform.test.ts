import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Descriptor } from '../../../src/media/index.js';
import {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  listPlatforms,
  normalizePlatform,
  parsePlatform,
} from '../../../src/platform/index.js';

function entry(platform: string, digestChar: string, extra: Partial<Descriptor> = {}): Descriptor {
  const [os, architecture, variant] = platform.split('/') as [string, string, string?];
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${digestChar.repeat(64)}`,
    size: 1,
    platform: variant ? { os, architecture, variant } : { os, architecture },
    ...extra,
  };
}

describe('platform normalisation', () => {
  it('maps architecture aliases and default variants', () => {
    assert.equal(formatPlatform(parsePlatform('linux/x86_64')), 'linux/amd64');
    assert.equal(formatPlatform(parsePlatform('linux/x64')), 'linux/amd64');
    assert.equal(formatPlatform(parsePlatform('linux/aarch64')), 'linux/arm64');
    assert.equal(formatPlatform(parsePlatform('linux/arm64/v8')), 'linux/arm64');
    assert.equal(formatPlatform(parsePlatform('linux/arm')), 'linux/arm/v7');
    assert.equal(formatPlatform(parsePlatform('linux/arm/6')), 'linux/arm/v6');
    assert.equal(
      formatPlatform(normalizePlatform({ os: 'Linux', architecture: 'AMD64' })),
      'linux/amd64',
    );
  });

  it('rejects malformed platform strings', () => {
    for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d']) {
      assert.throws(() => parsePlatform(bad), /invalid platform/);
    }
  });

  it('knows the host platform', () => {
    const host = hostPlatform();
    assert.equal(host.os, process.platform);
    assert.ok(host.architecture.length > 0 && host.architecture !== 'x64');
  });
});

describe('choosePlatform', () => {
  const attestation = entry('unknown/unknown', 'f', {
    annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
  });
  const index = [
    entry('linux/amd64', 'a'),
    entry('linux/arm64/v8', 'b'),
    entry('linux/arm/v6', 'c'),
    entry('linux/arm/v7', 'd'),
    attestation,
  ];

  it('picks the exact platform, normalising aliases', () => {
    assert.equal(choosePlatform(index, parsePlatform('linux/x86_64'))?.digest, index[0]!.digest);
    assert.equal(choosePlatform(index, parsePlatform('linux/aarch64'))?.digest, index[1]!.digest);
    assert.equal(choosePlatform(index, parsePlatform('linux/arm'))?.digest, index[3]!.digest);
    assert.equal(choosePlatform(index, parsePlatform('linux/arm/v6'))?.digest, index[2]!.digest);
  });

  it('runs a lower arm variant on a higher one, never the reverse', () => {
    const onlyV6 = [entry('linux/arm/v6', 'c')];
    assert.equal(choosePlatform(onlyV6, parsePlatform('linux/arm/v7'))?.digest, onlyV6[0]!.digest);
    const onlyV7 = [entry('linux/arm/v7', 'd')];
    assert.equal(choosePlatform(onlyV7, parsePlatform('linux/arm/v6')), undefined);
  });

  it('never chooses attestation entries', () => {
    assert.equal(
      choosePlatform([attestation], { os: 'unknown', architecture: 'unknown' }),
      undefined,
    );
    assert.deepEqual(listPlatforms(index).map(formatPlatform), [
      'linux/amd64',
      'linux/arm64/v8',
      'linux/arm/v6',
      'linux/arm/v7',
    ]);
  });

  it('returns undefined when nothing fits', () => {
    assert.equal(choosePlatform(index, parsePlatform('windows/amd64')), undefined);
  });
});
