import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { tempName } from '../store/atomic-file.js';

/**
 * A new folder under `tmpDir` (default the system temp folder) where an archive is
 * gathered before it is packed. Its name carries this process's pid (`tempName`), so when
 * `tmpDir` is a store's temp folder, `prune` removes it after a kill.
 */
export async function makeStagingDir(tmpDir: string | undefined, label: string): Promise<string> {
  const dir = tempName(tmpDir ?? tmpdir(), `${label}-staging`);
  await mkdir(dir, { recursive: false, mode: 0o700 });
  return dir;
}
