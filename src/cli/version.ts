import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package.json of ocipeek, found by walking up from this module: the path differs
 * between the sources, the tsc output and the bundled CLI.
 */
function readOwnPackage(): { version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'ocipeek') return pkg;
    } catch {
      // no package.json here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return { version: '0.0.0-unknown' };
    dir = parent;
  }
}

/**
 * Set by scripts/bundle.mjs in the bundled CLI, so that a run does not look for and parse
 * package.json (three files opened on the way up); undefined in the tsc output.
 */
declare const OCIPEEK_VERSION: string | undefined;

/** ocipeek's version: the bundle's, else read from its package.json. */
export const VERSION: string =
  typeof OCIPEEK_VERSION === 'string' ? OCIPEEK_VERSION : readOwnPackage().version;
