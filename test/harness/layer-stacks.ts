import fc from 'fast-check';
import { decodeName, packTarBuffer, type TarWriteEntry } from '../../src/tar/index.js';
import type { LayerEntry } from './layers.js';

/**
 * Random layer stacks for property tests of the layer rules: a few short names reused at
 * every depth, so that layers keep meeting each other's paths through symlinked parents,
 * whiteouts (also under symlinked directories), opaque directories re-filled, hardlinks to
 * files later whited out, types changing file ↔ directory ↔ symlink, and directories
 * only implied by deeper entries. Some names are not UTF-8 (names are bytes: see
 * `tar/name-codec.ts`), so they go through every rule too.
 */

/** `d\xff` and `y\xe9`: Latin-1 bytes that are not UTF-8, as the name codec holds them. */
const D_FF = decodeName(Buffer.from([0x64, 0xff]));
const Y_E9 = decodeName(Buffer.from([0x79, 0xe9]));

/** The names every path is made of. */
export const NAMES = ['a', 'b', 'c', D_FF] as const;
/** Names only files (and links to them) take, mostly. */
export const LEAF_NAMES = ['x', Y_E9] as const;

const name = fc.constantFrom(...NAMES);
/** A relative path of one to three names. */
const relPath = fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
/**
 * Files mostly take a leaf name no directory uses (a file where later entries want a
 * parent makes the rules refuse them, and whole stacks with them); sometimes a shared
 * one, so that types still change at one path.
 */
const filePath = fc.oneof(
  { weight: 1, arbitrary: relPath },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(name, { maxLength: 2 }), fc.constantFrom(...LEAF_NAMES))
      .map(([dirs, leaf]) => [...dirs, leaf].join('/')),
  },
);

/** How an entry path is spelled: plainly mostly, sometimes with `./`, `/`, `..`, `.`. */
const spelled = (path: string) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(path) },
    { weight: 1, arbitrary: fc.constant(`./${path}`) },
    { weight: 1, arbitrary: fc.constant(`/${path}`) },
    { weight: 1, arbitrary: name.map((n) => `${n}/../${path}`) },
    { weight: 1, arbitrary: fc.constant(path.replace('/', '/./')) },
  );

const fileMode = fc.constantFrom(0o644, 0o755, 0o600, 0o444, 0o640);
const dirMode = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(0o755, 0o750, 0o700, 0o775) },
  { weight: 1, arbitrary: fc.constant(0o555) },
);

/** A symlink target: relative, absolute, climbing, the root, itself. */
const linkTarget = fc.oneof(
  { weight: 6, arbitrary: relPath },
  { weight: 3, arbitrary: relPath.map((p) => `/${p}`) },
  { weight: 2, arbitrary: relPath.map((p) => `../${p}`) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '/', '../..') },
  { weight: 1, arbitrary: fc.tuple(name, relPath).map(([n, p]) => `${n}/../${p}`) },
);

/** One entry as generated; content is filled in when the stack is made. */
type Gen = Omit<LayerEntry, 'content'>;

const entry: fc.Arbitrary<Gen> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(filePath, fileMode)
      .chain(([p, mode]) => spelled(p).map((path): Gen => ({ path, mode }))),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(relPath, dirMode)
      .chain(([p, mode]) =>
        spelled(p).map((path): Gen => ({ path: `${path}/`, type: 'dir', mode })),
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(relPath, linkTarget)
      .map(([path, linkname]): Gen => ({ path, type: 'symlink', linkname })),
  },
  {
    // The target is mostly a file written before (see finish), else any path.
    weight: 2,
    arbitrary: fc.tuple(filePath, relPath, fc.nat(), fc.nat(9)).map(
      ([path, linkname, pick, odds]): Gen => ({
        path,
        type: 'hardlink',
        linkname: odds > 0 ? `${EARLIER}${pick}` : linkname,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: relPath.map((p): Gen => {
      const i = p.lastIndexOf('/');
      return { path: i < 0 ? `.wh.${p}` : `${p.slice(0, i)}/.wh.${p.slice(i + 1)}` };
    }),
  },
  { weight: 1, arbitrary: relPath.map((p): Gen => ({ path: `${p}/.wh..wh..opq` })) },
  { weight: 1, arbitrary: dirMode.map((mode): Gen => ({ path: './', type: 'dir', mode })) },
);

/**
 * Stacks built around one of the situations the rules must get right, as a lower layer
 * and an upper one; the random stacks mix everything, these make sure each is common.
 */
const scenario: fc.Arbitrary<Gen[][]> = fc.oneof(
  // Writing, whiting out and emptying through a symlinked parent.
  fc
    .tuple(name, name, name, linkTarget, fc.constantFrom('file', 'wh', 'opq', 'dir'))
    .map(([d, l, f, target, what]): Gen[][] => {
      const lower: Gen[] = [
        { path: `${d}/`, type: 'dir', mode: 0o755 },
        { path: `${d}/${f}`, mode: 0o644 },
        { path: l, type: 'symlink', linkname: target },
      ];
      const upper: Gen[] =
        what === 'file'
          ? [{ path: `${l}/${f}`, mode: 0o600 }]
          : what === 'wh'
            ? [{ path: `${l}/.wh.${f}` }]
            : what === 'opq'
              ? [{ path: `${l}/.wh..wh..opq` }, { path: `${l}/${d}`, mode: 0o644 }]
              : [{ path: `${l}/${f}/`, type: 'dir', mode: 0o750 }];
      return [lower, upper];
    }),
  // A hardlink to a file that a later layer whites out or replaces.
  fc
    .tuple(relPath, relPath, fc.boolean())
    .map(([f, h, replace]): Gen[][] => [
      [{ path: f, mode: 0o640 }],
      [{ path: h, type: 'hardlink', linkname: f }],
      replace ? [{ path: f, mode: 0o644 }] : [{ path: whiteoutOf(f) }],
    ]),
  // An opaque directory, then filled again above.
  fc.tuple(name, name, name).map(([d, x, y]): Gen[][] => [
    [
      { path: `${d}/${x}`, mode: 0o644 },
      { path: `${d}/${y}/${x}`, mode: 0o644 },
    ],
    [{ path: `${d}/.wh..wh..opq` }, { path: `${d}/${y}`, mode: 0o644 }],
    [{ path: `${d}/${x}/${y}`, mode: 0o644 }],
  ]),
  // A type changing file → directory → symlink → file over three layers.
  fc.tuple(relPath, name, linkTarget).map(([p, n, target]): Gen[][] => [
    [{ path: p, mode: 0o644 }],
    [
      { path: `${p}/`, type: 'dir', mode: 0o755 },
      { path: `${p}/${n}`, mode: 0o644 },
    ],
    [{ path: p, type: 'symlink', linkname: target }],
    [{ path: p, mode: 0o600 }],
  ]),
);

function whiteoutOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`;
}

/** A hardlink target to be replaced by a file written earlier in the stack. */
const EARLIER = '\0earlier:';

/**
 * Give each file its own content, naming its layer and place (so reads tell them apart),
 * and point hardlinks marked {@link EARLIER} at a file some entry wrote before them.
 */
function finish(layers: Gen[][]): LayerEntry[][] {
  const files: string[] = [];
  return layers.map((layer, i) =>
    layer.map((e, j): LayerEntry => {
      const isFile = (e.type ?? 'file') === 'file' && !e.path.split('/').pop()!.startsWith('.wh.');
      if (isFile) files.push(e.path.replace(/^\.?\//, ''));
      if (e.type === 'hardlink' && e.linkname?.startsWith(EARLIER)) {
        const pick = Number(e.linkname.slice(EARLIER.length));
        return { ...e, linkname: files.length > 0 ? files[pick % files.length]! : 'a' };
      }
      return isFile ? { ...e, content: `layer ${i} entry ${j} ${e.path}\n` } : { ...e };
    }),
  );
}

/** Random stacks of one to four layers; about a third start from a scenario. */
export const layerStacks: fc.Arbitrary<LayerEntry[][]> = fc
  .oneof(
    {
      weight: 2,
      arbitrary: fc.array(fc.array(entry, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(scenario, fc.array(fc.array(entry, { maxLength: 4 }), { maxLength: 2 }))
        .map(([s, more]) => [...s, ...more]),
    },
  )
  .map(finish);

/** Defaults as the harness's `makeTar` has them (a fixed mtime, owned by root). */
const MTIME = Date.parse('2024-01-01T00:00:00Z') / 1000;

/**
 * One layer's tar, written by the project's tar writer: names that are not UTF-8 go out
 * as their bytes (tar-stream would write U+FFFD for them), read by umoci and ocipeek alike.
 */
export function stackLayerTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  return packTarBuffer(
    entries.map((e): TarWriteEntry => {
      const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
      const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
      const mode = e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
      const header = { path: e.path, type, mode, uid: 0, gid: 0, mtime: MTIME };
      return {
        header: {
          ...header,
          size: body?.length ?? 0,
          ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
        },
        ...(body === undefined ? {} : { body }),
      };
    }),
  );
}

/**
 * Every path of up to three {@link NAMES} (the last may be a {@link LEAF_NAMES} one),
 * absolute: what lookups are tried on.
 */
export function allPaths(): string[] {
  const out: string[] = [];
  const walk = (prefix: string, depth: number) => {
    for (const n of [...NAMES, ...LEAF_NAMES]) {
      const p = `${prefix}/${n}`;
      out.push(p);
      if (depth < 3 && (NAMES as readonly string[]).includes(n)) walk(p, depth + 1);
    }
  };
  walk('', 1);
  return out;
}

/**
 * Parameters of a property test: `defaultRuns` stacks, or fewer when `timeBudgetMs` is
 * given and spent (so the file ends in reasonable time on a busy machine),
 * `LAYER_RULES_RUNS` to run exactly that many,
 * `LAYER_RULES_SEED` (and `LAYER_RULES_PATH`) to replay a failure fast-check reported.
 * The seed is always chosen here, so a test can name it before it starts (a run cut
 * short by the runner's timeout while shrinking can still be replayed). The failure
 * report names the error of the smallest failing stack.
 */
export function propertyRuns(
  defaultRuns: number,
  timeBudgetMs?: number,
): fc.Parameters<unknown> & { seed: number } {
  const { LAYER_RULES_RUNS: runs, LAYER_RULES_SEED: seed, LAYER_RULES_PATH: path } = process.env;
  // On a loaded machine a fixed count of slow runs (each starts peers) can outlast the
  // runner's per-file timeout; a budget stops starting new runs instead, and the caller
  // asserts that enough ran. An explicit LAYER_RULES_RUNS always runs them all.
  const budget =
    timeBudgetMs !== undefined && runs === undefined
      ? { interruptAfterTimeLimit: timeBudgetMs, markInterruptAsFailure: false }
      : {};
  return {
    numRuns: Number(runs ?? defaultRuns),
    verbose: 1,
    includeErrorInReport: true,
    seed: seed === undefined ? (Math.random() * 2 ** 31) | 0 : Number(seed),
    ...(path === undefined ? {} : { path }),
    ...budget,
  };
}
