import { buildSociIndex, writeSociIndex } from '../lazy/index.js';
import { formatBytes, printJson, printLines, shortDigest, table } from './format.js';
import type { CliImage } from './image-source.js';
import { type IndexFlags, writeIndexArtifact } from './index-artifact.js';
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
  const { target, referrers } = await writeIndexArtifact(ctx, image, opts, built, (d) =>
    writeSociIndex(d, built, { signal: ctx.signal }),
  );
  const imageBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
  const indexBytes = built.ztocs.reduce((n, z) => n + z.descriptor.size, built.manifest.length);
  if (opts.json || ctx.options.json) {
    return printJson({
      format: 'soci',
      image: image.name,
      subject: image.manifestDigest,
      digest: built.digest,
      destination: target,
      referrers,
      seconds,
      imageBytes,
      indexBytes,
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
  printLines(
    table([
      ['LAYER', 'ZTOC', 'SIZE', 'SPANS', 'ENTRIES'],
      ...built.ztocs.map((z) => [
        shortDigest(z.layer.digest),
        shortDigest(z.descriptor.digest),
        formatBytes(z.descriptor.size),
        String(z.built.fields.maxSpanId + 1),
        String(z.built.fields.files.length),
      ]),
    ]),
    ...built.skipped.map((s) => `no zTOC for ${shortDigest(s.layer.digest)}: ${s.reason}`),
    `${target} ${built.digest} (SOCI index v1, ${formatBytes(indexBytes)}, ${((100 * indexBytes) / Math.max(imageBytes, 1)).toFixed(2)}% of the image's layers)`,
  );
  if (referrers === 'tag') printLines(`listed in the referrers tag of ${image.manifestDigest}`);
}
