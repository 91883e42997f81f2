import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../errors/index.js';
import { OciLayout } from '../../layout/index.js';
import { isStoreDir } from '../../store/index.js';
import { isRepositoryName } from './names.js';

/** Options of {@link discoverLayouts}. */
export interface DiscoverLayoutsOptions {
  /** Repository name for a root that is itself a layout (default: the directory's name). */
  name?: string;
  /** Cancels the scan. */
  signal?: AbortSignal;
  /** Told about directories that are skipped, one line each. */
  log?: (line: string) => void;
}

/** Deeper than this, a scan stops descending: layouts nest a few levels, not dozens. */
const MAX_DEPTH = 16;

async function isLayoutDir(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'oci-layout'))).isFile();
  } catch {
    return false;
  }
}

/**
 * Map repository names to the OCI image layouts under `roots`. A root that is itself a
 * layout is one repository, named by `options.name` or the directory's name; any other
 * root is scanned for layouts, each named by its path relative to the root (`team/app`).
 * Symbolic links and hidden directories are not followed, a layout's own subdirectories
 * are not scanned, ocipeek stores are refused as roots and skipped in scans (their images
 * name their own repositories: `startRegistryServer` serves them), and directories whose relative path is not a valid repository name
 * are skipped with a log line.
 */
export async function discoverLayouts(
  roots: string[],
  options: DiscoverLayoutsOptions = {},
): Promise<Map<string, OciLayout>> {
  const found = new Map<string, OciLayout>();
  const add = (name: string, layout: OciLayout) => {
    const other = found.get(name);
    if (other) {
      throw new InvalidArgumentError(
        `repository "${name}" is served from both ${other.dir} and ${layout.dir}`,
      );
    }
    found.set(name, layout);
  };
  for (const root of roots.map((r) => resolve(r))) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(root);
    } catch {
      throw new NotFoundError(`no such directory: ${root}`);
    }
    if (!info.isDirectory()) throw new InvalidArgumentError(`${root} is not a directory`);
    if (await isStoreDir(root)) {
      throw new InvalidArgumentError(
        `${root} is an ocipeek store, not a plain layout: serve it with startRegistryServer({ roots }) (each image under its own repository)`,
      );
    }
    if (await isLayoutDir(root)) {
      const name = options.name ?? basename(root);
      if (!isRepositoryName(name)) {
        throw new InvalidArgumentError(
          `"${name}" is not a valid repository name (lowercase a-z, 0-9, ".", "_", "-", "/"); pass a name`,
        );
      }
      add(name, await OciLayout.open(root, { signal: options.signal }));
      continue;
    }
    const before = found.size;
    await scan(root, root, 0, add, options);
    if (found.size === before) throw new NotFoundError(`no OCI image layouts under ${root}`);
  }
  return found;
}

async function scan(
  root: string,
  dir: string,
  depth: number,
  add: (name: string, layout: OciLayout) => void,
  options: DiscoverLayoutsOptions,
): Promise<void> {
  options.signal?.throwIfAborted();
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (await isStoreDir(path)) {
      // Its images belong to many repositories, not to one named after the folder.
      options.log?.(`skipping ${path}: an ocipeek store; serve it as a --root of its own`);
    } else if (await isLayoutDir(path)) {
      const name = relative(root, path).split(sep).join('/');
      if (!isRepositoryName(name)) {
        options.log?.(`skipping ${path}: "${name}" is not a valid repository name`);
        continue;
      }
      let layout: OciLayout;
      try {
        layout = await OciLayout.open(path, { signal: options.signal });
      } catch (err) {
        // One broken layout in a shared tree should not take the others offline.
        options.log?.(`skipping ${path}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      add(name, layout);
    } else if (depth < MAX_DEPTH) {
      await scan(root, path, depth + 1, add, options);
    }
  }
}
