import { OcipeekError } from './ocipeek-error.js';

/**
 * The host answered HTTP but is not an OCI registry: its `GET /v2/` (the distribution
 * API's version check, which every registry answers with 200 or 401) got another status,
 * so a 404 for a manifest there says nothing about the image. `status` is that answer.
 */
export class NotRegistryError extends OcipeekError {
  static readonly code = 'ERR_NOT_A_REGISTRY';
  constructor(
    /** The registry as written in the reference (`host:port`). */
    readonly registry: string,
    readonly status: number,
  ) {
    super(
      NotRegistryError.code,
      `${registry} is not an OCI registry: GET /v2/ answered ${status} (check the host and port of the reference)`,
    );
  }
}
