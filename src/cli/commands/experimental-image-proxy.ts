import type { Command } from 'commander';
import { UnsupportedError } from '../../errors/index.js';
import { hostPlatform, normalizePlatform, parsePlatform } from '../../platform/index.js';
import { startImageProxy } from '../../server/proxy/index.js';
import { certDirTls } from '../cert-dir.js';
import { contextFor } from '../context.js';
import { globalsOf } from '../global-options.js';
import { parseFd } from '../parse-count.js';
import { collect } from '../repeatable.js';

interface JsonProxyFlags {
  sockfd: number;
  creds: boolean;
  certDir?: string;
  debug?: boolean;
  overrideArch?: string;
  overrideOs?: string;
  overrideVariant?: string;
  decryptionKey?: string[];
}

/**
 * `ocipeek experimental-image-proxy [--sockfd N]`: skopeo's JSON protocol on a
 * SOCK_SEQPACKET socket (fd 0 by default), taking the flags its clients pass to skopeo, so
 * a client that lets you name the command (containers-image-proxy-rs's `skopeo_cmd`) can
 * run ocipeek instead.
 */
export function registerExperimentalImageProxy(program: Command): void {
  program
    .command('experimental-image-proxy')
    .description(
      "serve skopeo's experimental-image-proxy protocol (JSON requests, pipes passed as SCM_RIGHTS) on a SOCK_SEQPACKET socket",
    )
    .option('--sockfd <n>', 'the socket’s file descriptor', parseFd, 0)
    .option('--no-creds', 'access registries anonymously')
    .option('--cert-dir <dir>', 'TLS folder: *.crt CA, NAME.cert + NAME.key client certificate')
    .option('--debug', 'log requests and replies on stderr')
    .option('--override-arch <arch>', 'the architecture an index resolves to')
    .option('--override-os <os>', 'the OS an index resolves to')
    .option('--override-variant <variant>', 'the architecture variant an index resolves to')
    .option('--decryption-key <key>', 'refused: ocipeek does not decrypt layers', collect)
    .action(async (opts: JsonProxyFlags, cmd: Command) => {
      if (opts.decryptionKey?.length) {
        throw new UnsupportedError('encrypted images are not supported (--decryption-key)');
      }
      const overriding = opts.overrideArch || opts.overrideOs || opts.overrideVariant;
      const globals = globalsOf(cmd);
      const base = globals.platform ? parsePlatform(globals.platform) : hostPlatform();
      const ctx = await contextFor(cmd, {
        anonymous: !opts.creds,
        tls: opts.certDir ? certDirTls(opts.certDir) : undefined,
        platform: overriding
          ? normalizePlatform({
              os: opts.overrideOs ?? base.os,
              architecture: opts.overrideArch ?? base.architecture,
              variant: opts.overrideVariant ?? (opts.overrideArch ? undefined : base.variant),
            })
          : undefined,
      });
      const debug = opts.debug || ctx.options.verbose;
      const proxy = startImageProxy({
        protocol: 'json',
        fd: opts.sockfd,
        client: ctx.client,
        platform: ctx.platform,
        storeDir: ctx.options.store,
        log: debug ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
      ctx.signal.addEventListener('abort', () => void proxy.close(), { once: true });
      await proxy.done;
    });
}
