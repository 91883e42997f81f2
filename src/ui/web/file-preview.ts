import type { Readable } from 'node:stream';
import { classify, PREVIEW_BYTES, readHead } from '../file-head.js';

/** Bytes of a file a page shows as text; the rest is behind the download link. */
export const TEXT_PREVIEW_BYTES = PREVIEW_BYTES;
/** Bytes of a binary file a page shows as a hex dump. */
export const HEX_PREVIEW_BYTES = 4 * 1024;

/** The start of a file, read without reading the rest. */
export interface FilePreview {
  kind: 'text' | 'binary';
  /** The first bytes (at most {@link TEXT_PREVIEW_BYTES}). */
  head: Buffer;
  /** True when the file goes on past `head`. */
  truncated: boolean;
}

/** Image types a browser shows, by extension; served raw to an `<img>`. */
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
};

/** The media type of an image file by its name, or `undefined`. SVG is left out: it can hold script. */
export function imageTypeOf(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? undefined : IMAGE_TYPES[path.slice(dot + 1).toLowerCase()];
}

/** Read the start of a file and say whether it is text. */
export async function previewFile(stream: Readable): Promise<FilePreview> {
  const { head, truncated } = await readHead(stream);
  return { kind: classify(head), head, truncated };
}
