import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

/** The machine a run happened on, for the report. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  os: string;
  /** Filesystem type and whether the disk is rotational, of the cache folder. */
  disk: string;
  loadAverage: number[];
}

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** Describe this machine; `dir` is where the corpus and scratch folders live. */
export function machineInfo(dir: string): MachineInfo {
  const fsType = sh(`stat -f -c %T ${JSON.stringify(dir)}`) || 'unknown';
  const dev = sh(`df --output=source ${JSON.stringify(dir)} | tail -1`);
  const base = path.basename(dev).replace(/[0-9]+$/, '');
  const rota = base ? sh(`cat /sys/block/${base}/queue/rotational 2>/dev/null`) : '';
  const kind = rota === '0' ? 'non-rotational' : rota === '1' ? 'rotational' : 'unknown kind';
  const osName = sh('. /etc/os-release && echo "$PRETTY_NAME"') || os.type();
  return {
    cpus: Number(sh('nproc')) || os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: osName,
    disk: `${dev || '?'} (${fsType}, ${kind})`,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** A tmpfs folder to unpack into: the first of /dev/shm, /run/shm, /tmp that is tmpfs. */
export function findTmpfs(): string | undefined {
  for (const dir of ['/dev/shm', '/run/shm', '/tmp']) {
    if (sh(`stat -f -c %T ${dir}`) === 'tmpfs') return dir;
  }
  return undefined;
}
