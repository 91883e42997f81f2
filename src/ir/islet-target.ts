import { isDigestReference, parseDigest } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { namesRegistry, parseReference, Reference, registryHostProblem } from '../ref/index.js';
import type { ConnectionMode } from '../transport/index.js';

/** islet's default registry address (`-a/--host`). */
export const ISLET_DEFAULT_HOST = 'localhost:1337';

/** The scheme a mode speaks: plain HTTP for `no-tls`, HTTPS for `tls` and `ra-tls`. */
function schemeOf(mode: ConnectionMode): 'http' | 'https' {
  return mode === 'no-tls' ? 'http' : 'https';
}

/**
 * The registry host (`host[:port]`) an islet-style address names in `mode`. A host without
 * a scheme gets the mode's; one whose scheme contradicts the mode (`http://` with `tls`,
 * `https://` with `no-tls`) is refused rather than silently spoken another way, since
 * which of the two the user meant cannot be known. Paths and queries are refused too.
 */
export function isletRegistryHost(address: string, mode: ConnectionMode): string {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(address);
  let host = address;
  if (match) {
    const scheme = match[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
      throw new InvalidArgumentError(`host ${address}: only http:// and https:// are spoken`);
    }
    if (scheme !== schemeOf(mode)) {
      throw new InvalidArgumentError(
        `host ${address} says ${scheme} but the connection mode is ${mode}, which speaks ${schemeOf(mode)}: drop the scheme or change --tls`,
      );
    }
    host = match[2]!.replace(/\/+$/, '');
  }
  const problem = registryHostProblem(host);
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `host ${address}: expected HOST[:PORT], with an optional scheme (${problem})`,
    );
  }
  return host;
}

/**
 * The reference islet's (`host`, `app-name`, `reference`) triple names: `HOST/APP:TAG`, or
 * `HOST/APP@DIGEST` when the reference is a digest, as islet's `Reference::try_from`
 * tells them apart. Without `reference`, the repository itself (for tag lists).
 */
export function isletReference(host: string, appName: string, reference?: string): Reference {
  if (!appName) throw new InvalidArgumentError('--app-name is empty');
  let text = `${host}/${appName}`;
  if (reference !== undefined) {
    if (isDigestReference(reference)) {
      parseDigest(reference);
      text += `@${reference}`;
    } else {
      text += `:${reference}`;
    }
  }
  const ref = parseReference(text, reference === undefined ? { defaultTag: null } : {});
  if (ref.registry === host || namesRegistry(host)) return ref;
  // A one-label host without a port (`-a myhost`) is a repository path component to the
  // reference grammar (`myhost/app` is Docker Hub's); islet connects to it, so it is the
  // registry here. Such a label is also a valid path component, so the parse above read it.
  return new Reference(host, ref.repository.slice(host.length + 1), ref.tag, ref.digest);
}
