import type { Command } from 'commander';
import { mutation } from '../../mutate/index.js';
import { runEdit } from '../edit-runner.js';
import { collect, parseAnnotations } from '../repeatable.js';

interface MutateFlags {
  tag: string;
  label?: string[];
  annotation?: string[];
  env?: string[];
  entrypoint?: string;
  cmd?: string;
  user?: string;
  workdir?: string;
  exposedPorts?: string[];
  json?: boolean;
}

/** A command line as crane takes `--entrypoint`/`--cmd`: a JSON array, or words split on commas. */
function argv(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (value.trim().startsWith('[')) return JSON.parse(value) as string[];
  return value === '' ? [] : value.split(',');
}

/**
 * `ocipeek mutate REF -t DST`: change an image's config (crane mutate); layers are kept.
 * An index is mutated platform by platform into a new index (one with `--platform`).
 */
export function registerMutate(program: Command): void {
  program
    .command('mutate')
    .description(
      'write IMAGE with a changed config (labels, env, entrypoint, …) to -t DST (crane mutate)',
    )
    .argument('<image>', 'image reference or place')
    .requiredOption('-t, --tag <dst>', 'where the new image goes (REF, oci:DIR:TAG, store:REF, …)')
    .option('--label <key=value>', 'set a label (repeatable)', collect)
    .option('--annotation <key=value>', 'set a manifest annotation (repeatable)', collect)
    .option('--env <key=value>', 'set an environment variable (repeatable)', collect)
    .option(
      '--entrypoint <cmd>',
      'replace the entrypoint: a JSON array or comma-separated words ("" clears)',
    )
    .option('--cmd <cmd>', 'replace the command: a JSON array or comma-separated words ("" clears)')
    .option('--user <user>', 'set the user')
    .option('--workdir <dir>', 'set the working directory')
    .option('--exposed-ports <port>', 'expose a port, 80 or 53/udp (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: MutateFlags, cmd: Command) => {
      const changes = {
        labels: opts.label ? parseAnnotations(opts.label) : undefined,
        annotations: opts.annotation ? parseAnnotations(opts.annotation) : undefined,
        env: opts.env,
        entrypoint: argv(opts.entrypoint),
        cmd: argv(opts.cmd),
        user: opts.user,
        workingDir: opts.workdir,
        exposedPorts: opts.exposedPorts,
      };
      await runEdit(cmd, refArg, opts.tag, opts.json, { verb: 'mutate', eachPlatform: true }, () =>
        mutation(changes),
      );
    });
}
