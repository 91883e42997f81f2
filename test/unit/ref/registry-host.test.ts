import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistriesConf } from '../../../src/containers-conf/index.js';
import { parseRegistriesConf } from '../../../src/containers-conf/registries-conf-file.js';
import { ConfigError } from '../../../src/errors/index.js';
import { isRegistryHost, parseReference } from '../../../src/ref/index.js';
import { UpstreamMap } from '../../../src/server/cache/upstream-map.js';
import {
  isMirrorRepository,
  refBaseOf,
  repositoryOfRefName,
} from '../../../src/server/storage/repository-names.js';

/**
 * distribution/reference's `domainAndPort`, transcribed here from its regexp.go so the rule
 * in src/ref is checked against the grammar rather than against itself.
 */
const C = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const GRAMMAR = new RegExp(`^(?:${C}(?:\\.${C})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?$`);

type Caller = 'rule' | 'reference' | 'upstream' | 'search';

interface Row {
  host: string;
  /** What distribution's grammar says. */
  grammar: boolean;
  /** Callers that differ from the grammar on purpose, with what they do and why. */
  differ?: Partial<Record<Caller, { accepts: boolean; why: string }>>;
  /** Whether the registry server serves a store image of this host as `host_port/...`. */
  served?: boolean;
}

const PORT_RANGE = 'a port above 65535 cannot be connected to: refused when read';
const LONG_NAME = 'a reference name (registry/repository) is at most 255 characters';
const LONG_LABEL = `${'a'.repeat(300)}.com`;

const ROWS: Row[] = [
  { host: 'localhost:5000', grammar: true, served: true },
  { host: 'localhost', grammar: true },
  { host: '127.0.0.1', grammar: true },
  { host: '127.0.0.1:5000', grammar: true, served: true },
  { host: 'registry.example.com:443', grammar: true, served: true },
  { host: '[::1]:5000', grammar: true },
  { host: '[::1]', grammar: true },
  { host: '[2001:db8::1]:5000', grammar: true },
  {
    host: '[abc]',
    grammar: true,
    differ: {
      reference: {
        accepts: false,
        why: "distribution's splitDomain: a first component without `.` or `:` is a path component, and `[abc]` is not a valid one",
      },
    },
  },
  { host: '[::ffff:1.2.3.4]', grammar: false },
  { host: '[fe80::1%eth0]', grammar: false },
  { host: '[::1', grammar: false },
  { host: '[::1]x', grammar: false },
  { host: '[::1]:', grammar: false },
  { host: '[]', grammar: false },
  { host: 'a-.com', grammar: false },
  { host: '-a.com', grammar: false },
  { host: 'a--b.com', grammar: true },
  { host: 'a..com', grammar: false },
  { host: '.com', grammar: false },
  { host: 'com.', grammar: false },
  { host: 'A.Example.COM', grammar: true },
  { host: 'A.Example.COM:5000', grammar: true },
  { host: 'host:', grammar: false },
  { host: 'host:0', grammar: true },
  { host: 'host.example:65535', grammar: true, served: true },
  {
    host: 'host:99999',
    grammar: true,
    differ: {
      rule: { accepts: false, why: PORT_RANGE },
      reference: { accepts: false, why: PORT_RANGE },
      upstream: { accepts: false, why: PORT_RANGE },
      search: { accepts: false, why: PORT_RANGE },
    },
  },
  { host: 'host:5000:1', grammar: false },
  { host: 'host:5000/x', grammar: false },
  { host: 'host:-1', grammar: false },
  { host: '', grammar: false },
  {
    host: LONG_LABEL,
    grammar: true,
    differ: { reference: { accepts: false, why: LONG_NAME } },
  },
  { host: '_under.com', grammar: false },
  { host: 'a_b.com', grammar: false },
  { host: 'a b.com', grammar: false },
  // A single label with a port is a registry in a reference (the `:` says so), but is not
  // served as `myreg_5000/...`: see repository-names.ts.
  { host: 'myreg:5000', grammar: true, served: false },
];

/** Whether `caller` accepts `host` as a registry host. */
function accepts(caller: Caller, host: string): boolean {
  try {
    switch (caller) {
      case 'rule':
        return isRegistryHost(host);
      case 'reference':
        // `localhost` and names with `.`, `:` or `[` are a reference's registry.
        return parseReference(`${host}/app`).registry === host;
      case 'upstream':
        return UpstreamMap.parse([host]).all()[0]?.registry === host;
      case 'search':
        return (
          parseRegistriesConf(
            `unqualified-search-registries = [${JSON.stringify(host)}]`,
            '/t/registries.conf',
          ).searchRegistries?.[0] === host
        );
    }
  } catch {
    return false;
  }
}

describe('the registry host rule, through every caller', () => {
  for (const row of ROWS) {
    const label = row.host.length > 40 ? `${row.host.slice(0, 12)}…(${row.host.length})` : row.host;
    it(`"${label}"`, () => {
      assert.equal(GRAMMAR.test(row.host), row.grammar, 'the transcribed grammar');
      for (const caller of ['rule', 'reference', 'upstream', 'search'] as const) {
        const expected = row.differ?.[caller]?.accepts ?? row.grammar;
        assert.equal(accepts(caller, row.host), expected, caller);
      }
      // The served `host_port` form: a narrowing of the rule that maps back to the host. A
      // host without a port is served as it is written (`localhost/app`), or not at all.
      const served = repositoryOfRefName(`${row.host}/app:1`);
      const asHostPort = served !== undefined && served.repository !== `${row.host}/app`;
      assert.equal(asHostPort, row.served ?? false, 'served as host_port');
      if (served && asHostPort) {
        assert.ok(accepts('rule', row.host));
        assert.equal(served.repository, `${row.host.replace(/:(\d+)$/, '_$1')}/app`);
        assert.equal(refBaseOf(served.repository), `${row.host}/app`);
        assert.ok(isMirrorRepository(served.repository));
      }
    });
  }

  it('a pushed name whose first component is not a dotted host with a port stays itself', () => {
    for (const repository of ['team_1/app', 'myreg_5000/app', 'a.b_99999/app', 'a.b_/app']) {
      assert.equal(refBaseOf(repository), repository, repository);
    }
    assert.equal(isMirrorRepository('team_1/app'), false);
    assert.equal(refBaseOf('a.b_5000/app'), 'a.b:5000/app');
  });

  it('registries.conf prefixes and locations are read unchecked, as containers/image reads them, and checked when used', () => {
    // A named difference: files shared with podman must not stop ocipeek (see parseLocation).
    const text = [
      '[[registry]]',
      'prefix = "example.com"',
      'location = "a_b.example:5000/ns"',
      '[[registry]]',
      'location = "-bad.example:99999"',
      '[[registry]]',
      'prefix = "*.a_b"',
    ].join('\n');
    const file = parseRegistriesConf(text, '/t/registries.conf');
    assert.deepEqual(
      file.registries.map((r) => [r.prefix, r.location]),
      [
        ['*.a_b', ''],
        ['-bad.example:99999', '-bad.example:99999'],
        ['example.com', 'a_b.example:5000/ns'],
      ],
    );
    const conf = new RegistriesConf(
      file.registries,
      undefined,
      '/t/registries.conf',
      'permissive',
      file.aliases,
      ['/t/registries.conf'],
    );
    assert.throws(
      () => conf.pullSources(parseReference('example.com/app:1')),
      (err: unknown) =>
        err instanceof ConfigError && /invalid registry host "a_b\.example"/.test(err.message),
    );
  });
});
