import type { Command } from 'commander';
import { commandWordOf } from './command-word.js';

/**
 * Every command, loaded only when it runs: a command's module pulls in the library code it
 * needs, and loading all of them costs more start-up time than most commands take.
 */
export const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  inspect: async () => (await import('./commands/inspect.js')).registerInspect,
  manifest: async () => (await import('./commands/manifest.js')).registerManifest,
  config: async () => (await import('./commands/config.js')).registerConfig,
  history: async () => (await import('./commands/history.js')).registerHistory,
  digest: async () => (await import('./commands/digest.js')).registerDigest,
  tags: async () => (await import('./commands/tags.js')).registerTags,
  catalog: async () => (await import('./commands/catalog.js')).registerCatalog,
  referrers: async () => (await import('./commands/referrers.js')).registerReferrers,
  blob: async () => (await import('./commands/blob.js')).registerBlob,
  login: async () => (await import('./commands/login.js')).registerLogin,
  logout: async () => (await import('./commands/login.js')).registerLogin,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  cache: async () => (await import('./commands/cache.js')).registerCache,
  ls: async () => (await import('./commands/ls.js')).registerLs,
  peek: async () => (await import('./commands/peek.js')).registerPeek,
  tree: async () => (await import('./commands/tree.js')).registerTree,
  browse: async () => (await import('./commands/browse.js')).registerBrowse,
  stat: async () => (await import('./commands/stat.js')).registerStat,
  cat: async () => (await import('./commands/cat.js')).registerCat,
  find: async () => (await import('./commands/find.js')).registerFind,
  layers: async () => (await import('./commands/layers.js')).registerLayers,
  ui: async () => (await import('./commands/ui.js')).registerUi,
  diff: async () => (await import('./commands/diff.js')).registerDiff,
  unpack: async () => (await import('./commands/unpack.js')).registerUnpack,
  pull: async () => (await import('./commands/pull.js')).registerPull,
  images: async () => (await import('./commands/images.js')).registerImages,
  delete: async () => (await import('./commands/delete.js')).registerDelete,
  check: async () => (await import('./commands/check.js')).registerCheck,
  'export-fs': async () => (await import('./commands/export-fs.js')).registerExportFs,
  artifact: async () => (await import('./commands/artifact.js')).registerArtifact,
  mutate: async () => (await import('./commands/mutate.js')).registerMutate,
  append: async () => (await import('./commands/append.js')).registerAppend,
  flatten: async () => (await import('./commands/flatten.js')).registerFlatten,
  rebase: async () => (await import('./commands/rebase.js')).registerRebase,
  sync: async () => (await import('./commands/sync.js')).registerSync,
  rmi: async () => (await import('./commands/rmi.js')).registerRmi,
  prune: async () => (await import('./commands/prune.js')).registerPrune,
  copy: async () => (await import('./commands/copy.js')).registerCopy,
  convert: async () => (await import('./commands/convert.js')).registerConvert,
  index: async () => (await import('./commands/index-image.js')).registerIndex,
  export: async () => (await import('./commands/export.js')).registerExport,
  import: async () => (await import('./commands/import.js')).registerImport,
  wasm: async () => (await import('./commands/wasm.js')).registerWasm,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  sign: async () => (await import('./commands/sign.js')).registerSign,
  'sign-islet': async () => (await import('./commands/sign-islet.js')).registerSignIslet,
  proxy: async () => (await import('./commands/proxy.js')).registerProxy,
  ir: async () => (await import('./commands/ir.js')).registerIr,
  attestation: async () => (await import('./commands/attestation.js')).registerAttestation,
  'experimental-image-proxy': async () =>
    (await import('./commands/experimental-image-proxy.js')).registerExperimentalImageProxy,
};

/** The command named on the command line, if it is one of ours. */
export function commandNameOf(args: string[]): string | undefined {
  const word = commandWordOf(args);
  return word !== undefined && Object.hasOwn(COMMANDS, word) ? word : undefined;
}
