import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, PolicyRejectedError } from '../../../src/errors/index.js';
import { parseReference, Reference } from '../../../src/ref/index.js';
import type { RegistryClient } from '../../../src/registry/index.js';
import {
  acceptsAnything,
  dockerScopes,
  identityMatches,
  localScopes,
  PolicyTrust,
  parsePolicy,
  RegistriesD,
  requirementsFor,
  type SignedIdentity,
} from '../../../src/trust/index.js';

const D = `sha256:${'d'.repeat(64)}`;

describe('policy.json', () => {
  it('a refusal names an image of a one-word registry so that it reads back as that registry', async () => {
    // The pull-through cache's `--upstream myreg` makes such references: `myreg/foo:latest`
    // alone would read as Docker Hub's docker.io/myreg/foo.
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: { docker: { myreg: [{ type: 'reject' }] } },
      }),
      '/etc/policy.json',
    );
    const trust = new PolicyTrust(policy, RegistriesD.empty());
    const ref = new Reference('myreg', 'foo', 'latest');
    await assert.rejects(
      trust.verify(
        { ref, served: ref, rootDigest: D, rootBytes: Buffer.from('{}') },
        {} as RegistryClient,
      ),
      (err: unknown) =>
        err instanceof PolicyRejectedError &&
        err.image === 'myreg/foo:latest (registry myreg)' &&
        err.message.startsWith('myreg/foo:latest (registry myreg) rejected by policy: reject in '),
    );
  });

  it('docker scopes run from the reference to wildcard domains', () => {
    assert.deepEqual(dockerScopes(parseReference('a.b.example.com:5000/ns/sub/app:1')), [
      'a.b.example.com:5000/ns/sub/app:1',
      'a.b.example.com:5000/ns/sub/app',
      'a.b.example.com:5000/ns/sub',
      'a.b.example.com:5000/ns',
      'a.b.example.com:5000',
      '*.b.example.com',
      '*.example.com',
      '*.com',
    ]);
    assert.deepEqual(dockerScopes(parseReference(`localhost/app@${D}`)), [
      `localhost/app@${D}`,
      'localhost/app',
      'localhost',
    ]);
  });

  it('local scopes: the path with links resolved, then its parents; none for docker-archive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scopes-'));
    try {
      await mkdir(join(dir, 'real', 'layout'), { recursive: true });
      await symlink(join(dir, 'real'), join(dir, 'link'));
      const real = await realpath(dir);
      const scopes = await localScopes('oci', join(dir, 'link', 'layout'));
      assert.deepEqual(scopes.slice(0, 3), [
        join(real, 'real', 'layout'),
        join(real, 'real'),
        real,
      ]);
      assert.ok(!scopes.includes('/'), 'not "/": that is the transport default');
      assert.equal(scopes.at(-1), `/${real.split('/')[1]}`);
      assert.deepEqual(await localScopes('docker-archive', join(dir, 'x.tar')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the most specific scope wins, then the transport default, then the global default', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            '': [{ type: 'insecureAcceptAnything' }],
            'reg.io/team': [{ type: 'reject' }],
            'reg.io/team/app': [{ type: 'sigstoreSigned', keyPath: '/k.pub' }],
            '*.example.com': [{ type: 'sigstoreSigned', keyData: 'QQ==' }],
          },
        },
      }),
      '/p.json',
    );
    const pick = (ref: string) => {
      const r = requirementsFor(policy, 'docker', dockerScopes(parseReference(ref)));
      return `${r.scope}: ${r.requirements.map((q) => q.type).join(',')}`;
    };
    assert.equal(pick('reg.io/team/app:1'), 'docker scope "reg.io/team/app": sigstoreSigned');
    assert.equal(pick('reg.io/team/other:1'), 'docker scope "reg.io/team": reject');
    assert.equal(pick('x.example.com/a:1'), 'docker scope "*.example.com": sigstoreSigned');
    assert.equal(pick('other.io/a:1'), 'docker scope "": insecureAcceptAnything');
    assert.equal(requirementsFor(policy, 'oci', []).scope, 'default');
    assert.equal(acceptsAnything(policy), false);
    assert.equal(
      acceptsAnything(parsePolicy('{"default":[{"type":"insecureAcceptAnything"}]}', '/p')),
      true,
    );
  });

  it('is parsed strictly, errors naming the file and the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /"default" is required/],
      [{ default: [] }, /non-empty array/],
      [{ default: [{ type: 'acceptEverything' }] }, /unknown requirement type/],
      [{ default: [{ type: 'reject', extra: 1 }] }, /unknown field "extra"/],
      [{ default: [{ type: 'sigstoreSigned' }] }, /exactly one of keyPath/],
      [{ default: [{ type: 'sigstoreSigned', keyPath: '/a', keyData: 'QQ==' }] }, /exactly one/],
      [
        {
          default: [
            { type: 'sigstoreSigned', keyPath: '/a', signedIdentity: { type: 'matchSomething' } },
          ],
        },
        /signedIdentity/,
      ],
      [
        {
          default: [
            { type: 'sigstoreSigned', keyPath: '/a', signedIdentity: { type: 'exactReference' } },
          ],
        },
        /dockerReference is required/,
      ],
      [{ default: [{ type: 'signedBy', keyType: 'X509', keyPath: '/a' }] }, /GPGKeys/],
      [
        { default: [{ type: 'reject' }], transports: { oci: { '/': [{ type: 'reject' }] } } },
        /scope "\/"/,
      ],
      [{ default: [{ type: 'reject' }], unknown: {} }, /unknown field "unknown"/],
    ];
    for (const [json, message] of bad) {
      assert.throws(
        () => parsePolicy(JSON.stringify(json), '/etc/containers/policy.json'),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith('/etc/containers/policy.json: ') &&
          message.test(err.message),
        JSON.stringify(json),
      );
    }
    assert.throws(() => parsePolicy('{', '/p.json'), /invalid JSON/);
  });
});

describe('signedIdentity rules', () => {
  const check = (rule: SignedIdentity, intended: string, signed: string) =>
    identityMatches(rule, parseReference(intended), signed);

  it('matchExact, matchRepoDigestOrExact and matchRepository', () => {
    assert.equal(check({ type: 'matchExact' }, 'r.io/a:1', 'r.io/a:1'), true);
    assert.equal(check({ type: 'matchExact' }, 'r.io/a:1', 'r.io/a:2'), false);
    assert.equal(check({ type: 'matchExact' }, `r.io/a@${D}`, 'r.io/a:1'), false);
    assert.equal(check({ type: 'matchRepoDigestOrExact' }, 'r.io/a:1', 'r.io/a:1'), true);
    assert.equal(check({ type: 'matchRepoDigestOrExact' }, 'r.io/a:1', 'r.io/a:2'), false);
    assert.equal(check({ type: 'matchRepoDigestOrExact' }, `r.io/a@${D}`, 'r.io/a:9'), true);
    assert.equal(check({ type: 'matchRepoDigestOrExact' }, `r.io/a@${D}`, 'r.io/b:9'), false);
    assert.equal(check({ type: 'matchRepoDigestOrExact' }, `r.io/a@${D}`, 'r.io/a'), false);
    assert.equal(check({ type: 'matchRepository' }, 'r.io/a:latest', 'r.io/a:1.2'), true);
    assert.equal(check({ type: 'matchRepository' }, 'r.io/a:latest', 'r.io/ab:1.2'), false);
  });

  it('exactReference, exactRepository and remapIdentity', () => {
    const exact: SignedIdentity = { type: 'exactReference', dockerReference: 'pub.io/a:1' };
    assert.equal(check(exact, 'mirror.local/a:7', 'pub.io/a:1'), true);
    assert.equal(check(exact, 'mirror.local/a:7', 'pub.io/a:2'), false);
    const repo: SignedIdentity = { type: 'exactRepository', dockerRepository: 'pub.io/a' };
    assert.equal(check(repo, 'mirror.local/x:7', 'pub.io/a:5'), true);
    assert.equal(check(repo, 'mirror.local/x:7', 'pub.io/b:5'), false);
    const remap: SignedIdentity = {
      type: 'remapIdentity',
      prefix: 'mirror.local/ns',
      signedPrefix: 'pub.io/team',
    };
    assert.equal(check(remap, 'mirror.local/ns/app:1', 'pub.io/team/app:1'), true);
    assert.equal(check(remap, 'mirror.local/ns/app:1', 'mirror.local/ns/app:1'), false);
    assert.equal(
      check(remap, 'mirror.local/nsx/app:1', 'mirror.local/nsx/app:1'),
      true,
      'no match: no remap',
    );
    assert.equal(check(remap, `mirror.local/ns/app@${D}`, 'pub.io/team/app:3'), true);
  });
});
