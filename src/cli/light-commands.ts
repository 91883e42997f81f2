/**
 * The commands the executable runs from the light CLI bundle (`ocipeek-cli-light.js`,
 * built by scripts/bundle.mjs): the ones that read from a registry and print (or save) a
 * small answer. Their module graph is ~0.68 MB of the full bundle's 1.6 MB; a short
 * command's start-up pays for all of the bundle it runs (V8 deserialises the whole
 * top level's code cache, and the top level allocates every module's functions), so
 * these run from a bundle that holds only what they need.
 *
 * The light bundle is the same CLI (src/cli/main.ts) in which the other commands' modules
 * are left out, so it behaves exactly as the full one for these words: the launcher picks
 * it when {@link commandWordOf} names one of them, and `main` then registers just that
 * command. Any other command line (no command, help, an unknown word) runs the full bundle.
 * Kept apart from the command table so that the launcher can read it without loading any
 * command. Every name must be a file `./commands/<name>.ts` (the build checks).
 */
export const LIGHT_COMMANDS: ReadonlySet<string> = new Set([
  'inspect',
  'manifest',
  'config',
  'history',
  'digest',
  'tags',
  'catalog',
  'referrers',
  'blob',
]);

/**
 * The commands the executable runs from the pull bundle (`ocipeek-cli-pull.js`), built
 * like the light one. A pull of a small image is mostly start-up, and the full bundle
 * made it initialise 177 modules; a bundle of its own rather than a place in the light
 * one because the pull's modules added to the light bundle made every small command's
 * start dearer (~0.7 M instructions of a `digest`; bench/ANALYSIS.md, eleventh session).
 */
export const PULL_COMMANDS: ReadonlySet<string> = new Set(['pull']);

/** A CLI bundle that holds only some commands: its file in dist/bin and its words. */
export interface LeanBundle {
  readonly file: string;
  readonly words: ReadonlySet<string>;
}

/**
 * The bundles beside the full one (`ocipeek-cli.js`), each run for its words only. A word
 * is in at most one of them.
 */
export const LEAN_BUNDLES: readonly LeanBundle[] = [
  { file: 'ocipeek-cli-light.js', words: LIGHT_COMMANDS },
  { file: 'ocipeek-cli-pull.js', words: PULL_COMMANDS },
];
