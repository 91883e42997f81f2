import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('./go/soci-check/', import.meta.url));
const GOCODE = '/usr/share/gocode';

/**
 * What soci-check needs besides its own sources and `go`, by the Debian package that has
 * it (scripts/test.mjs installs the same list).
 */
const NEEDS = JSON.parse(
  readFileSync(new URL('./go/soci-check/debian-packages.json', import.meta.url), 'utf8'),
) as Record<string, string>;

/** The Debian packages soci-check lacks here (scripts/test.mjs installs them as peers). */
export function sociCheckMissing(): string[] {
  const missing = Object.entries(NEEDS)
    .filter(([p]) => !existsSync(p))
    .map(([, pkg]) => pkg);
  const hasGo = spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0;
  return hasGo ? missing : ['golang-go', ...missing];
}

/** soci-check's report (test/harness/go/soci-check/main.go). */
export interface SociCheckReport {
  remarshalIdentical: boolean;
  comparedWithSoci: boolean;
  spans: number;
  entries: number;
  filesExtracted: number;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out.sort();
}

let built: Promise<string> | undefined;

/**
 * Build soci-check with Debian's `go` in GOPATH mode (no module downloads): its sources
 * and third_party/ copied to a folder named by their hash (so later runs reuse the
 * binary), with the `ztoc/out/libz.a` soci's cgo flags name linked to Debian's.
 */
export function buildSociCheck(): Promise<string> {
  built ??= (async () => {
    const hash = createHash('sha256');
    for (const f of await files(SOURCE)) {
      hash.update(path.relative(SOURCE, f)).update(await readFile(f));
    }
    const dir = path.join(os.tmpdir(), `ocipeek-soci-check-${hash.digest('hex').slice(0, 16)}`);
    const binary = path.join(dir, 'soci-check');
    if (existsSync(binary)) return binary;
    const work = `${dir}.build-${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await cp(SOURCE, work, { recursive: true });
    const out = path.join(work, 'third_party/src/github.com/awslabs/soci-snapshotter/ztoc/out');
    await mkdir(out, { recursive: true });
    await symlink('/usr/lib/x86_64-linux-gnu/libz.a', path.join(out, 'libz.a'));
    await mkdir(dir, { recursive: true });
    await run('go', ['build', '-o', `${binary}.tmp`, 'main.go'], {
      cwd: work,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${path.join(work, 'third_party')}:${GOCODE}`,
        GOPROXY: 'off',
        CGO_ENABLED: '1',
      },
    });
    await run('mv', [`${binary}.tmp`, binary]);
    await rm(work, { recursive: true, force: true });
    return binary;
  })();
  return built;
}

/**
 * Run soci-check on a gzip layer and the zTOC ocipeek wrote for it (`span` as built);
 * `compare` also builds soci's own zTOC of the layer and compares (single-member layers).
 * Rejects with soci-check's message when a check fails.
 */
export async function runSociCheck(
  layerFile: string,
  ztocFile: string,
  span: number,
  compare: boolean,
): Promise<SociCheckReport> {
  const binary = await buildSociCheck();
  const { stdout } = await run(binary, [layerFile, ztocFile, String(span), compare ? '1' : '0'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as SociCheckReport;
}
