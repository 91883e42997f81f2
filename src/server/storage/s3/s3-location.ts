import { InvalidArgumentError } from '../../../errors/index.js';

/** A bucket and a key prefix in it. */
export interface S3Location {
  bucket: string;
  /** `''`, or a prefix ending in `/`. */
  prefix: string;
}

/** True when `storage` names S3 (`s3://...`) rather than a folder. */
export function isS3Url(storage: string): boolean {
  return storage.startsWith('s3://');
}

/** `s3://BUCKET` or `s3://BUCKET/PREFIX` as a bucket and a prefix. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  const prefix = (m?.[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (!m || prefix.split('/').some((part) => part === '.' || part === '..')) {
    throw new InvalidArgumentError(
      `invalid S3 storage "${url}": use s3://BUCKET or s3://BUCKET/PREFIX (a lower-case bucket name)`,
    );
  }
  return { bucket: m[1] as string, prefix: prefix ? `${prefix}/` : '' };
}
