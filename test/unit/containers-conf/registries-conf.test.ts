import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import {
  loadRegistriesConf,
  prefixMatchLength,
  RegistriesConf,
} from '../../../src/containers-conf/index.js';
import {
  parseAliases,
  parseRegistriesConf,
  withoutCommentLines,
} from '../../../src/containers-conf/registries-conf-file.js';
import { BlockedRegistryError, ConfigError } from '../../../src/errors/index.js';
import { parseReference, type Reference } from '../../../src/ref/index.js';
import { tempDir } from '../../harness/temp-dir.js';

const D = `sha256:${'b'.repeat(64)}`;

function conf(text: string): RegistriesConf {
  const file = parseRegistriesConf(text, '/test/registries.conf');
  return new RegistriesConf(
    file.registries,
    file.searchRegistries,
    '/test/registries.conf',
    file.shortNameMode ?? 'permissive',
    file.aliases,
    ['/test/registries.conf'],
  );
}

const sources = (c: RegistriesConf, ref: string) =>
  c.pullSources(parseReference(ref)).map((s) => `${s.mirror ? 'mirror ' : ''}${s.ref}`);

describe('registries.conf prefixes match as containers-registries.conf(5) says', () => {
  it('matches whole components only, and wildcards subdomains without a path', () => {
    assert.equal(prefixMatchLength('example.com/foo/bar:1', 'example.com/foo'), 15);
    assert.equal(prefixMatchLength('example.com/foobar:1', 'example.com/foo'), -1);
    assert.equal(prefixMatchLength('example.com/foo', 'example.com/foo'), 15);
    assert.equal(prefixMatchLength('example.com/foo@' + D, 'example.com/foo'), 15);
    assert.equal(prefixMatchLength('a.b.example.com/x:1', '*.example.com'), 15);
    assert.equal(prefixMatchLength('example.com/x:1', '*.example.com'), -1);
    assert.equal(prefixMatchLength('other.com/a.example.com/x', '*.example.com'), -1);
    assert.equal(prefixMatchLength('a.example.community/x', '*.example.com'), -1);
  });

  it('the longest prefix wins and its location replaces it', () => {
    const c = conf(`
[[registry]]
prefix = "example.com"
location = "mirror.local:5000"
[[registry]]
prefix = "example.com/team"
location = "team.local/nested/team"
`);
    assert.deepEqual(sources(c, 'example.com/team/app:1'), ['team.local/nested/team/app:1']);
    assert.deepEqual(sources(c, 'example.com/other/app@' + D), [
      `mirror.local:5000/other/app@${D}`,
    ]);
    assert.deepEqual(sources(c, 'unrelated.io/app:1'), ['unrelated.io/app:1']);
  });

  it('wildcards keep the reference, or rewrite it when they have a location', () => {
    const c = conf(`
[[registry]]
prefix = "*.wild.test"
[[registry.mirror]]
location = "m.local/cache"
[[registry]]
prefix = "*.rewrite.test"
location = "127.0.0.1:5000"
`);
    assert.deepEqual(sources(c, 'a.wild.test/x/y:2'), [
      'mirror m.local/cache/x/y:2',
      'a.wild.test/x/y:2',
    ]);
    assert.deepEqual(sources(c, 'b.rewrite.test/x:1'), ['127.0.0.1:5000/x:1']);
  });

  it('mirrors come first, filtered by pull-from-mirror and mirror-by-digest-only', () => {
    const c = conf(`
[[registry]]
location = "primary.io"
[[registry.mirror]]
location = "all.io"
[[registry.mirror]]
location = "digest.io"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.io"
pull-from-mirror = "tag-only"
insecure = true
[[registry]]
location = "legacy.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "legacy-mirror.io"
`);
    assert.deepEqual(sources(c, 'primary.io/a:1'), [
      'mirror all.io/a:1',
      'mirror tag.io/a:1',
      'primary.io/a:1',
    ]);
    assert.deepEqual(sources(c, `primary.io/a@${D}`), [
      `mirror all.io/a@${D}`,
      `mirror digest.io/a@${D}`,
      `primary.io/a@${D}`,
    ]);
    assert.deepEqual(sources(c, 'legacy.io/a:1'), ['legacy.io/a:1']);
    assert.deepEqual(sources(c, `legacy.io/a@${D}`), [
      `mirror legacy-mirror.io/a@${D}`,
      `legacy.io/a@${D}`,
    ]);
    assert.equal(c.isInsecure('tag.io'), true);
    assert.equal(c.isInsecure('all.io'), false);
  });

  it('blocked registries refuse with the file that blocks them', () => {
    const c = conf(`
[[registry]]
location = "blocked.io/bad"
blocked = true
`);
    assert.throws(
      () => c.checkAllowed('blocked.io', 'bad/app'),
      (err: unknown) =>
        err instanceof BlockedRegistryError &&
        err.code === 'ERR_REGISTRY_BLOCKED' &&
        err.message.includes('/test/registries.conf') &&
        err.message.includes('blocked.io/bad'),
    );
    c.checkAllowed('blocked.io', 'good/app');
    c.checkAllowed('other.io', 'bad/app');
  });

  it('refuses invalid files with a message naming the file and the problem', () => {
    const bad: Array<[string, RegExp]> = [
      ['[[registry]]\nprefix = "x.io"\n', /no location/],
      ['[[registry]]\nlocation = "https://x.io"\n', /URI schemes/],
      ['[[registry]]\nlocation = "x.io"\npull-from-mirror = "all"\n', /non-mirror/],
      [
        '[[registry]]\nlocation = "x.io"\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "sometimes"\n',
        /unsupported pull-from-mirror/,
      ],
      [
        '[[registry]]\nlocation = "x.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "all"\n',
        /choose one/,
      ],
      ['[[registry]]\nprefix = "*.x.io/ns"\n', /wildcard/],
      ['short-name-mode = "strict"\n', /short-name-mode/],
      ['unqualified-search-registries = ["x.io/ns"]\n', /unqualified-search-registries/],
      // Which part is at fault, as a reference with that host is told.
      [
        'unqualified-search-registries = ["x.io:99999"]\n',
        /unqualified-search-registries entry "x\.io:99999": invalid registry port "99999"$/,
      ],
      ['[[registry]]\nlocation = "x.io"\ninsecure = "yes"\n', /insecure must be true or false/],
      [
        '[[registry]]\nlocation = "x.io"\nblocked = true\n[[registry]]\nprefix = "y.io"\nlocation = "x.io"\n',
        /different "blocked"/,
      ],
      ['[aliases]\n"Bad" = "x.io/a"\n', /invalid short name/],
      ['[aliases]\n"app" = "app"\n', /must name a registry/],
      ['[aliases]\n"app" = "x.io/a:1"\n', /tag or digest/],
      ['[[registry]\n', /invalid TOML/],
      ['short-name-mode = "enforcing"\n[registries.search]\nregistries = ["a.io"]\n', /mixing/],
    ];
    for (const [text, message] of bad) {
      assert.throws(
        () => parseRegistriesConf(text, '/etc/x.conf'),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith('/etc/x.conf: ') &&
          message.test(err.message),
        text,
      );
    }
  });

  it('reads version 1 files as version 2', () => {
    const c = conf(`
[registries.search]
registries = ["one.io", "two.io"]
[registries.insecure]
registries = ["one.io"]
[registries.block]
registries = ["evil.io"]
`);
    assert.deepEqual(c.searchRegistries, ['one.io', 'two.io']);
    assert.equal(c.isInsecure('one.io'), true);
    assert.throws(() => c.checkAllowed('evil.io', 'x'), BlockedRegistryError);
  });
});

describe('comment lines are skipped before the TOML parser, with the same outcome', () => {
  it('a file of comments is empty; comments between values and in arrays are ignored', () => {
    const empty = parseRegistriesConf('# one\n  # two\r\n\t#\n\n# last', '/etc/x.conf');
    assert.deepEqual(empty.registries, []);
    assert.equal(empty.searchRegistries, undefined);
    assert.equal(empty.aliases.size, 0);
    const c = conf(
      '# head\nunqualified-search-registries = [\n  # first\r\n  "a.io", # trailing\n  # second\n  "b.io",\n]\n' +
        '  # indented\n[aliases]\n# x = "y"\n"app" = "a.io/team/app" # kept\n',
    );
    assert.deepEqual(c.searchRegistries, ['a.io', 'b.io']);
    assert.deepEqual([...c.aliases.keys()], ['app']);
  });

  it('a "#" line inside a multi-line string stays part of the string; values parse the same', () => {
    const samples = [
      'note = """\n# not a comment\n"""\n',
      "note = '''\n  # not a comment either\n'''\n# a comment\n",
      '# c\n[aliases] # t\n  # c\n"a" = "x.io/a"\r\n# c\r\n"b" = "#x.io/b"\n',
      'list = [ # c\n  # c\n  1,\n# c\n  2 ]\n#',
      'tab = { a = 1 }\n\t# c\n[t]\nk = "# v"\n',
    ];
    for (const text of samples) {
      assert.deepEqual(parse(withoutCommentLines(text)), parse(text), text);
    }
    assert.equal(withoutCommentLines(samples[0]!), samples[0]);
    assert.equal(withoutCommentLines(samples[1]!), samples[1]);
    assert.equal(
      withoutCommentLines(samples[2]!),
      '\n[aliases] # t\n\n"a" = "x.io/a"\r\n\r\n"b" = "#x.io/b"\n',
    );
  });

  it('a comment with a control character is still refused, naming its line', () => {
    for (const text of ['# fine\n# bad \x01 here\n', '# fine\n# bad \x7f\n', '\n\n# bad \x0b\n']) {
      assert.throws(
        () => parseRegistriesConf(text, '/etc/x.conf'),
        (err: unknown) =>
          err instanceof ConfigError && /invalid TOML \(line (2|3):/.test(err.message),
        JSON.stringify(text),
      );
    }
    // Error lines after blanked comments are the file's own.
    assert.throws(
      () => parseRegistriesConf('# a\n# b\n# c\nshort-name-mode = \n', '/etc/x.conf'),
      /invalid TOML \(line 4:/,
    );
  });
});

describe('loadRegistriesConf: files and drop-ins in containers/image precedence', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('registries-conf');
  });
  after(() => dir.remove());

  async function layout(name: string, files: Record<string, string>): Promise<string> {
    const root = join(dir.path, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  it('merges drop-ins in order: same prefix replaced, search registries and mode replaced, aliases merged', async () => {
    const root = await layout('merge', {
      'etc/registries.conf': `
unqualified-search-registries = ["base.io"]
short-name-mode = "permissive"
[[registry]]
location = "a.io"
[[registry.mirror]]
location = "old-mirror.io"
[aliases]
"one" = "base.io/one"
"two" = "base.io/two"
`,
      'etc/registries.conf.d/10-first.conf': `
[[registry]]
location = "a.io"
[[registry.mirror]]
location = "new-mirror.io"
[aliases]
"two" = ""
`,
      'etc/registries.conf.d/20-second.conf': `
unqualified-search-registries = ["drop.io", "base.io"]
short-name-mode = "enforcing"
`,
      'etc/registries.conf.d/ignored.txt': 'not toml [',
      'home/.config/containers/registries.conf.d/30-user.conf': `
[[registry]]
location = "b.io"
blocked = true
`,
    });
    const c = await loadRegistriesConf({
      systemDir: join(root, 'etc'),
      home: join(root, 'home'),
      env: {},
      aliasFile: join(root, 'none'),
    });
    assert.deepEqual(sources(c, 'a.io/x:1'), ['mirror new-mirror.io/x:1', 'a.io/x:1']);
    assert.deepEqual(c.searchRegistries, ['drop.io', 'base.io']);
    assert.equal(c.searchOrigin, join(root, 'etc/registries.conf.d/20-second.conf'));
    assert.equal(c.shortNameMode, 'enforcing');
    assert.equal(c.aliases.get('one')?.value?.toString(), 'base.io/one');
    assert.equal(c.aliases.get('two')?.value, null);
    assert.throws(() => c.checkAllowed('b.io', 'x'), /30-user\.conf/);
    assert.deepEqual(
      c.files.map((f) => f.slice(root.length)),
      [
        '/etc/registries.conf',
        '/etc/registries.conf.d/10-first.conf',
        '/etc/registries.conf.d/20-second.conf',
        '/home/.config/containers/registries.conf.d/30-user.conf',
      ],
    );
  });

  it('the user file replaces the system file and its drop-ins; the env variable and path name one file', async () => {
    const root = await layout('user', {
      'etc/registries.conf': 'unqualified-search-registries = ["system.io"]\n',
      'etc/registries.conf.d/a.conf': 'short-name-mode = "disabled"\n',
      'home/.config/containers/registries.conf': 'unqualified-search-registries = ["user.io"]\n',
      'env.conf': 'unqualified-search-registries = ["env.io"]\n',
      'flag.conf': 'unqualified-search-registries = ["flag.io"]\n',
    });
    const base = {
      systemDir: join(root, 'etc'),
      home: join(root, 'home'),
      aliasFile: join(root, 'none'),
    };
    const user = await loadRegistriesConf({ ...base, env: {} });
    assert.deepEqual(user.searchRegistries, ['user.io']);
    assert.equal(user.shortNameMode, 'permissive');
    const env = await loadRegistriesConf({
      ...base,
      env: { CONTAINERS_REGISTRIES_CONF: join(root, 'env.conf') },
    });
    assert.deepEqual(env.searchRegistries, ['env.io']);
    assert.equal(env.shortNameMode, 'disabled', 'the system drop-ins still apply to a named file');
    const flag = await loadRegistriesConf({
      ...base,
      path: join(root, 'flag.conf'),
      env: { CONTAINERS_REGISTRIES_CONF: join(root, 'env.conf') },
    });
    assert.deepEqual(flag.searchRegistries, ['flag.io']);
    await assert.rejects(
      loadRegistriesConf({ ...base, path: join(root, 'missing.conf'), env: {} }),
      (err: unknown) =>
        err instanceof ConfigError && /missing\.conf: no such file/.test(err.message),
    );
    const none = await loadRegistriesConf({
      systemDir: join(root, 'nothing'),
      home: join(root, 'nohome'),
      env: {},
      aliasFile: join(root, 'none'),
    });
    assert.deepEqual(none.files, []);
    assert.deepEqual(sources(none, 'x.io/a:1'), ['x.io/a:1']);
  });

  it('a drop-in must be version 2, and the alias cache file wins over config aliases', async () => {
    const root = await layout('v1-dropin', {
      'etc/registries.conf': '[aliases]\n"app" = "conf.io/app"\n',
      'cache.conf': '[aliases]\n"app" = "cache.io/app"\n',
    });
    const c = await loadRegistriesConf({
      systemDir: join(root, 'etc'),
      home: join(root, 'h'),
      env: {},
      aliasFile: join(root, 'cache.conf'),
    });
    assert.equal(c.aliases.get('app')?.value?.toString(), 'cache.io/app');
    await mkdir(join(root, 'etc/registries.conf.d'));
    await writeFile(
      join(root, 'etc/registries.conf.d/old.conf'),
      '[registries.search]\nregistries = ["a.io"]\n',
    );
    await assert.rejects(
      loadRegistriesConf({
        systemDir: join(root, 'etc'),
        home: join(root, 'h'),
        env: {},
        aliasFile: join(root, 'none'),
      }),
      /old\.conf: a drop-in must use the version 2 format/,
    );
  });

  it('an invalid alias in a drop-in still fails the load with the same message', async () => {
    const root = await layout('bad-alias-dropin', {
      'etc/registries.conf': '# comments only\n',
      'etc/registries.conf.d/shortnames.conf':
        '[aliases]\n  # ok\n  "alpine" = "docker.io/library/alpine"\n  "bad" = "quay.io/Team/app"\n',
    });
    await assert.rejects(
      loadRegistriesConf({
        systemDir: join(root, 'etc'),
        home: join(root, 'h'),
        env: {},
        aliasFile: join(root, 'none'),
      }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `${join(root, 'etc/registries.conf.d/shortnames.conf')}: alias "bad": ` +
            'invalid reference "quay.io/Team/app": repository name must be lowercase ("Team")',
    );
    const ok = await loadRegistriesConf({
      systemDir: join(root, 'etc'),
      home: join(root, 'h'),
      env: {},
      aliasFile: join(root, 'none'),
      dropInDir: join(root, 'none'),
    });
    assert.equal(ok.aliases.size, 0);
  });
});

describe('alias values: checked at load, a Reference only when read', () => {
  /** The check as it was before the quick test (the oracle): a Reference or a message. */
  function checkedTheLongWay(value: string): string {
    if (value === '') return '= undefined'; // `""` removes the alias
    const domain = value.includes('/') ? value.slice(0, value.indexOf('/')) : '';
    if (!/[.:]/.test(domain) && domain !== 'localhost') return 'must name a registry';
    let ref: Reference;
    try {
      ref = parseReference(value, { defaultTag: null });
    } catch (err) {
      return `alias "a": ${(err as Error).message}`;
    }
    return ref.tag || ref.digest ? 'must not have a tag' : `= ${ref.toString()}`;
  }

  function checkedNow(value: string): string {
    try {
      const aliases = parseAliases({ a: value }, '/etc/x.conf');
      return `= ${aliases.get('a')?.value?.toString()}`;
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const m = err.message.replace('/etc/x.conf: ', '');
      if (m.includes('must name a registry')) return 'must name a registry';
      if (m.includes('must not have a tag')) return 'must not have a tag';
      return m;
    }
  }

  it('gives the same Reference or the same message as the full parse, edge cases', () => {
    const values = [
      'docker.io/alpine',
      'docker.io/library/alpine',
      'index.docker.io/team/app',
      'registry-1.docker.io/x',
      'localhost/a',
      'localhost:5000/a/b',
      'h:65535/a',
      'h:65536/a',
      'h:0/a',
      'X.Example.io/a',
      'x.io/A',
      'x.io/a b',
      'x.io/a\t',
      `x.io/a@sha256:${'c'.repeat(64)}`,
      'x.io/a:1',
      'https://x.io/a',
      'docker://x.io/a',
      'x.io//a',
      'x.io/a/',
      'x.io/-a',
      'x.io/a--b__c.d_e',
      'x.io/a___b',
      '-x.io/a',
      'x-.io/a',
      'x..io/a',
      '[::1]:5000/a',
      'x.io:/a',
      `x.io/${'a'.repeat(231)}`,
      `x.io/${'a'.repeat(250)}`,
      `docker.io/${'a'.repeat(238)}`,
      'app',
      'team/app',
      'x.io',
    ];
    for (const v of values) assert.equal(checkedNow(v), checkedTheLongWay(v), v);
    assert.equal(checkedNow('docker.io/alpine'), '= docker.io/library/alpine');
    assert.equal(
      checkedNow('h:65536/a'),
      'alias "a": invalid reference "h:65536/a": invalid registry port "65536"',
    );
  });

  it('is a plain ShortNameAlias to its users: copied, serialised and set as one', () => {
    const aliases = parseAliases(
      { quick: 'quay.io/team/app', slow: 'docker.io/alpine', gone: '' },
      '/etc/x.conf',
    );
    for (const name of ['quick', 'slow']) {
      const alias = aliases.get(name)!;
      const wanted = alias.value!.toString();
      // A spread or JSON copy has the value, and nothing else than value and file.
      const copy = { ...alias };
      assert.equal(copy.value?.toString(), wanted, name);
      assert.deepEqual(Object.keys(copy).sort(), ['file', 'value'], name);
      assert.deepEqual(JSON.parse(JSON.stringify(alias)), {
        value: JSON.parse(JSON.stringify(alias.value)),
        file: '/etc/x.conf',
      });
      // The field can be set, as the interface says.
      alias.value = null;
      assert.equal(alias.value, null, name);
      const other = parseReference('x.io/other', { defaultTag: null });
      alias.value = other;
      assert.equal(alias.value, other, name);
    }
    assert.deepEqual({ ...aliases.get('gone') }, { value: null, file: '/etc/x.conf' });
  });

  it('gives the same outcome as the full parse for 20,000 random values', () => {
    const alphabet = 'ab9Z.-_:/@ \t';
    let seed = 15;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const heads = ['x.io/', 'localhost', 'h:5', 'docker.io/', 'a', ''];
    for (let i = 0; i < 20_000; i++) {
      let v = heads[next() % heads.length]!;
      const n = next() % 12;
      for (let j = 0; j < n; j++) v += alphabet[next() % alphabet.length];
      assert.equal(checkedNow(v), checkedTheLongWay(v), JSON.stringify(v));
    }
  });
});
