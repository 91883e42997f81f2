import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findAuthEntry, helperServerUrl } from '../../../src/auth/index.js';
import { RegistriesConf } from '../../../src/containers-conf/index.js';
import { parseRegistriesConf } from '../../../src/containers-conf/registries-conf-file.js';
import { ConfigError } from '../../../src/errors/index.js';
import { parseReference, Reference } from '../../../src/ref/index.js';
import { UpstreamMap } from '../../../src/server/cache/upstream-map.js';
import { dockerScopes, parsePolicy, requirementsFor } from '../../../src/trust/index.js';

/**
 * One registry host, written several ways, through every caller that names or compares
 * registries: the reference parser (what the name is: docker's rule, exactly), the API
 * host it connects to, the credentials an auth file gives it, the pull-through cache's
 * upstream map (given as `--upstream HOST`), and registries.conf's prefix matching. The
 * rule (ref/registry-host.ts): names keep the host as written (only `index.docker.io` is
 * folded into `docker.io`, as distribution/reference folds it); hosts are compared without
 * case; Docker Hub's server is any of its three names, in any case.
 */

const AUTH = {
  auths: {
    'https://index.docker.io/v1/': { auth: Buffer.from('hub:h').toString('base64') },
    'reg.example:5000': { auth: Buffer.from('reg:r').toString('base64') },
    myreg: { auth: Buffer.from('my:m').toString('base64') },
  },
};

/** The user of the auth file's entry for `registry`, or `-` for none. */
function credentialsOf(registry: string, repository: string): string {
  const found = findAuthEntry(AUTH, registry, repository);
  if (!found) return '-';
  const auth = found.entry.auth as string;
  return Buffer.from(auth, 'base64').toString().split(':')[0] as string;
}

const CONF = new RegistriesConf(
  parseRegistriesConf(
    [
      '[[registry]]',
      'location = "reg.example:5000"',
      'blocked = true',
      '[[registry]]',
      'prefix = "docker.io"',
      'location = "hub-mirror.example/hub"',
      '[[registry]]',
      'prefix = "myreg"',
      'location = "myreg.example"',
    ].join('\n'),
    '/t/registries.conf',
  ).registries,
  undefined,
  '/t/registries.conf',
  'permissive',
  new Map(),
  ['/t/registries.conf'],
);

/** What registries.conf does with a pull of `ref`: `blocked`, the rewritten name, or `-`. */
function confOf(ref: Reference): string {
  try {
    CONF.checkAllowed(ref.registry, ref.repository);
  } catch {
    return 'blocked';
  }
  const [source] = CONF.pullSources(ref);
  return source && source.ref !== ref ? source.ref.name : '-';
}

interface Row {
  /** The host as a user writes it (in `HOST/app`, `--upstream HOST`, an auth lookup). */
  host: string;
  /** The reference `HOST/app`'s name, or the error's pattern. */
  name: string | RegExp;
  /** The host the reference's requests go to. */
  apiHost?: string;
  /** The auth file user the reference's requests carry. */
  credentials?: string;
  /** registries.conf on the reference: `blocked`, the rewritten name, or `-`. */
  conf?: string;
  /** `--upstream HOST`'s registry, and the repository `app` is pulled as from it. */
  upstream: [string, string] | RegExp;
  /** Why a caller answers differently from the others, on purpose. */
  why?: string;
}

const ROWS: Row[] = [
  {
    host: 'docker.io',
    name: 'docker.io/library/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: 'hub-mirror.example/hub/library/app',
    upstream: ['docker.io', 'library/app'],
  },
  {
    host: 'index.docker.io',
    name: 'docker.io/library/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: 'hub-mirror.example/hub/library/app',
    upstream: ['docker.io', 'library/app'],
    why: 'distribution/reference folds index.docker.io (exactly as written) into docker.io',
  },
  {
    host: 'registry-1.docker.io',
    name: 'registry-1.docker.io/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: '-',
    upstream: ['docker.io', 'library/app'],
    why: "docker keeps registry-1.docker.io as the reference's name (no library/) and registries.conf's docker.io prefix does not match it, as in podman; it is still Docker Hub's server, with Hub's credentials (containers/image folds it for credentials), and it is the URL Docker Hub upstreams are given as",
  },
  {
    host: 'INDEX.DOCKER.IO',
    name: 'INDEX.DOCKER.IO/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: '-',
    upstream: ['docker.io', 'library/app'],
    why: "docker's fold is case-sensitive, so the name stays as written; as a host it is Docker Hub's server (hosts compare without case)",
  },
  {
    host: 'Docker.io',
    name: 'Docker.io/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: 'hub-mirror.example/hub/app',
    upstream: ['docker.io', 'library/app'],
    why: "an upper-case first component is a registry to docker and the name is kept (no library/, as docker); as a host it is docker.io, so registries.conf's docker.io prefix matches it (podman's would not), where INDEX.DOCKER.IO is another host to registries.conf",
  },
  {
    host: 'reg.example:5000',
    name: 'reg.example:5000/app',
    apiHost: 'reg.example:5000',
    credentials: 'reg',
    conf: 'blocked',
    upstream: ['reg.example:5000', 'app'],
  },
  {
    host: 'Reg.Example:5000',
    name: 'Reg.Example:5000/app',
    apiHost: 'Reg.Example:5000',
    credentials: 'reg',
    conf: 'blocked',
    upstream: ['Reg.Example:5000', 'app'],
    why: 'kept as written in names; compared without case, so credentials and registries.conf (blocked) are those of reg.example:5000, where docker and podman compare exactly',
  },
  {
    host: 'http://Reg.Example:5000',
    name: /no URL scheme/,
    upstream: ['Reg.Example:5000', 'app'],
    why: 'a reference has no scheme; an upstream is an origin, its host kept as written as a bare upstream is',
  },
  {
    host: 'https://Registry-1.Docker.IO/',
    name: /no URL scheme/,
    upstream: ['docker.io', 'library/app'],
  },
  {
    host: 'myreg',
    name: 'docker.io/myreg/app',
    apiHost: 'registry-1.docker.io',
    credentials: 'hub',
    conf: 'hub-mirror.example/hub/myreg/app',
    upstream: ['myreg', 'app'],
    why: 'a one-word first component is a Docker Hub namespace to the reference grammar; --upstream names a server, so a one-word upstream is that host, as localhost is',
  },
  {
    host: 'localhost',
    name: 'localhost/app',
    apiHost: 'localhost',
    credentials: '-',
    conf: '-',
    upstream: ['localhost', 'app'],
  },
];

describe('registry host names through every caller', () => {
  for (const row of ROWS) {
    it(row.host, () => {
      if (row.name instanceof RegExp) {
        assert.throws(() => parseReference(`${row.host}/app`), row.name);
      } else {
        const ref = parseReference(`${row.host}/app`);
        assert.equal(ref.name, row.name, 'reference name');
        assert.equal(ref.apiHost, row.apiHost, 'API host');
        assert.equal(credentialsOf(ref.registry, ref.repository), row.credentials, 'credentials');
        assert.equal(confOf(ref), row.conf, 'registries.conf');
      }
      if (row.upstream instanceof RegExp) {
        assert.throws(() => UpstreamMap.parse([row.host]), row.upstream);
      } else {
        const map = UpstreamMap.parse([row.host]);
        const route = map.route('app');
        assert.deepEqual(
          [route?.upstream.registry, route?.repository],
          row.upstream,
          'upstream registry and repository',
        );
      }
    });
  }

  it('a one-word upstream is reached as that host, with its own credentials', () => {
    const route = UpstreamMap.parse(['myreg']).route('team/app');
    assert.ok(route);
    const ref = UpstreamMap.referenceOf(route, '1.0');
    assert.equal(ref.registry, 'myreg');
    assert.equal(ref.repository, 'team/app');
    assert.equal(ref.apiHost, 'myreg');
    assert.equal(credentialsOf(ref.registry, ref.repository), 'my');
    // registries.conf's `myreg` prefix applies to it (its location has a dot).
    assert.equal(confOf(ref), 'myreg.example/team/app');
  });

  it('a registries.conf location that a reference would read as Docker Hub is refused', () => {
    const conf = new RegistriesConf(
      parseRegistriesConf(
        '[[registry]]\nprefix = "reg.example"\nlocation = "myreg"',
        '/t/registries.conf',
      ).registries,
      undefined,
      '/t/registries.conf',
      'permissive',
      new Map(),
      ['/t/registries.conf'],
    );
    assert.throws(
      () => conf.pullSources(parseReference('reg.example/app:1')),
      (err: unknown) =>
        err instanceof ConfigError && /"myreg" is not a registry host/.test(err.message),
    );
  });

  it('registries.conf: hosts without case, the rest exactly; a prefix written as the reference wins a tie', () => {
    const conf = new RegistriesConf(
      parseRegistriesConf(
        [
          '[[registry]]',
          'prefix = "reg.example/Team"',
          'location = "reg.example/Team"',
          'blocked = true',
          '[[registry]]',
          'prefix = "Reg.Example"',
          'location = "upper.example"',
          '[[registry]]',
          'prefix = "reg.example"',
          'location = "lower.example"',
          '[[registry]]',
          'prefix = "*.Wild.Example"',
          'location = "wild.example"',
        ].join('\n'),
        '/t/registries.conf',
      ).registries,
      undefined,
      '/t/registries.conf',
      'permissive',
      new Map(),
      ['/t/registries.conf'],
    );
    const rewritten = (text: string) => conf.pullSources(parseReference(text))[0]?.ref.toString();
    assert.equal(rewritten('reg.example/team/app:1'), 'lower.example/team/app:1');
    assert.equal(rewritten('Reg.Example/team/app:1'), 'upper.example/team/app:1');
    assert.equal(rewritten('REG.EXAMPLE/team/app:1'), 'upper.example/team/app:1');
    assert.equal(rewritten('a.WILD.example/app:1'), 'wild.example/app:1');
    assert.doesNotThrow(() => conf.checkAllowed('REG.example', 'team/app'));
  });

  it('credentials: Docker Hub under each of its keys, in any case; the helper gets docker’s URL', () => {
    for (const key of [
      'https://index.docker.io/v1/',
      'index.docker.io',
      'docker.io',
      'registry-1.docker.io',
      'Docker.IO',
    ]) {
      const contents = { auths: { [key]: { auth: Buffer.from('u:p').toString('base64') } } };
      for (const registry of ['docker.io', 'registry-1.docker.io', 'INDEX.docker.io']) {
        assert.equal(
          findAuthEntry(contents, registry, 'library/app')?.key,
          key,
          `${key} for ${registry}`,
        );
      }
    }
    assert.equal(helperServerUrl('Registry-1.Docker.io'), 'https://index.docker.io/v1/');
    assert.equal(helperServerUrl('reg.example:5000'), 'reg.example:5000');
  });

  it('insecure hosts compare without case', () => {
    const conf = new RegistriesConf(
      parseRegistriesConf(
        '[[registry]]\nprefix = "a.example"\nlocation = "Insecure.Example:5000"\ninsecure = true',
        '/t/registries.conf',
      ).registries,
      undefined,
      '/t/registries.conf',
      'permissive',
      new Map(),
      ['/t/registries.conf'],
    );
    assert.equal(conf.isInsecure('insecure.example:5000'), true);
    assert.equal(conf.isInsecure('INSECURE.example:5000'), true);
    assert.equal(conf.isInsecure('insecure.example:5001'), false);
  });

  it('policy.json: a docker scope applies to its host in any case, its path exactly', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: {
          docker: {
            'reg.example:5000': [{ type: 'reject' }],
            'Other.Example/team': [{ type: 'reject' }],
            '*.Wild.Example': [{ type: 'reject' }],
          },
        },
      }),
      '/t/policy.json',
    );
    const verdict = (text: string) =>
      requirementsFor(policy, 'docker', dockerScopes(parseReference(text))).requirements[0]?.type;
    assert.equal(verdict('reg.example:5000/app:1'), 'reject');
    assert.equal(verdict('REG.Example:5000/app:1'), 'reject');
    assert.equal(verdict('reg.example:5001/app:1'), 'insecureAcceptAnything');
    assert.equal(verdict('other.example/team/app:1'), 'reject');
    assert.equal(verdict('other.example/teams/app:1'), 'insecureAcceptAnything');
    assert.equal(verdict('a.WILD.example/app:1'), 'reject');
  });

  it('a constructed reference keeps its host as written', () => {
    assert.equal(new Reference('Reg.Example', 'a').name, 'Reg.Example/a');
  });
});
