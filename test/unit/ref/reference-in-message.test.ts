import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReference, Reference, referenceInMessage } from '../../../src/ref/index.js';

describe('referenceInMessage', () => {
  it('shows a parsed reference as written: it reads back as the same registry', () => {
    for (const input of [
      'docker.io/library/alpine:3.19',
      'ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'localhost/app:1',
      '127.0.0.1:5000/team/app:1',
      'myreg:5000/foo:latest',
      'MyReg/foo:latest',
      '[::1]:5000/foo:latest',
    ]) {
      const ref = parseReference(input);
      const shown = referenceInMessage(ref);
      assert.equal(shown, input);
      assert.equal(parseReference(shown).registry, ref.registry);
    }
  });

  it('names a one-word registry after it, since myreg/foo would read as Docker Hub', () => {
    const ref = new Reference('myreg', 'foo', 'latest');
    assert.equal(parseReference(ref.toString()).registry, 'docker.io');
    assert.equal(referenceInMessage(ref), 'myreg/foo:latest (registry myreg)');
    assert.equal(referenceInMessage(ref, 'name'), 'myreg/foo (registry myreg)');
    const digest = `sha256:${'ab'.repeat(32)}`;
    assert.equal(
      referenceInMessage(new Reference('myreg', 'a/b', undefined, digest)),
      `myreg/a/b@${digest} (registry myreg)`,
    );
  });
});
