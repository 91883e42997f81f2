export {
  type LoadRegistriesConfOptions,
  loadRegistriesConf,
  type PullSource,
  RegistriesConf,
  registriesConfSources,
} from './registries-conf.js';
export type {
  PullFromMirror,
  RegistryEndpoint,
  RegistryEntry,
  ShortNameAlias,
  ShortNameMode,
} from './registries-conf-file.js';
export { prefixMatchLength } from './registry-prefix.js';
export {
  isShortName,
  resolveShortName,
  type ShortNameRationale,
  type ShortNameResolution,
} from './short-names.js';
