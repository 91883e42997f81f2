import { buildSociIndex, writeSociIndex } from '../lazy/index.js';
import type { CliImage } from './cli-image.js';
import { type IndexFlags, writeIndexArtifact } from './index-artifact.js';
import { printIndexReport } from './index-report.js';
import { VERSION } from './version.js';

/**
 * `ocipeek index REF --format soci`: build SOCI's zTOCs and index (v1) for the image and
 * write them where the flags say; print what was built and which layers got none.
 */
export async function indexSoci({ ctx, image }: CliImage, opts: IndexFlags): Promise<void> {
  const started = performance.now();
  const built = await buildSociIndex(image, {
    span: opts.span,
    minLayerSize: opts.minLayerSize,
    buildToolIdentifier: `ocipeek v${VERSION}`,
    signal: ctx.signal,
  });
  const seconds = (performance.now() - started) / 1000;
  const written = await writeIndexArtifact(ctx, image, opts, built, (d) =>
    writeSociIndex(d, built, { signal: ctx.signal }),
  );
  printIndexReport(ctx, opts, image, written, {
    format: 'soci',
    digest: built.digest,
    indexBytes: built.ztocs.reduce((n, z) => n + z.descriptor.size, built.manifest.length),
    seconds,
    kind: 'SOCI index v1',
    columns: [
      { key: 'layer', heading: 'LAYER', kind: 'digest' },
      { key: 'ztoc', heading: 'ZTOC', kind: 'digest' },
      { key: 'size', heading: 'SIZE', kind: 'bytes' },
      { key: 'spans', heading: 'SPANS', kind: 'count' },
      { key: 'entries', heading: 'ENTRIES', kind: 'count' },
    ],
    layers: built.ztocs.map((z) => ({
      layer: z.layer.digest,
      ztoc: z.descriptor.digest,
      size: z.descriptor.size,
      spans: z.built.fields.maxSpanId + 1,
      entries: z.built.fields.files.length,
    })),
    skipped: built.skipped.map((s) => ({ layer: s.layer.digest, reason: s.reason })),
  });
}
