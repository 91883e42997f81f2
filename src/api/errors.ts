/**
 * `ocipeek/errors`: every error ocipeek throws, each an `OcipeekError` with a stable
 * `code`.
 *
 * @packageDocumentation
 */

export * from '../errors/index.js';
