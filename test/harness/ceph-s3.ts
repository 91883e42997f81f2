import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import {
  type Daemon,
  installExitHook,
  liveDirs,
  spawnDaemon,
  spawnWatchdog,
} from './process-guard.js';
import { tempDir } from './temp-dir.js';

const run = promisify(execFile);

/** A one-node Ceph cluster with a RADOS Gateway on loopback (see {@link startCephS3}). */
export interface RunningS3 {
  /** `http://127.0.0.1:PORT`, the gateway's S3 endpoint. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket made at start. */
  bucket: string;
  /**
   * The AWS environment a child process (or `S3Storage`) reads the endpoint, region and
   * credentials from: `AWS_ENDPOINT_URL_S3`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...
   */
  env: Record<string, string>;
  /** Milliseconds from the first command to the bucket being there. */
  setupMs: number;
  /** A client for this gateway (path-style, checksums only when required). */
  client(): S3Client;
  /** Make another bucket. */
  createBucket(name: string): Promise<void>;
  /** Kill the daemons, wait for them to exit and remove the cluster's folder. */
  stop(): Promise<void>;
  /** The daemons' output and log files, for failure messages. */
  logs(): Promise<string>;
}

/** Options of {@link startCephS3}. */
export interface StartCephS3Options {
  /** Give up after this many ms (default 120 s: a busy machine is slow). */
  timeoutMs?: number;
  /** The bucket to make (default `ocipeek-test`). */
  bucket?: string;
}

const ACCESS_KEY = 'OCIPEEKTESTACCESSKEY';
const SECRET_KEY = 'ocipeek-test-secret-key-0123456789abcdef';
const REGION = 'us-east-1';

/**
 * ceph.conf of the cluster. The settings that matter (see FIELD-NOTES):
 * - no cephx (`auth ... = none`), a single monitor on a v2 address and no manager;
 * - `ms mon client mode = crc`: otherwise radosgw waits 300 s for the monitor;
 * - `paxos propose interval`: the default 1 s makes start-up take 10-20 s;
 * - one memstore OSD, pools of size 1 and few placement groups (radosgw makes ~7 pools).
 */
function cephConf(o: { dir: string; fsid: string; monPort: number; rgwPort: number }): string {
  const { dir } = o;
  return `[global]
fsid = ${o.fsid}
mon host = v2:127.0.0.1:${o.monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
paxos propose interval = 0.05
mon data avail crit = 0
mon data avail warn = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 2147483648
osd op num shards = 1
osd op num threads per shard = 2
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
mon cluster log file = ${dir}/log/cluster.log
keyring = ${dir}/keyring
mon data = ${dir}/mon/$name
osd data = ${dir}/osd/$id

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${o.rgwPort}
rgw thread pool size = 32
rgw enable gc threads = false
rgw enable lc threads = false
rgw data = ${dir}/rgw
`;
}

/** GET / on the gateway; resolves to the status, or undefined if nothing answered. */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

/** Run a Ceph tool, failing with its output. */
async function tool(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: timeoutMs, maxBuffer: 4 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout}${e.stderr}`);
  }
}

/**
 * Start a real S3 on loopback: a one-node Ceph cluster (ceph-mon, one memstore ceph-osd,
 * radosgw; no manager) from Debian's packages, with a user whose keys are fixed and one
 * bucket. Signatures are checked as on any S3 (SigV4). The daemons die with the test
 * process even if `stop()` is forgotten (exit hook and watchdogs).
 */
export async function startCephS3(options: StartCephS3Options = {}): Promise<RunningS3> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 120_000);
  // The ports are picked free (freePort) and bound by the daemons later: on a busy machine
  // another process can take one in between, and the daemon then cannot bind it. Such a
  // start is thrown away and made again on fresh ports, as registry-process.ts does.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, started, deadline);
    } catch (err) {
      const message = (err as Error).message;
      if (attempt >= 3 || Date.now() > deadline || !/Address already in use/i.test(message)) {
        throw err;
      }
    }
  }
}

/** One start of {@link startCephS3} on freshly picked ports. */
async function startOnce(
  options: StartCephS3Options,
  started: number,
  deadline: number,
): Promise<RunningS3> {
  installExitHook();
  const folder = await tempDir('ceph');
  const dir = folder.path;
  liveDirs.add(dir);
  const daemons: Daemon[] = [];
  const watchdogs: ReturnType<typeof spawnWatchdog>[] = [];
  const spawnCeph = (command: string, args: string[]) => {
    const daemon = spawnDaemon(command, args);
    daemons.push(daemon);
    if (daemon.child.pid !== undefined) watchdogs.push(spawnWatchdog(daemon.child.pid, dir));
    return daemon;
  };
  const logs = async () => {
    const parts = daemons.map((d) => `$ ${d.child.spawnargs.join(' ')}\n${d.logs()}`);
    for (const file of await readdir(path.join(dir, 'log')).catch(() => [] as string[])) {
      const text = await readFile(path.join(dir, 'log', file), 'utf8').catch(() => '');
      parts.push(`--- ${file}\n${text.slice(-8000)}`);
    }
    return parts.join('\n');
  };
  const stop = async () => {
    await Promise.all(
      daemons.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.ref(); // the daemon is unref'd: keep this process alive until it is gone
        child.kill('SIGKILL'); // all state is in memory and thrown away
        await exited;
      }),
    );
    for (const dog of watchdogs) dog.stdin?.end('cancel\n');
    await folder.remove();
    liveDirs.delete(dir);
  };
  const left = () => Math.max(1000, deadline - Date.now());

  try {
    const fsid = randomUUID();
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    for (const sub of ['run', 'log', 'mon/mon.a', 'osd/0', 'rgw']) {
      await mkdir(path.join(dir, sub), { recursive: true });
    }
    const conf = path.join(dir, 'ceph.conf');
    await writeFile(conf, cephConf({ dir, fsid, monPort, rgwPort }));
    const c = ['-c', conf];
    await tool('ceph-authtool', [
      '--create-keyring',
      path.join(dir, 'keyring'),
      '--gen-key',
      '-n',
      'mon.',
      '--cap',
      'mon',
      'allow *',
    ]);
    const monmap = path.join(dir, 'monmap');
    await tool('monmaptool', [
      '--create',
      '--fsid',
      fsid,
      '--addv',
      'a',
      `[v2:127.0.0.1:${monPort}]`,
      monmap,
    ]);
    await tool('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', monmap]);
    spawnCeph('ceph-mon', [...c, '-f', '-i', 'a']);
    const osdUuid = randomUUID();
    // The first monitor command also waits for the monitor to be up.
    const id = (
      await tool('ceph', [...c, '--connect-timeout', '60', 'osd', 'new', osdUuid], left())
    ).trim();
    await tool('ceph-osd', [...c, '--mkfs', '-i', id, '--osd-uuid', osdUuid], left());
    spawnCeph('ceph-osd', [...c, '-f', '-i', id]);
    const rgw = spawnCeph('radosgw', [...c, '-f', '-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    while ((await probe(endpoint)) !== 200) {
      if (rgw.child.exitCode !== null) throw new Error('radosgw exited');
      if (Date.now() > deadline) throw new Error('radosgw did not answer in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    await tool(
      'radosgw-admin',
      [
        ...c,
        '-n',
        'client.rgw',
        'user',
        'create',
        '--uid=ocipeek',
        '--display-name=ocipeek tests',
        `--access-key=${ACCESS_KEY}`,
        `--secret=${SECRET_KEY}`,
      ],
      left(),
    );
    const client = () =>
      new S3Client({
        endpoint,
        region: REGION,
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    const createBucket = async (name: string) => {
      const s3 = client();
      try {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        s3.destroy();
      }
    };
    const bucket = options.bucket ?? 'ocipeek-test';
    await createBucket(bucket);
    return {
      endpoint,
      region: REGION,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      bucket,
      env: {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      },
      setupMs: Date.now() - started,
      client,
      createBucket,
      stop,
      logs,
    };
  } catch (err) {
    const text = await logs();
    await stop();
    throw new Error(`Ceph S3 did not start: ${(err as Error).message}\n${text}`);
  }
}
