import { S3Client } from '@aws-sdk/client-s3';

/**
 * An S3 client configured the usual AWS way: region and credentials from the
 * environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, ...) and the shared
 * `~/.aws/config` and `credentials` files, the endpoint from `AWS_ENDPOINT_URL_S3` or
 * `AWS_ENDPOINT_URL` (an S3-compatible store: Ceph, MinIO, ...), all read by the SDK.
 *
 * Two choices made here: with an endpoint of one's own, buckets are addressed by path
 * (such stores seldom have a DNS name per bucket); and checksums are sent and checked
 * only where S3 requires them, since S3-compatible stores refuse the SDK's default
 * streamed checksums (aws-chunked bodies get 411 from Ceph 16).
 */
export function s3ClientFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    endpoint,
    forcePathStyle: endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
