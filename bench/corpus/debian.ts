import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A root filesystem on disk to turn into the base layer. */
export interface Rootfs {
  dir: string;
  /** True when debootstrap was not possible and a generated tree stands in for Debian. */
  synthetic: boolean;
  /** How it was made (shown in the report). */
  source: string;
}

/** The Debian mirror apt on this machine already uses (deb822 or one-line sources). */
export async function aptMirror(): Promise<string | undefined> {
  const files = ['/etc/apt/sources.list'];
  const d = '/etc/apt/sources.list.d';
  for (const f of await readdir(d).catch(() => [] as string[])) files.push(path.join(d, f));
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => '');
    // deb822: "URIs: http://.../debian" next to "Suites: bookworm"; one-line: "deb URL bookworm main".
    for (const m of text.matchAll(/^URIs:\s*(\S+)\s*\nSuites:\s*([^\n]+)/gm)) {
      if (/\bbookworm\b/.test(m[2]!) && !/security/.test(m[1]!)) return m[1];
    }
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/gm)) return m[1];
  }
  return undefined;
}

async function ensureDebootstrap(log: (s: string) => void): Promise<boolean> {
  if (existsSync('/usr/sbin/debootstrap')) return true;
  log('  installing debootstrap with apt-get');
  try {
    await run('apt-get', ['install', '-y', '-q', 'debootstrap'], { timeout: 300_000 });
    return existsSync('/usr/sbin/debootstrap');
  } catch {
    return false;
  }
}

/**
 * `debootstrap --variant=minbase bookworm` into `cache/rootfs/debian` once (a marker file
 * says it finished); a labelled synthetic tree when that is not possible (no root, no
 * mirror, no network).
 */
export async function ensureRootfs(cache: string, log: (s: string) => void): Promise<Rootfs> {
  const root = path.join(cache, 'rootfs');
  const dir = path.join(root, 'debian');
  const mirror = await aptMirror();
  const source = `debootstrap --variant=minbase bookworm (${mirror ?? 'no mirror'})`;
  if (existsSync(`${dir}.done`)) return { dir, synthetic: false, source };
  const synthDir = path.join(root, 'synthetic');
  if (existsSync(`${synthDir}.done`)) {
    return { dir: synthDir, synthetic: true, source: 'synthetic tree (debootstrap failed)' };
  }
  await mkdir(root, { recursive: true });
  if (mirror && process.getuid?.() === 0 && (await ensureDebootstrap(log))) {
    const tmp = `${dir}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    log(`  debootstrap into ${tmp} (several minutes, once)`);
    try {
      await run('debootstrap', ['--variant=minbase', 'bookworm', tmp, mirror], {
        timeout: 1_800_000,
        maxBuffer: 64 << 20,
      });
      await rm(dir, { recursive: true, force: true });
      await run('mv', [tmp, dir]);
      await writeFile(`${dir}.done`, `${new Date().toISOString()}\n`);
      return { dir, synthetic: false, source };
    } catch (err) {
      log(`  debootstrap failed: ${(err as Error).message.split('\n')[0]}; using a synthetic tree`);
      await rm(tmp, { recursive: true, force: true });
    }
  }
  await makeSyntheticRootfs(synthDir);
  await writeFile(`${synthDir}.done`, `${new Date().toISOString()}\n`);
  return { dir: synthDir, synthetic: true, source: 'synthetic tree (debootstrap not possible)' };
}

/**
 * A stand-in for a distribution root: ~6,800 entries shaped like minbase (many small text
 * files, some larger binaries of pseudo-random bytes), deterministic.
 */
async function makeSyntheticRootfs(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const words = ['config', 'value', 'path', 'usr', 'lib', 'share', 'doc', 'option', 'true'];
  for (const top of ['etc', 'usr/bin', 'usr/lib/x86_64-linux-gnu', 'usr/share/doc', 'var/lib']) {
    for (let d = 0; d < 30; d++) {
      const sub = path.join(dir, top, `d${d}`);
      await mkdir(sub, { recursive: true });
      for (let f = 0; f < 40; f++) {
        const binary = top.startsWith('usr/lib') && f % 5 === 0;
        const size = binary ? 20_000 + (rand() % 200_000) : 100 + (rand() % 4000);
        const buf = Buffer.alloc(size);
        if (binary) for (let i = 0; i < size; i++) buf[i] = rand() & 0xff;
        else buf.write(Array.from({ length: size / 6 }, () => words[rand() % 9]).join(' '));
        await writeFile(path.join(sub, `f${f}`), buf);
      }
    }
  }
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await writeFile(path.join(dir, 'etc', 'debian_version'), '12.0-synthetic\n');
  await writeFile(path.join(dir, 'etc', 'motd'), 'synthetic rootfs\n');
  await mkdir(path.join(dir, 'usr/share/doc/apt'), { recursive: true });
  await writeFile(path.join(dir, 'usr/share/doc/apt/copyright'), 'synthetic\n');
}
