import { Duplex } from 'node:stream';
import type { Command } from 'commander';
import { checkImageName, startImageProxy } from '../../server/proxy/index.js';
import { contextFor } from '../context.js';
import { parseFd } from '../parse-count.js';

/**
 * `ocipeek proxy [--sockfd N] IMAGE` (also installed as `container-image-proxy`):
 * container-image-proxy's HTTP protocol on an inherited socket, else on stdin/stdout.
 */
export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description(
      "serve IMAGE with container-image-proxy's HTTP protocol (GET /manifest, GET /blobs/DIGEST, POST /quit) on an inherited socket, or on stdin and stdout",
    )
    .argument(
      '<image>',
      'TRANSPORT:REF: docker://REF, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, store:REF',
    )
    .option('--sockfd <n>', 'serve the connected socket on this file descriptor', parseFd)
    .option('-q, --quiet', 'accepted for compatibility (the proxy prints nothing anyway)')
    .action(async (image: string, opts: { sockfd?: number }, cmd: Command) => {
      try {
        checkImageName(image);
      } catch (err) {
        // container-image-proxy exits 1 for a bad IMAGE; its clients look for that.
        cmd.error(`error: ${(err as Error).message}`, { exitCode: 1 });
      }
      const ctx = await contextFor(cmd);
      const proxy = startImageProxy({
        protocol: 'http',
        image,
        fd: opts.sockfd,
        socket:
          opts.sockfd === undefined
            ? Duplex.from({ readable: process.stdin, writable: process.stdout })
            : undefined,
        client: ctx.client,
        platform: ctx.platform,
        storeDir: ctx.options.store,
        log: ctx.options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
      ctx.signal.addEventListener('abort', () => void proxy.close(), { once: true });
      await proxy.done;
    });
}
