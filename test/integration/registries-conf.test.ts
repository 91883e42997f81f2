import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  digestOf,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeoRaw,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * registries.conf as skopeo 1.9.3 (containers/image) reads it: for each configuration,
 * both tools are asked for the same reference and must end at the same registry, shown
 * by the digest they get (each test registry holds a different image under the same
 * name, so the digest says which one served).
 */
describe('registries.conf: ocipeek resolves like skopeo 1.9.3', () => {
  let dir: TempDir;
  let a: RunningRegistry;
  let m1: RunningRegistry;
  let m2: RunningRegistry;
  /** Manifest digest → which registry's image it is. */
  const owner = new Map<string, string>();
  let imageOnlyOnM1: BuiltImage;
  let noDropIns: string;
  let n = 0;

  before(async () => {
    dir = await tempDir('registries-conf');
    [a, m1, m2] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    const imgA = await randomImage(w, { refName: 'a' });
    imageOnlyOnM1 = await randomImage(w, { refName: 'm1' });
    const imgM2 = await randomImage(w, { refName: 'm2' });
    await w.finish();
    await pushLayout(layout, 'a', a, 'lib/app:1');
    await pushLayout(layout, 'm1', m1, 'mirror/lib/app:1');
    await pushLayout(layout, 'm2', m2, 'lib/app:1');
    for (const [img, who] of [
      [imgA, 'A'],
      [imageOnlyOnM1, 'M1'],
      [imgM2, 'M2'],
    ] as const) {
      owner.set(img.descriptor.digest, who);
      owner.set(img.configDescriptor.digest, who);
    }
    noDropIns = join(dir.path, 'no-drop-ins');
    await mkdir(noDropIns);
  });

  after(async () => {
    await Promise.all([a?.stop(), m1?.stop(), m2?.stop()]);
    await dir?.remove();
  });

  /** Write a registries.conf, `$A`, `$M1`, `$M2` standing for the registries' hosts. */
  async function confFile(text: string): Promise<string> {
    const file = join(dir.path, `registries-${n++}.conf`);
    const hosts = text
      .replaceAll('$A', a.host)
      .replaceAll('$M1', m1.host)
      .replaceAll('$M2', m2.host);
    await writeFile(file, hosts);
    return file;
  }

  /** Which registry served `ref` to ocipeek (`digest`), or `refused: MESSAGE`. */
  async function ocipeekServed(file: string, ref: string): Promise<string> {
    const r = await runCli([
      'digest',
      '--registries-conf',
      file,
      '--registries-conf-dir',
      noDropIns,
      `docker://${ref}`,
    ]);
    if (r.code !== 0) return `refused: ${r.stderr.trim()}`;
    return owner.get(r.out.trim()) ?? `unknown digest ${r.out.trim()}`;
  }

  /** Which registry served `ref` to skopeo (`inspect --raw`), or `refused: MESSAGE`. */
  async function skopeoServed(file: string, ref: string): Promise<string> {
    try {
      const raw = await skopeoRaw([
        '--registries-conf',
        file,
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--no-creds',
        `docker://${ref}`,
      ]);
      return owner.get(digestOf(raw)) ?? 'unknown digest';
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    }
  }

  /** Both tools agree; returns what served (or `refused`). */
  async function bothServe(conf: string, ref: string): Promise<string> {
    const file = await confFile(conf);
    const wanted = ref
      .replaceAll('$A', a.host)
      .replaceAll('$M1', m1.host)
      .replaceAll('$M2', m2.host);
    const [ours, theirs] = await Promise.all([
      ocipeekServed(file, wanted),
      skopeoServed(file, wanted),
    ]);
    const short = (s: string) => (s.startsWith('refused') ? 'refused' : s);
    assert.equal(short(ours), short(theirs), `ocipeek: ${ours}\nskopeo: ${theirs}`);
    return ours;
  }

  const insecureAll = `
[[registry]]
location = "$A"
insecure = true
[[registry]]
location = "$M1"
insecure = true
[[registry]]
location = "$M2"
insecure = true
`;

  it('a prefix is rewritten to its location', async () => {
    const conf = `${insecureAll}
[[registry]]
prefix = "example.test/team"
location = "$A/lib"
insecure = true
`;
    assert.equal(await bothServe(conf, 'example.test/team/app:1'), 'A');
    assert.equal(await bothServe(conf, '$M2/lib/app:1'), 'M2', 'other registries are untouched');
  });

  it('a wildcard prefix matches subdomains; its mirror serves a host that does not exist', async () => {
    const conf = `${insecureAll}
[[registry]]
prefix = "*.rewrite.test"
location = "$A"
insecure = true
[[registry]]
prefix = "*.mirrored.test"
[[registry.mirror]]
location = "$M2"
insecure = true
`;
    assert.equal(await bothServe(conf, 'deep.sub.rewrite.test/lib/app:1'), 'A');
    assert.equal(await bothServe(conf, 'no-such-host.mirrored.test/lib/app:1'), 'M2');
  });

  it('mirrors are tried in order, then the registry itself', async () => {
    const conf = `
[[registry]]
prefix = "pub.test/lib"
location = "$A/lib"
insecure = true
[[registry.mirror]]
location = "$M1/mirror/lib"
insecure = true
[[registry.mirror]]
location = "$M2/lib"
insecure = true
`;
    assert.equal(await bothServe(conf, 'pub.test/lib/app:1'), 'M1');
    const secondFirst = conf.replace('$M1/mirror/lib', '$M1/nothing/here');
    assert.equal(await bothServe(secondFirst, 'pub.test/lib/app:1'), 'M2');
    const noMirrorHasIt = secondFirst.replace('location = "$M2/lib"', 'location = "$M2/nothing"');
    assert.equal(await bothServe(noMirrorHasIt, 'pub.test/lib/app:1'), 'A');
  });

  it('pull-from-mirror: digest-only and tag-only mirrors serve only their kind of reference', async () => {
    const conf = `
[[registry]]
prefix = "pub.test/lib"
location = "$A/lib"
insecure = true
[[registry.mirror]]
location = "$M1/mirror/lib"
pull-from-mirror = "digest-only"
insecure = true
[[registry.mirror]]
location = "$M2/lib"
pull-from-mirror = "all"
insecure = true
`;
    assert.equal(await bothServe(conf, 'pub.test/lib/app:1'), 'M2', 'by tag: M1 is skipped');
    const byDigest = `pub.test/lib/app@${imageOnlyOnM1.descriptor.digest}`;
    assert.equal(await bothServe(conf, byDigest), 'M1', 'by digest: M1 first (only it has it)');
    const tagOnly = conf.replace('"digest-only"', '"tag-only"');
    assert.equal(await bothServe(tagOnly, 'pub.test/lib/app:1'), 'M1');
    assert.match(await bothServe(tagOnly, byDigest), /^refused/, 'by digest: M1 is skipped');
    const legacy = `
[[registry]]
prefix = "pub.test/lib"
location = "$A/lib"
insecure = true
mirror-by-digest-only = true
[[registry.mirror]]
location = "$M1/mirror/lib"
insecure = true
`;
    assert.equal(await bothServe(legacy, 'pub.test/lib/app:1'), 'A');
    assert.equal(await bothServe(legacy, byDigest), 'M1');
  });

  it('a blocked registry is refused, naming the file; its mirrors still serve', async () => {
    const conf = `${insecureAll.replace('location = "$A"\ninsecure = true', 'location = "$A"\ninsecure = true\nblocked = true')}`;
    const file = await confFile(conf);
    assert.match(await bothServe(conf, '$A/lib/app:1'), /^refused/);
    const ours = await ocipeekServed(file, `${a.host}/lib/app:1`);
    assert.match(
      ours,
      new RegExp(`registry ${a.host} is blocked in ${file.replace(/[.]/g, '\\.')}`),
    );
    const withMirror = `${conf}
[[registry]]
prefix = "$A/lib"
location = "$A/lib"
insecure = true
blocked = true
[[registry.mirror]]
location = "$M2/lib"
insecure = true
`;
    assert.equal(await bothServe(withMirror, '$A/lib/app:1'), 'M2');
  });

  it('--verbose says which endpoint served, and pull stores the image under the name asked for', async () => {
    const file = await confFile(`
[[registry]]
prefix = "pub.test/lib"
location = "$A/lib"
[[registry.mirror]]
location = "$M1/nothing"
[[registry.mirror]]
location = "$M2/lib"
`);
    const store = join(dir.path, 'store');
    const r = await runCli([
      'pull',
      '--verbose',
      '--registries-conf',
      file,
      '--registries-conf-dir',
      noDropIns,
      '--store',
      store,
      'pub.test/lib/app:1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`pub\\.test/lib/app:1 served by mirror ${m2.host}/lib/app:1`),
    );
    assert.match(r.stderr, new RegExp(`${m1.host}/nothing/app:1 failed`));
    assert.match(r.out, /^pub\.test\/lib\/app:1: /);
    const images = await runCli(['images', '--store', store, '--json']);
    assert.match(images.out, /pub\.test\/lib\/app/);
    const blobs = await readdir(join(store, 'blobs', 'sha256'));
    assert.ok(blobs.includes([...owner].find(([, who]) => who === 'M2')![0].slice(7)));
  });

  /**
   * Which registry served short name `name` to buildah 1.28 (podman's resolution:
   * `buildah pull` into a throwaway vfs store), by the image ID it prints (the config
   * digest), or `refused: MESSAGE`.
   */
  function buildahServed(file: string, name: string): Promise<string> {
    const root = join(dir.path, `buildah-${n++}`);
    const args = [
      '--root',
      join(root, 'root'),
      '--runroot',
      join(root, 'run'),
      '--storage-driver',
      'vfs',
      '--registries-conf',
      file,
      '--registries-conf-dir',
      noDropIns,
      '--short-name-alias-conf',
      join(root, 'aliases.conf'),
      'pull',
      '--tls-verify=false',
      '--quiet',
      name,
    ];
    return new Promise((resolve) => {
      execFile('buildah', args, { timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) resolve(`refused: ${stderr.trim()}`);
        else resolve(owner.get(`sha256:${stdout.trim().split('\n').pop()}`) ?? `unknown ${stdout}`);
      });
    });
  }

  it('short names resolve as buildah (podman) resolves them: aliases, search order, enforcing', async () => {
    const check = async (conf: string, name: string) => {
      const file = await confFile(conf);
      const [ours, theirs] = await Promise.all([
        runCli(['digest', '--registries-conf', file, '--registries-conf-dir', noDropIns, name]),
        buildahServed(file, name),
      ]);
      const oursServed =
        ours.code === 0
          ? (owner.get(ours.out.trim()) ?? ours.out)
          : `refused: ${ours.stderr.trim()}`;
      const short = (s: string) => (s.startsWith('refused') ? 'refused' : s);
      assert.equal(short(oursServed), short(theirs), `ocipeek: ${oursServed}\nbuildah: ${theirs}`);
      return oursServed;
    };
    const alias = `${insecureAll}\n[aliases]\n"team/app" = "$A/lib/app"\n`;
    assert.equal(await check(alias, 'team/app:1'), 'A');
    const search = `unqualified-search-registries = ["$M1", "$M2", "$A"]\n${insecureAll}`;
    assert.equal(
      await check(search, 'lib/app:1'),
      'M2',
      'M1 lacks lib/app: the next candidate serves',
    );
    const enforcing = `short-name-mode = "enforcing"\n${search}`;
    const refused = await check(enforcing, 'lib/app:1');
    assert.match(refused, /ambiguous and short-name-mode is enforcing/);
    assert.ok(
      refused.includes(`${m1.host}/lib/app:1, ${m2.host}/lib/app:1, ${a.host}/lib/app:1`),
      refused,
    );
  });

  it('insecure skips certificate checks for that registry only, in both tools', async () => {
    const tlsReg = await startRegistry({ tls: 'tls' });
    try {
      await pushLayout(join(dir.path, 'layout'), 'a', tlsReg, 'lib/app:1');
      const ref = `${tlsReg.host}/lib/app:1`;
      const ask = async (conf: string) => {
        const file = await confFile(conf);
        const ours = await runCli([
          'digest',
          '--registries-conf',
          file,
          '--registries-conf-dir',
          noDropIns,
          ref,
        ]);
        let theirs = 'served';
        try {
          await skopeoRaw([
            '--registries-conf',
            file,
            'inspect',
            '--raw',
            '--no-creds',
            `docker://${ref}`,
          ]);
        } catch (err) {
          theirs = `refused: ${(err as Error).message}`;
        }
        return {
          ours:
            ours.code === 0 ? (owner.get(ours.out.trim()) ?? ours.out) : `refused: ${ours.stderr}`,
          theirs,
        };
      };
      const strict = await ask(`[[registry]]\nlocation = "${tlsReg.host}"\n`);
      assert.match(strict.ours, /^refused: .*certificate/);
      assert.match(strict.theirs, /^refused: .*certificate/);
      const insecure = await ask(`[[registry]]\nlocation = "${tlsReg.host}"\ninsecure = true\n`);
      assert.equal(insecure.ours, 'A');
      assert.equal(insecure.theirs, 'served');
    } finally {
      await tlsReg.stop();
    }
  });
});
