/**
 * ocipeek: pull, inspect, list, read and serve OCI container images from Node, without a
 * container runtime. This module is the whole public API: the union of the subpath
 * entry points (`ocipeek/registry`, `ocipeek/store`, `ocipeek/image`, `ocipeek/fs`,
 * `ocipeek/unpack`, `ocipeek/copy`, `ocipeek/lazy`, `ocipeek/tar`, `ocipeek/server`,
 * `ocipeek/proxy`, `ocipeek/wasm`, `ocipeek/convert`, `ocipeek/example`, `ocipeek/errors`, `ocipeek/trust`),
 * each of which loads only what it needs. Everything exported here is documented and typed.
 *
 * @packageDocumentation
 */

export * from './api/convert.js';
export * from './api/copy.js';
export * from './api/errors.js';
export * from './api/example.js';
export * from './api/fs.js';
export * from './api/image.js';
export * from './api/lazy.js';
export * from './api/proxy.js';
export * from './api/registry.js';
export * from './api/server.js';
export * from './api/store.js';
export * from './api/tar.js';
export * from './api/trust.js';
export * from './api/unpack.js';
export * from './api/wasm.js';
