import type { Command } from 'commander';
import { authFileWritePath, login, logout, logoutAll } from '../../auth/index.js';
import { InvalidArgumentError, UnauthorizedError } from '../../errors/index.js';
import { discardBody } from '../../transport/index.js';
import { clientWith, contextFor } from '../context.js';
import { promptPassword } from '../password-prompt.js';
import { readStdin } from '../stdin.js';

function registryOf(host: string): string {
  return host.replace(/^(docker|https?):\/\//, '').replace(/\/.*$/, '');
}

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  authfile?: string;
  all?: boolean;
}

/**
 * The password: `-p` as given (skopeo's and podman's flag, with docker's warning that
 * it shows in `ps` and shell history), piped with `--password-stdin`, else asked on the
 * terminal without echo.
 */
async function passwordFor(flags: LoginFlags, username: string, registry: string) {
  if (flags.password !== undefined) {
    if (flags.passwordStdin) {
      throw new InvalidArgumentError('use one of --password and --password-stdin');
    }
    process.stderr.write(
      'warning: a password given with -p shows in the process list and shell history; prefer --password-stdin\n',
    );
    return flags.password;
  }
  if (flags.passwordStdin) return (await readStdin()).replace(/\r?\n$/, '');
  return promptPassword(`Password for ${username}@${registry}: `);
}

/**
 * `ocipeek login` / `ocipeek logout`: manage the containers auth file (the file and format
 * podman and skopeo use: `--authfile`, else `$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`).
 */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description(
      'check credentials against a registry and save them in the auth file (the password is asked for on a terminal, or read with --password-stdin)',
    )
    .argument('<host>', 'registry host[:port]')
    .option('-u, --username <user>', 'user name')
    .option(
      '-p, --password <password>',
      'the password (visible to other users: prefer --password-stdin)',
    )
    .option('--password-stdin', 'read the password from standard input')
    .action(async (host: string, _opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals() as LoginFlags;
      const username = flags.username;
      if (!username) throw new InvalidArgumentError('login needs -u USER');
      const registry = registryOf(host);
      const ctx = await contextFor(cmd, { anonymous: true, writesAuthFile: true });
      const credentials = { username, password: await passwordFor(flags, username, registry) };
      // Check the credentials before saving them, as docker login does.
      const probe = clientWith(ctx, { resolve: async () => credentials });
      const rejected = () =>
        new UnauthorizedError(
          `login to ${registry} failed: credentials rejected by ${registry} (nothing was saved)`,
        );
      try {
        const res = await probe.transport.send({
          registry,
          scope: '',
          method: 'GET',
          path: '/v2/',
          signal: ctx.signal,
        });
        await discardBody(res.body);
        if (res.status === 401 || res.status === 403) throw rejected();
      } catch (err) {
        // A token server's refusal comes as its own error: the same thing to the user.
        if (err instanceof UnauthorizedError) throw rejected();
        throw err;
      }
      const file = await login(registry, credentials, { authFile: flags.authfile });
      process.stderr.write(`Login succeeded (saved in ${file})\n`);
    });
  program
    .command('logout')
    .description('remove saved credentials for a registry (or --all) from the auth file')
    .argument('[host]', 'registry host[:port]')
    .option('-a, --all', 'remove the credentials of every registry')
    .action(async (host: string | undefined, _opts: unknown, cmd: Command) => {
      const { authfile, all } = cmd.optsWithGlobals() as LoginFlags;
      const file = authFileWritePath({ authFile: authfile });
      if (all) {
        if (host !== undefined)
          throw new InvalidArgumentError('logout takes HOST or --all, not both');
        const keys = await logoutAll({ authFile: authfile });
        process.stderr.write(
          keys.length > 0
            ? `Removed login credentials for ${keys.length} registr${keys.length === 1 ? 'y' : 'ies'} (${keys.join(', ')}) from ${file}\n`
            : `Not logged in anywhere (no credentials in ${file})\n`,
        );
        return;
      }
      if (host === undefined) throw new InvalidArgumentError('logout needs HOST, or --all');
      const registry = registryOf(host);
      const removed = await logout(registry, { authFile: authfile });
      process.stderr.write(
        removed
          ? `Removed login credentials for ${registry}\n`
          : `Not logged in to ${registry} (no credentials for it in ${file})\n`,
      );
    });
}
