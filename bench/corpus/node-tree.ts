import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Real packages whose installed tree has tens of thousands of small files (~45,000 files,
 * ~315 MB with their dependencies): icon sets, date libraries, polyfills, bundlers.
 */
export const APP_PACKAGES = [
  'webpack',
  '@babel/core',
  '@babel/preset-env',
  'eslint',
  'typescript',
  'lodash',
  'lodash-es',
  'date-fns@2',
  'date-fns3@npm:date-fns@3',
  'rxjs',
  'core-js',
  'ramda',
  'three',
  '@fortawesome/free-solid-svg-icons',
  '@fortawesome/free-brands-svg-icons',
  '@tabler/icons',
];

/**
 * `npm install` of {@link APP_PACKAGES} into `cache/app-tree/app` once (scripts off), and
 * return `cache/app-tree`, whose only entry `app/` becomes the application layer.
 */
export async function ensureAppTree(cache: string, log: (s: string) => void): Promise<string> {
  const dir = path.join(cache, 'app-tree');
  if (existsSync(`${dir}.done`)) return dir;
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const app = path.join(tmp, 'app');
  await mkdir(app, { recursive: true });
  await writeFile(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'bench-app', version: '1.0.0', private: true }),
  );
  log(`  npm install of ${APP_PACKAGES.length} packages into ${app} (a minute or two, once)`);
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...APP_PACKAGES],
    { cwd: app, timeout: 1_200_000, maxBuffer: 64 << 20 },
  );
  await rm(dir, { recursive: true, force: true });
  await run('mv', [tmp, dir]);
  await writeFile(`${dir}.done`, `${new Date().toISOString()}\n`);
  return dir;
}
