import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Contender, RunResult } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { hasProgram } from '../peers.js';
import { compare, freshDir } from './compare.js';
import { type BenchCase, bigOf, type CaseContext, refOf, Skip } from './types.js';

const JSON_CLIENT = fileURLToPath(
  new URL('../../test/harness/python/json_proxy_client.py', import.meta.url),
);
const HTTP_CLIENT = fileURLToPath(new URL('../scripts/proxy-http-blob.py', import.meta.url));

/** The big layer, read whole by a client of skopeo's JSON protocol (`GetBlob`). */
function jsonProxyRun(ctx: CaseContext, name: string, proxy: 'ocipeek' | 'skopeo'): Contender {
  const layer = bigOf(ctx).layers[0]!;
  const dir = freshDir(ctx.dir, 'proxy');
  // ocipeek as installed, with --stats for the bytes it fetched and the bench's HOME.
  const base = ocipeek(ctx, ['experimental-image-proxy']);
  return {
    name: `${proxy} experimental-image-proxy`,
    before: dir.make,
    command: (host) => {
      const script = path.join(dir.dir, 'script.json');
      writeFileSync(
        script,
        JSON.stringify([
          { call: 'Initialize' },
          { call: 'OpenImage', args: [`docker://${refOf(ctx, name, host)}`] },
          { call: 'GetBlob', args: [1, layer.digest, layer.size] },
          { shutdown: true },
        ]),
      );
      const command =
        proxy === 'ocipeek'
          ? [base.file, ...base.args]
          : ['skopeo', 'experimental-image-proxy', '--tls-verify=false'];
      return { file: 'python3', args: [JSON_CLIENT, script, '--', ...command], env: base.env };
    },
    after: async (run: RunResult) => {
      await dir.remove();
      if (run.code !== 0) return;
      const blob = (JSON.parse(run.stdout) as { data?: { len: number; sha256: string } }[])[2];
      if (blob?.data?.sha256 !== layer.digest.slice(7)) {
        throw new Error(`${proxy}: the blob read through the proxy is not ${layer.digest}`);
      }
    },
  };
}

/** The big layer, read whole by a client of container-image-proxy's HTTP protocol. */
function httpProxyRun(ctx: CaseContext, name: string): Contender {
  const layer = bigOf(ctx).layers[0]!;
  const base = ocipeek(ctx, ['proxy']);
  return {
    name: 'ocipeek proxy (HTTP)',
    command: (host) => ({
      file: 'python3',
      args: [
        HTTP_CLIENT,
        `docker://${refOf(ctx, name, host)}`,
        layer.digest,
        base.file,
        ...base.args,
      ],
      env: base.env,
    }),
    after: async (run) => {
      if (run.code === 0 && run.stdout.trim() !== `${layer.size} ${layer.digest}`) {
        throw new Error(`ocipeek proxy: got ${run.stdout.trim()}`);
      }
    },
  };
}

/**
 * The big layer streamed to a client through ocipeek's image proxy, in both protocols,
 * against skopeo's `experimental-image-proxy` on the same image. The client (Python,
 * hashing as it reads) is the same for every contender.
 */
export const imageProxy: BenchCase = {
  id: 'proxy',
  title: 'stream the 1 GiB layer to a client through the image proxy',
  peer: 'skopeo experimental-image-proxy (GetBlob), the same Python client',
  target: '≤ 1.0× skopeo',
  variants: [{ medium: 'disk', env: 'user' }],
  needs: ['big'],
  async run(ctx) {
    if (!hasCommand('experimental-image-proxy')) throw new Skip('no image proxy in this build');
    if (!hasProgram('python3') || !hasProgram('skopeo'))
      throw new Skip('python3 and skopeo needed');
    const name = bigOf(ctx).name;
    const size = `${(bigOf(ctx).layers[0]!.size / 2 ** 20).toFixed(0)} MiB blob`;
    const skopeo = {
      contender: jsonProxyRun(ctx, name, 'skopeo'),
      target: 1,
      targetText: '≤ 1.0×',
    };
    return [
      ...(await compare(ctx, {
        label: `JSON protocol, ${name} (${size})`,
        ocipeek: jsonProxyRun(ctx, name, 'ocipeek'),
        peers: [skopeo],
      })),
      ...(await compare(ctx, {
        label: `HTTP protocol, ${name} (${size})`,
        ocipeek: httpProxyRun(ctx, name),
        peers: [{ ...skopeo, contender: jsonProxyRun(ctx, name, 'skopeo') }],
      })),
    ];
  },
};
