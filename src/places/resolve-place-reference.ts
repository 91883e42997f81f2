import { isShortName, resolveShortName } from '../containers-conf/short-names.js';
import { ShortNameError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import type { Place } from '../source/index.js';

/**
 * The references a registry place may mean, in the order to try them: a short name
 * typed bare (`alpine`, not `docker://alpine`) resolved through the client's
 * registries.conf (aliases, then `unqualified-search-registries`; see
 * `resolveShortName`), anything else just its reference.
 */
export function placeCandidates(
  place: Extract<Place, { kind: 'registry' }>,
  client: RegistryClient | undefined,
): Reference[] {
  const conf = client?.registries;
  if (!conf || place.explicit || place.typed === undefined || !isShortName(place.typed)) {
    return [place.ref];
  }
  return resolveShortName(place.typed, conf).candidates;
}

/**
 * The one reference a registry place stands for: its only candidate, or the first
 * candidate whose registry has the image (podman's order; each asked with one manifest
 * `HEAD`, through its mirrors). When none has it, a {@link ShortNameError} names each
 * candidate and what went wrong there.
 */
export async function resolvePlaceReference(
  place: Extract<Place, { kind: 'registry' }>,
  client: RegistryClient,
  options: { signal?: AbortSignal } = {},
): Promise<Reference> {
  const candidates = placeCandidates(place, client);
  if (candidates.length === 1) return candidates[0]!;
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      await new RegistrySource(candidate, { client }).resolve(options);
      client.transport.log(`* short name ${place.typed} resolved to ${candidate}`);
      return candidate;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      failures.push(`${candidate}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new ShortNameError(
    place.typed ?? String(place.ref),
    `short name "${place.typed}": no candidate has the image (${failures.join('; ')})`,
    candidates.map(String),
  );
}
