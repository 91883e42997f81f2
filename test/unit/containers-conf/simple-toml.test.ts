import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { parseSimpleToml } from '../../../src/containers-conf/simple-toml.js';

/** The part of Debian's /etc/containers/registries.conf.d/shortnames.conf that matters. */
const SHORTNAMES = `[aliases]
  # almalinux
  "almalinux" = "docker.io/library/almalinux"
  "almalinux-minimal" = "docker.io/library/almalinux-minimal"
  # centos
  "centos" = "quay.io/centos/centos"
  "skopeo" = "quay.io/skopeo/stable"
  "fedora" = "registry.fedoraproject.org/fedora"
`;

/** smol-toml's table, or the message it throws. */
function smol(text: string): unknown {
  try {
    return parse(text);
  } catch (err) {
    return `error: ${(err as Error).message.split('\n')[0]}`;
  }
}

describe('parseSimpleToml reads string tables as smol-toml does, or declines', () => {
  it('reads a shortnames.conf drop-in, comments and blank files', () => {
    const t = parseSimpleToml(SHORTNAMES);
    assert.ok(t);
    assert.deepEqual(t, parse(SHORTNAMES));
    assert.equal(Object.getPrototypeOf(t), null);
    assert.equal(Object.getPrototypeOf(t.aliases), null);
    assert.deepEqual(Object.keys(t.aliases as object).slice(0, 3), [
      'almalinux',
      'almalinux-minimal',
      'centos',
    ]);
    for (const text of [
      '',
      '\n\n',
      '  # only a comment\n',
      'a = "x" # trailing\n[t] # header comment\nb = "y"',
      '[ spaced ]\n"quoted key" = ""\nbare_key-1 = "ünïcode ✓"\n',
      '"" = "empty key"\n',
      'k = "with # inside"\n',
    ]) {
      const simple = parseSimpleToml(text);
      assert.ok(simple, JSON.stringify(text));
      assert.deepEqual(simple, parse(text), JSON.stringify(text));
    }
  });

  it('declines what it does not read, and everything smol-toml refuses', () => {
    for (const text of [
      'a = "x"\r\n', // CRLF
      'a = 1\n',
      "a = 'literal'\n",
      'a = "esc\\"aped"\n',
      'a = "tab\there"\n',
      'a.b = "dotted"\n',
      '[a.b]\n',
      '[[registry]]\nlocation = "x"\n',
      'a = ["x"]\n',
      'a = """x"""\n',
      '[t]\n[u]\n', // a second header
      '[t]\n[t]\n', // redefined
      'a = "x"\na = "y"\n', // duplicate key
      '"a" = "x"\na = "y"\n', // the same key, quoted and bare
      't = "x"\n[t]\n', // a header naming a set key
      '"__proto__" = "x"\n',
      'a = "x" b = "y"\n',
      'a = "x\x01"\n',
      'a = "x" # bad \x01\n',
      '\ufeffa = "x"\n',
      '[aliases\n',
      'a = "unterminated\n',
    ]) {
      assert.equal(parseSimpleToml(text), undefined, JSON.stringify(text));
    }
  });

  it('declines a long line of blanks in time linear in its length', () => {
    // Two runs of blanks in the line's expression, one each side of the optional key or
    // header, split a run of blanks every way before failing: quadratic, ~1.4 s for 40,000
    // blanks and a minute for a 300 KB line (a malformed config file hung every command).
    const blanks = ' '.repeat(100_000);
    for (const text of [`${blanks}x`, `${blanks}\t\x01`, `a = "b"${blanks}x`, `[t]${blanks}x`]) {
      const started = performance.now();
      assert.equal(parseSimpleToml(text), undefined);
      const ms = performance.now() - started;
      assert.ok(ms < 500, `${ms.toFixed(0)} ms for ${JSON.stringify(text.slice(-8))}`);
    }
    // Blanks that are the whole line are a blank line, read.
    const read = `${blanks}\na = "b"${blanks}# c${blanks}\n`;
    assert.deepEqual(parseSimpleToml(read), parse(read));
    assert.equal((parse(read) as { a: string }).a, 'b');
  });

  it('when it reads a text, smol-toml reads the same table (20,000 random texts)', () => {
    const tokens = [
      '[',
      ']',
      '"',
      '=',
      ' ',
      '\t',
      '#',
      '\n',
      'a',
      'b',
      '-',
      '.',
      '\\',
      "'",
      '\x01',
      'aliases',
    ];
    let seed = 15;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    let read = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      const n = next() % 24;
      for (let j = 0; j < n; j++) text += tokens[next() % tokens.length];
      const simple = parseSimpleToml(text);
      if (simple === undefined) continue;
      read++;
      assert.deepEqual(simple, smol(text), JSON.stringify(text));
    }
    assert.ok(read > 500, `only ${read} random texts were read`);
  });

  it('when it reads a text, smol-toml reads the same table (100,000 random files of lines)', () => {
    const pieces = ['a', 'b', 'x.io/a', '', ' ', '#', '"', '\\', '.', '-', '\t', 'ü', '\x7f'];
    let seed = 4;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const words = ['a', 'b', 'k_1', 'x-y', 'a'];
    // Mostly words, so that many texts are read; sometimes a character that must decline.
    const piece = () =>
      next() % 5 ? words[next() % words.length]! : pieces[next() % pieces.length]!;
    const line = () => {
      switch (next() % 6) {
        case 0:
          return `[${piece()}]`;
        case 1:
          return `${piece()} = "${piece()}"`;
        case 2:
          return `  "${piece()}"\t= "${piece()}" #${piece()}`;
        case 3:
          return `# ${piece()}`;
        case 4:
          return piece();
        default:
          return `"${next() % 3}" = "${piece()}"`;
      }
    };
    let read = 0;
    let withKeys = 0;
    for (let i = 0; i < 100_000; i++) {
      const lines: string[] = [];
      const n = next() % 6;
      for (let j = 0; j < n; j++) lines.push(line());
      const text = lines.join('\n');
      const simple = parseSimpleToml(text);
      if (simple === undefined) continue;
      read++;
      if (Object.keys(simple).length > 0) withKeys++;
      assert.deepEqual(simple, smol(text), JSON.stringify(text));
    }
    assert.ok(withKeys > 2000, `only ${withKeys} of ${read} texts read had a key`);
  });
});
