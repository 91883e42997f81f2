import { OcipeekError } from './ocipeek-error.js';

/** registries.conf blocks the registry (or namespace) a request was going to. */
export class BlockedRegistryError extends OcipeekError {
  static readonly code = 'ERR_REGISTRY_BLOCKED';
  constructor(
    /** The `[[registry]]` prefix that blocks it. */
    readonly prefix: string,
    /** The configuration file that says so. */
    readonly file: string,
    /** What was asked for. */
    readonly reference: string,
  ) {
    super(BlockedRegistryError.code, `${reference}: registry ${prefix} is blocked in ${file}`);
  }
}
