import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../harness/run-cli.js';

const POLICY_HINT =
  /unknown option '--policy'; a policy\.json is given with --signature-policy FILE \(skopeo's --policy FILE\); --policy is pull's pull policy/;

describe('usage mistakes', () => {
  it('are one line naming the help to read, exit 2', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['inspect'], /missing required argument 'image'/, 'inspect'],
      [['inspect', '--bogus', 'x'], /unknown option '--bogus'/, 'inspect'],
      [['ls', 'a', 'b', 'c'], /too many arguments for 'ls'/, 'ls'],
      [['export', 'x'], /required option '-o, --output <file>' not specified/, 'export'],
      [['frob'], /unknown command 'frob'; Did you mean blob\?/, ''],
      [['-h'], /unknown option '-h'/, ''],
      // skopeo's global --policy FILE is --signature-policy FILE; before or after the command.
      [['copy', '--policy', 'p.json', 'a', 'b'], POLICY_HINT, 'copy'],
      [['--policy', 'p.json', 'inspect', 'x'], POLICY_HINT, ''],
    ];
    for (const [args, message, command] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.out, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
      assert.ok(
        lines[0]!.endsWith(`(see "ocipeek ${command ? `${command} ` : ''}--help")`),
        lines[0],
      );
    }
  });

  it('help is --help (and help COMMAND), exit 0 on stdout; -h is ls -h', async () => {
    for (const args of [['--help'], ['ls', '--help'], ['help', 'ls']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.out, /^Usage: ocipeek/m);
      assert.equal(r.stderr, '');
    }
    const ls = await runCli(['ls', '--help']);
    assert.match(ls.out, /-h, --human-readable/);
    assert.match(ls.out, /-a, --all/);
    // ls -lah without an image is a usage mistake about the image, not help.
    const r = await runCli(['ls', '-lah']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing required argument 'image'/);
  });

  it("pull's --policy is the pull policy: a file there says where policy.json goes", async () => {
    const r = await runCli(['pull', '--policy', 'policy.json', 'x']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `ocipeek: --policy is the pull policy, one of always, missing, newer, never (got "policy.json"); a policy.json is given with --signature-policy FILE (skopeo's --policy FILE)`,
    );
  });
});
