import type { Command } from 'commander';
import { login, logout } from '../../auth/index.js';
import { InvalidArgumentError, UnauthorizedError } from '../../errors/index.js';
import { RegistryClient } from '../../registry/index.js';
import { discardBody } from '../../transport/index.js';
import { contextFor } from '../context.js';
import { readStdin } from '../stdin.js';

function registryOf(host: string): string {
  return host.replace(/^(docker|https?):\/\//, '').replace(/\/.*$/, '');
}

/** `ocipeek login` / `ocipeek logout`: manage the containers auth file. */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('check credentials against a registry and save them in the auth file')
    .argument('<host>', 'registry host[:port]')
    .option('-u, --user <user>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      async (host: string, opts: { user?: string; passwordStdin?: boolean }, cmd: Command) => {
        const globals = cmd.optsWithGlobals() as { username?: string; authfile?: string };
        const username = opts.user ?? globals.username;
        if (!username) throw new InvalidArgumentError('login needs -u USER');
        if (!opts.passwordStdin && !cmd.optsWithGlobals().passwordStdin) {
          throw new InvalidArgumentError(
            'login needs --password-stdin (passwords on the command line leak)',
          );
        }
        const password = (await readStdin()).replace(/\r?\n$/, '');
        const registry = registryOf(host);
        const ctx = await contextFor(cmd);
        const credentials = { username, password };
        // Check the credentials before saving them, as docker login does.
        const probe = new RegistryClient({
          keychain: { resolve: async () => credentials },
          tls: {
            caFile: ctx.options.caFile,
            certFile: ctx.options.cert,
            keyFile: ctx.options.key,
            verify: ctx.options.tlsVerify,
          },
          plainHttp: ctx.options.plainHttp,
          stats: ctx.client.stats,
        });
        try {
          const res = await probe.transport.send({
            registry,
            scope: '',
            method: 'GET',
            path: '/v2/',
            signal: ctx.signal,
          });
          await discardBody(res.body);
          if (res.status === 401 || res.status === 403) {
            throw new UnauthorizedError(
              `login to ${registry} failed: credentials rejected`,
              res.status,
            );
          }
        } finally {
          await probe.close();
        }
        const file = await login(registry, credentials, { authFile: globals.authfile });
        process.stderr.write(`Login succeeded (saved in ${file})\n`);
      },
    );
  program
    .command('logout')
    .description('remove saved credentials for a registry')
    .argument('<host>', 'registry host[:port]')
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { authfile?: string };
      const removed = await logout(registryOf(host), { authFile: globals.authfile });
      process.stderr.write(
        removed
          ? `Removed login credentials for ${registryOf(host)}\n`
          : `Not logged in to ${registryOf(host)}\n`,
      );
    });
}
