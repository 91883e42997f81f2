import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { parseReference } from '../../../src/ref/index.js';
import { UpstreamMap } from '../../../src/server/cache/upstream-map.js';
import { isRepositoryName, isTag } from '../../../src/server/registry/names.js';
import { startRegistryServer } from '../../../src/server/registry/server.js';

/*
 * One repository-name rule: the reference parser's path components. The registry server,
 * the pull-through cache's upstream names and `parseReference` must take and refuse the
 * same names, and what results must be the distribution spec's `<name>`.
 */

/**
 * The distribution spec's `<name>` expression, as the spec writes it (spec.md, "Pulling
 * manifests"): the oracle the project's rule is checked against, not a copy it runs.
 */
const SPEC_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/** The spec's tag expression, likewise. */
const SPEC_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

const long = (n: number) => `a/${'b'.repeat(n - 2)}`;

/** Names and whether they are valid repository names. */
const NAMES: [string, boolean][] = [
  ['app', true],
  ['team/app', true],
  ['a/b/c/d/e/f', true],
  ['a.b_c__d-e--f/g', true],
  ['0/9', true],
  ['Team/app', false], // uppercase
  ['team/App', false],
  ['a/../b', false], // `..` as a component
  ['..', false],
  ['a/./b', false],
  ['a..b', false], // two dots in a component
  ['a__b', true], // a double underscore is one separator
  ['a___b', false], // three are not
  ['__a', false], // nor a leading one
  ['a-_b', false],
  ['a._b', false],
  ['a-', false], // trailing separators
  ['a.', false],
  ['a_', false],
  ['a/', false],
  ['/a', false],
  ['a/b//c', false], // an empty component
  ['a b', false],
  ['a:b', false],
  ['a@b', false],
  ['a%2fb', false],
  ['é', false],
  ['', false],
  [long(200), true],
  [long(255), true],
  [long(256), false], // past 255 characters
];

describe('repository names: one rule for the registry, the cache and the reference parser', () => {
  let server: Awaited<ReturnType<typeof startRegistryServer>>;
  before(async () => {
    server = await startRegistryServer({ roots: [], listen: '127.0.0.1:0' });
  });
  after(async () => {
    await server?.close();
  });

  /** The status and error code the server answers `GET /v2/NAME/tags/list` with, path sent as is. */
  function askTags(name: string): Promise<{ status: number; code: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: `/v2/${name}/tags/list` },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let code: string | undefined;
            try {
              code = (JSON.parse(text) as { errors?: { code?: string }[] }).errors?.[0]?.code;
            } catch {
              code = undefined;
            }
            resolve({ status: res.statusCode ?? 0, code });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  function parserTakes(name: string): boolean {
    try {
      // A short host, so the parser's 255-character bound on host/name does not decide.
      return parseReference(`r.io/${name}`, { defaultTag: null }).repository === name;
    } catch {
      return false;
    }
  }

  it('the table is the spec’s rule (the oracle agrees with every row)', () => {
    for (const [name, valid] of NAMES) {
      assert.equal(SPEC_NAME.test(name) && name.length <= 255, valid, JSON.stringify(name));
    }
  });

  it('the registry takes exactly the names the reference parser takes', async () => {
    for (const [name, valid] of NAMES) {
      const label = JSON.stringify(
        name.length > 40 ? `${name.slice(0, 20)}… (${name.length})` : name,
      );
      assert.equal(isRepositoryName(name), valid, `isRepositoryName ${label}`);
      if (name.length <= 250) assert.equal(parserTakes(name), valid, `parseReference ${label}`);
      if (name === '' || /[\s%é]/.test(name)) continue; // not a request path as it stands
      const answer = await askTags(name);
      assert.deepEqual(
        answer,
        valid ? { status: 404, code: 'NAME_UNKNOWN' } : { status: 400, code: 'NAME_INVALID' },
        `GET /v2/${label}/tags/list`,
      );
    }
  });

  it('an upstream of the cache is named by one path component of the same rule', () => {
    for (const [name, valid] of NAMES) {
      if (name.includes('/') || name === '') continue;
      const parsed = (() => {
        try {
          UpstreamMap.parse([`${name}=https://r.io`]);
          return true;
        } catch (err) {
          assert.ok(err instanceof InvalidArgumentError);
          return false;
        }
      })();
      assert.equal(parsed, valid, `upstream ${JSON.stringify(name)}`);
    }
  });

  it('tags: the registry and references take the same ones, the spec’s', () => {
    const tags = [
      'latest',
      'V1.0',
      '_x',
      '1',
      'a'.repeat(128),
      'a'.repeat(129),
      '.x',
      '-x',
      'a:b',
      'a/b',
      'é',
      '',
    ];
    for (const tag of tags) {
      const valid = SPEC_TAG.test(tag);
      assert.equal(isTag(tag), valid, `isTag ${JSON.stringify(tag)}`);
      let parsed: string | undefined;
      try {
        parsed = parseReference(`r.io/app:${tag}`).tag;
      } catch {
        parsed = undefined;
      }
      assert.equal(parsed === tag, valid, `parseReference r.io/app:${JSON.stringify(tag)}`);
    }
  });
});
