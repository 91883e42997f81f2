import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isShortName,
  RegistriesConf,
  resolveShortName,
} from '../../../src/containers-conf/index.js';
import { parseRegistriesConf } from '../../../src/containers-conf/registries-conf-file.js';
import { ShortNameError } from '../../../src/errors/index.js';

const D = `sha256:${'c'.repeat(64)}`;

function conf(text: string): RegistriesConf {
  const file = parseRegistriesConf(text, '/r.conf');
  return new RegistriesConf(
    file.registries,
    file.searchRegistries,
    '/r.conf',
    file.shortNameMode ?? 'permissive',
    file.aliases,
    ['/r.conf'],
  );
}

const names = (input: string, c: RegistriesConf) =>
  resolveShortName(input, c).candidates.map(String);

describe('short names resolve as podman resolves them', () => {
  it('tells short names from qualified ones by the first component', () => {
    for (const s of ['alpine', 'alpine:3', 'library/alpine', `team/app@${D}`, 'a/b/c:1']) {
      assert.equal(isShortName(s), true, s);
    }
    for (const s of [
      'docker.io/alpine',
      'localhost/app',
      'host:5000/app',
      'Upper/app',
      '127.0.0.1/x',
    ]) {
      assert.equal(isShortName(s), false, s);
    }
  });

  it('an alias wins, keeping the tag or digest typed', () => {
    const c = conf(
      'unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "enforcing"\n[aliases]\n"app" = "quay.io/team/app"\n',
    );
    assert.deepEqual(names('app', c), ['quay.io/team/app:latest']);
    assert.deepEqual(names('app:2', c), ['quay.io/team/app:2']);
    assert.deepEqual(names(`app@${D}`, c), [`quay.io/team/app@${D}`]);
    assert.equal(resolveShortName('app', c).rationale, 'alias');
  });

  it('search registries in order; enforcing refuses an ambiguous name and lists the candidates', () => {
    const permissive = conf('unqualified-search-registries = ["a.io", "b.io:5000"]\n');
    assert.deepEqual(names('lib/app:1', permissive), ['a.io/lib/app:1', 'b.io:5000/lib/app:1']);
    const enforcing = conf(
      'unqualified-search-registries = ["a.io", "b.io:5000"]\nshort-name-mode = "enforcing"\n',
    );
    assert.throws(
      () => resolveShortName('lib/app:1', enforcing),
      (err: unknown) =>
        err instanceof ShortNameError &&
        err.code === 'ERR_SHORT_NAME' &&
        err.message.includes('a.io/lib/app:1, b.io:5000/lib/app:1') &&
        err.message.includes('/r.conf') &&
        err.candidates.length === 2,
    );
    const one = conf(
      'unqualified-search-registries = ["only.io"]\nshort-name-mode = "enforcing"\n',
    );
    assert.deepEqual(names('app', one), ['only.io/app:latest']);
    const disabled = conf(
      'unqualified-search-registries = ["a.io", "b.io"]\nshort-name-mode = "disabled"\n',
    );
    assert.deepEqual(names('app', disabled), ['a.io/app:latest', 'b.io/app:latest']);
  });

  it('docker.io as a search registry adds library/; no search registries means Docker Hub', () => {
    assert.deepEqual(names('alpine', conf('unqualified-search-registries = ["docker.io"]\n')), [
      'docker.io/library/alpine:latest',
    ]);
    assert.deepEqual(names('alpine', conf('')), ['docker.io/library/alpine:latest']);
    assert.deepEqual(names('x.io/app', conf('unqualified-search-registries = ["a.io"]\n')), [
      'x.io/app:latest',
    ]);
  });
});
