/**
 * Set `key` in `map` as its most recent entry (a `Map` keeps insertion order) and forget
 * the oldest entries past `max`: the bounded memory of tag checks and blob sizes.
 */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
