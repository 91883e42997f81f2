import type { ImageSource } from './types.js';

/**
 * How an image from `source` is named in output: the full reference for registry and
 * store images (what `parseReference` reads back), else the place as given
 * (`oci:/tmp/x:v1`), since a layout's recorded name says nothing of where it is.
 */
export function sourceName(source: ImageSource): string {
  const named = source.kind === 'registry' || source.kind === 'store';
  return named && source.imageName ? source.imageName : source.description;
}
