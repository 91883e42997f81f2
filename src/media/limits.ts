/**
 * The largest manifest or index ocipeek reads, serves or writes: 4 MiB, as distribution
 * and containers/image have it. One constant for every place that reads one (registry,
 * layouts, the store, the server), so they cannot disagree about what a manifest is.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
