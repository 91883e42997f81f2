import { fileURLToPath } from 'node:url';
import type { Contender, RunResult } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare } from './compare.js';
import { type BenchCase, type CaseContext, refOf, Skip } from './types.js';

/** A contender whose output `check` must accept. */
function checked(name: string, cmd: Contender['command'], check: (out: string) => boolean) {
  return {
    name,
    command: cmd,
    after: async (run: RunResult) => {
      if (run.code === 0 && !check(run.stdout)) {
        throw new Error(`${name} printed ${JSON.stringify(run.stdout.slice(0, 120))}`);
      }
    },
  } satisfies Contender;
}

const SKOPEO = ['--tls-verify=false', '--no-creds'];

/**
 * The least a Node program does for one of these commands (bench/scripts/digest-floor.cjs:
 * one GET of the manifest, sha256, print): Node's own start-up plus one request, in the
 * same environment. skopeo's whole run is below Node's start-up on this machine (see
 * bench/ANALYSIS.md, sixth session), so the target is set against this floor and the
 * ratio to skopeo is reported beside it.
 */
function floor(check: (out: string) => boolean): Contender {
  const script = fileURLToPath(new URL('../scripts/digest-floor.cjs', import.meta.url));
  return checked(
    'node floor (one GET, sha256)',
    (host) => ({ file: process.execPath, args: [script, host, 'bench/app', 'latest'] }),
    check,
  );
}

/** Ocipeek's slowdown allowed over the Node floor: its CLI, config and store checks. */
const FLOOR_TARGET = 1.3;

/** The three commands, each against its skopeo equivalent. */
function pairs(ctx: CaseContext) {
  const app = ctx.corpus.images.app!;
  const digestOf = (out: string) => JSON.parse(out) as { Digest?: string; digest?: string };
  return [
    {
      label: 'inspect',
      mine: checked(
        'ocipeek inspect --json',
        (host) => ocipeek(ctx, ['inspect', refOf(ctx, 'app', host), '--json']),
        (out) => digestOf(out).digest === app.manifestDigest,
      ),
      peer: checked(
        'skopeo inspect',
        (host) => ({
          file: 'skopeo',
          args: ['inspect', ...SKOPEO, `docker://${refOf(ctx, 'app', host)}`],
        }),
        (out) => digestOf(out).Digest === app.manifestDigest,
      ),
    },
    {
      label: 'digest',
      mine: checked(
        'ocipeek digest',
        (host) => ocipeek(ctx, ['digest', refOf(ctx, 'app', host)]),
        (out) => out.trim() === app.manifestDigest,
      ),
      peer: checked(
        "skopeo inspect --format '{{.Digest}}'",
        (host) => ({
          file: 'skopeo',
          args: [
            'inspect',
            ...SKOPEO,
            '--format',
            '{{.Digest}}',
            `docker://${refOf(ctx, 'app', host)}`,
          ],
        }),
        (out) => out.trim() === app.manifestDigest,
      ),
    },
    {
      label: 'tags',
      mine: checked(
        'ocipeek tags',
        (host) => ocipeek(ctx, ['tags', `${host}/bench/app`]),
        (out) => out.split('\n').includes('latest'),
      ),
      peer: checked(
        'skopeo list-tags',
        (host) => ({
          file: 'skopeo',
          args: ['list-tags', ...SKOPEO, `docker://${host}/bench/app`],
        }),
        (out) => (JSON.parse(out) as { Tags: string[] }).Tags.includes('latest'),
      ),
    },
  ];
}

/**
 * Commands that do one or two requests: what they cost is mostly starting the process, so
 * this is where start-up shows. The store is not involved; the medium is where ocipeek's
 * HOME (and its code cache) lives.
 */
export const smallCommands: BenchCase = {
  id: 'small',
  title: 'small commands: inspect, digest, tags (remote)',
  peer: "skopeo inspect; skopeo inspect --format '{{.Digest}}'; skopeo list-tags",
  target: `≤ ${FLOOR_TARGET}× the node floor (skopeo reported)`,
  variants: ALL_VARIANTS,
  needs: ['app'],
  minRuns: 20,
  async run(ctx) {
    for (const c of ['inspect', 'digest', 'tags']) {
      if (!hasCommand(c)) throw new Skip(`\`ocipeek ${c}\` not available yet`);
    }
    const rows = [];
    const app = ctx.corpus.images.app!;
    for (const p of pairs(ctx)) {
      rows.push(
        ...(await compare(ctx, {
          label: p.label,
          ocipeek: p.mine,
          peers: [
            {
              contender: floor((out) => out.trim() === app.manifestDigest),
              target: FLOOR_TARGET,
            },
            { contender: p.peer },
          ],
        })),
      );
    }
    return rows;
  },
};
