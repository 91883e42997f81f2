import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Options of {@link defaultStorePath}. */
export interface StorePathOptions {
  /** `--store DIR` as given on the command line; wins over everything else. */
  explicit?: string;
  /** The environment to read `OCIPEEK_STORE` and `XDG_CACHE_HOME` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The home folder for the `~/.cache` fallback (default `os.homedir()`). */
  home?: string;
}

/**
 * Where the local store lives: `explicit` (the `--store` option), else `$OCIPEEK_STORE`,
 * else `$XDG_CACHE_HOME/ocipeek`, else `~/.cache/ocipeek`. Always an absolute path.
 * An empty or relative `XDG_CACHE_HOME` is ignored, as the XDG spec asks.
 */
export function defaultStorePath(options: StorePathOptions = {}): string {
  const env = options.env ?? process.env;
  if (options.explicit) return resolve(options.explicit);
  if (env.OCIPEEK_STORE) return resolve(env.OCIPEEK_STORE);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg?.startsWith('/')) return join(xdg, 'ocipeek');
  return join(options.home ?? homedir(), '.cache', 'ocipeek');
}

/**
 * True when `dir` is an ocipeek store (an OCI layout with the store's `.ocipeek/version`
 * marker), not a plain layout: its `index.json` names images by full references
 * (`docker.io/library/alpine:3.19`), one store holding many repositories.
 */
export async function isStoreDir(dir: string): Promise<boolean> {
  const isFile = (path: string) =>
    stat(path).then(
      (s) => s.isFile(),
      () => false,
    );
  const [layout, marker] = await Promise.all([
    isFile(join(dir, 'oci-layout')),
    isFile(join(dir, '.ocipeek', 'version')),
  ]);
  return layout && marker;
}
