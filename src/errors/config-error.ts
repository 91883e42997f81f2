import { OcipeekError } from './ocipeek-error.js';

/**
 * A containers configuration file (registries.conf, a drop-in, policy.json,
 * registries.d) that cannot be read or says something invalid; the message names the file.
 */
export class ConfigError extends OcipeekError {
  static readonly code = 'ERR_CONFIG';
  constructor(
    /** The file at fault. */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ConfigError.code, `${file}: ${message}`, options);
  }
}
