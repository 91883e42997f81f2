#!/usr/bin/env node
// The one test command (`npm test`): make sure the test peers are installed, type-check,
// lint, build (scripts/build.mjs: only when the sources changed, and never under another
// running test run), check the public API report, then run the tests with node's runner.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build, useDist } from './build.mjs';

const USAGE = `usage: node scripts/test.mjs [--unit] [--no-check] [FILE...]
  --unit        only test/unit (needs only the unit peers: zstd, besides tar and gzip)
  --no-check    skip type check, lint and the API report
  FILE...       run only these test files (default: every test under test/)
  --help        print this and exit`;

const FLAGS = ['--unit', '--no-check', '--help', '-h'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => a.startsWith('-') && !FLAGS.includes(a));
if (unknown.length > 0) {
  console.error(`test.mjs: unknown option ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unitOnly = args.includes('--unit');
const noCheck = args.includes('--no-check');
const files = args.filter((a) => !a.startsWith('-'));

/** Debian packages the unit tests use as peers, by the command each provides. */
const UNIT_PEERS = { zstd: 'zstd' };

/** Debian packages all the tests talk to, by the command each provides. */
const PEERS = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
  // GPG simple signing: test keys, and skopeo's --sign-by (through gpgme).
  gpg: 'gnupg',
  zstd: 'zstd',
  containerd: 'containerd',
  ctr: 'containerd',
  'ctr-remote': 'stargz-snapshotter',
  buildah: 'buildah',
  podman: 'podman',
  // The web explorer's browser tests (playwright-core drives it headless).
  chromium: 'chromium',
  // The image proxy tests' clients (test/harness/python/, standard library only).
  python3: 'python3',
  // A real S3 for the S3 storage tests: a one-node Ceph with its RADOS Gateway.
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  radosgw: 'radosgw',
  // The pseudo-terminal the `ocipeek browse` tests type into and read the screen of.
  tmux: 'tmux',
  // Builds the RA-TLS test registry front (test/harness/go/ratls-server/, standard library).
  go: 'golang-go',
};

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensurePeers(peers) {
  const missing = Object.entries(peers).filter(([cmd]) => !has(cmd));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !has('apt-get')) {
    console.error(
      `The integration tests need these Debian packages: ${pkgs.join(' ')}.\n` +
        `Install them (as root: apt-get install -y ${pkgs.join(' ')}).`,
    );
    process.exit(1);
  }
  console.log(`installing test peers: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  });
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

ensurePeers(unitOnly ? UNIT_PEERS : PEERS);
if (!noCheck) {
  run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  run('npx', ['biome', 'check', '.']);
}
try {
  build();
} catch (err) {
  process.exit(typeof err.status === 'number' ? err.status : 1); // tsc has said why
}
// From here on this run loads dist/: no other run rebuilds it until this one ends.
useDist();
// The public API as committed in etc/api/: a change to it, or a type in a public signature
// that importers cannot name, fails here (`node scripts/api-report.mjs --update` after an
// intended change).
if (!noCheck) run(process.execPath, ['scripts/api-report.mjs']);
const tests = files.length > 0 ? files : findTests(unitOnly ? 'test/unit' : 'test');
run(process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  ...tests,
]);
