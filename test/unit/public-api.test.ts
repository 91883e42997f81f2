import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ocipeek from '../../src/index.js';

describe('the public API', () => {
  it('exports the entry points the README and docs name', () => {
    const names = [
      'parseReference',
      'RegistryClient',
      'inspectImage',
      'resolveImage',
      'openImage',
      'buildFilesystem',
      'openImageFile',
      'Store',
      'pullImage',
      'copyImage',
      'parsePlace',
      'openSource',
      'openDestination',
      'openPlaceImage',
      'openPlaceSource',
      'storeSource',
      'RegistrySource',
      'LayoutSource',
      'requirePlatform',
      'unpackLayers',
      'peekLayer',
      'peekImage',
      'openLazyImage',
      'convertToEstargz',
      'detectArtifactType',
      'inspectWasm',
      'pullWasm',
      'pushWasm',
      'startRegistryServer',
      'startImageProxy',
      'writeExampleLayout',
      'OcipeekError',
    ] as const;
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test checks exports by name; tree shaking is moot here
    for (const name of names) assert.equal(typeof ocipeek[name], 'function', name);
  });

  it('gives every error class a stable code', () => {
    const errors = Object.entries(ocipeek).filter(
      ([name, value]) =>
        typeof value === 'function' && /^[A-Z]\w*Error$/.test(name) && name !== 'OcipeekError',
    );
    assert.ok(errors.length >= 15);
    for (const [name, cls] of errors) {
      const code = (cls as unknown as { code?: string }).code;
      assert.match(code ?? '', /^ERR_[A-Z_]+$/, `${name}.code`);
    }
  });
});

describe('finding the command name for lazy loading', () => {
  it('skips global options and their values', async () => {
    const { commandNameOf } = await import('../../src/cli/command-name.js');
    assert.equal(commandNameOf(['--platform', 'linux/arm64', 'inspect', 'x']), 'inspect');
    assert.equal(commandNameOf(['--tls-verify', 'false', '--store=/s', 'ls', 'x']), 'ls');
    assert.equal(commandNameOf(['--tls-verify', 'pull', 'x']), 'pull');
    assert.equal(commandNameOf(['-v', 'logout', 'h']), 'logout');
    // The connection options take values too: their value is not the command.
    assert.equal(commandNameOf(['--tls', 'ra-tls', '--token', 't', 'inspect', 'x']), 'inspect');
    assert.equal(commandNameOf(['--root-ca', 'ca.pem', 'ir', 'list-tags']), 'ir');
    assert.equal(commandNameOf(['--signature-policy', 'p.json', 'pull', 'x']), 'pull');
    assert.equal(commandNameOf(['--version']), undefined);
    assert.equal(commandNameOf(['frobnicate']), undefined);
  });
});
