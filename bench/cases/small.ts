import { fileURLToPath } from 'node:url';
import type { Contender, RunResult } from '../measure.js';
import { hasCommand, ocipeek } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare, countBytes } from './compare.js';
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
 * The least a Node program does for each command, in the same environment: Node's own
 * start-up plus the same requests the command makes (checked against ocipeek's through the
 * counting proxy in every run, {@link checkSameRequests}). skopeo's whole run is below
 * Node's start-up on this machine (see bench/ANALYSIS.md, sixth session), so the target is
 * set against these floors and the ratio to skopeo is reported beside it.
 *
 * - inspect: `bench/scripts/inspect-floor.cjs`, two sequential GETs on one connection
 *   (the manifest, then the config blob it names; sha256 of each), as inspect and skopeo
 *   inspect make them;
 * - digest: `bench/scripts/digest-floor.cjs`, one GET of the manifest, sha256;
 * - tags: `bench/scripts/tags-floor.cjs`, one GET of `tags/list`, the tags printed.
 */
const FLOORS = {
  inspect: {
    name: 'node floor (GET manifest, GET config; sha256 each)',
    script: 'inspect-floor.cjs',
    args: ['bench/app', 'latest'],
  },
  digest: {
    name: 'node floor (GET manifest, sha256)',
    script: 'digest-floor.cjs',
    args: ['bench/app', 'latest'],
  },
  tags: { name: 'node floor (GET tags/list)', script: 'tags-floor.cjs', args: ['bench/app'] },
} as const;

function floor(which: keyof typeof FLOORS, check: (out: string) => boolean): Contender {
  const f = FLOORS[which];
  const script = fileURLToPath(new URL(`../scripts/${f.script}`, import.meta.url));
  return checked(
    f.name,
    (host) => ({ file: process.execPath, args: [script, host, ...f.args] }),
    check,
  );
}

/**
 * Run ocipeek and its floor once each through the counting proxy (untimed) and fail the
 * case unless both made the same requests, in the same order, on the same number of
 * connections: a floor is only a floor for the network work its command does.
 */
async function checkSameRequests(ctx: CaseContext, mine: Contender, theFloor: Contender) {
  const seen = [];
  for (const c of [mine, theFloor]) {
    const { counts } = await countBytes(ctx, c);
    seen.push({ sequence: counts.sequence, connections: counts.connections });
  }
  const [a, b] = seen as [(typeof seen)[0], (typeof seen)[0]];
  const said = (x: typeof a) => `${x.sequence.join(', ')} on ${x.connections} connection(s)`;
  if (a.sequence.join('\n') !== b.sequence.join('\n') || a.connections !== b.connections) {
    throw new Error(`${theFloor.name} made ${said(b)}; ${mine.name} made ${said(a)}`);
  }
  ctx.log(`    same requests, ocipeek and floor: ${said(a)}`);
  return said(a);
}

/** Ocipeek's slowdown allowed over the Node floor: its CLI, config and store checks. */
const FLOOR_TARGET = 1.3;

/** The three commands, each against its skopeo equivalent. */
function pairs(ctx: CaseContext) {
  const app = ctx.corpus.images.app!;
  const digestOf = (out: string) => JSON.parse(out) as { Digest?: string; digest?: string };
  const isDigest = (out: string) => out.trim() === app.manifestDigest;
  const hasLatest = (out: string) => out.split('\n').includes('latest');
  return [
    {
      label: 'inspect',
      floor: floor('inspect', isDigest),
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
      floor: floor('digest', isDigest),
      mine: checked(
        'ocipeek digest',
        (host) => ocipeek(ctx, ['digest', refOf(ctx, 'app', host)]),
        isDigest,
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
      floor: floor('tags', hasLatest),
      mine: checked(
        'ocipeek tags',
        (host) => ocipeek(ctx, ['tags', `${host}/bench/app`]),
        hasLatest,
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
  target: `≤ ${FLOOR_TARGET}× each command's node floor (same requests; paired ratio), skopeo reported`,
  method: [
    "Each command's floor is a plain Node program making the same requests: inspect the",
    'manifest then the config blob it names on one connection (sha256 of each), digest the',
    'manifest (sha256), tags tags/list; before timing, ocipeek and the floor run once through',
    'the counting proxy and the case fails unless both made the same requests (noted under',
    "the rows). The floor rows' ratio is the median over rounds of ocipeek's run ÷ the",
    "floor's run in the same round (back to back, order alternating); the ratio of medians",
    'is noted beside it.',
  ].join(' '),
  variants: ALL_VARIANTS,
  needs: ['app'],
  minRuns: 30,
  async run(ctx) {
    for (const c of ['inspect', 'digest', 'tags']) {
      if (!hasCommand(c)) throw new Skip(`\`ocipeek ${c}\` not available yet`);
    }
    const rows = [];
    for (const p of pairs(ctx)) {
      const same = await checkSameRequests(ctx, p.mine, p.floor);
      const got = await compare(ctx, {
        label: p.label,
        ocipeek: p.mine,
        peers: [{ contender: p.floor, target: FLOOR_TARGET }, { contender: p.peer }],
        ratio: 'paired',
      });
      got[0]!.notes.push(`ocipeek and its floor made the same requests: ${same}`);
      rows.push(...got);
    }
    return rows;
  },
};
