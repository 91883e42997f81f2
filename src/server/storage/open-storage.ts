import { InvalidArgumentError } from '../../errors/index.js';
import type { OpenStoreOptions } from '../../store/index.js';
import type { RegistryStorage } from './registry-storage.js';
import { isS3Url } from './s3/s3-location.js';
import { StoreStorage, type StoreStorageOptions } from './store-storage.js';

/**
 * The storage `--storage` names: `s3://BUCKET/PREFIX` (S3, configured from the AWS
 * environment and files), or the folder of an ocipeek store.
 */
export async function openRegistryStorage(
  storage: string,
  options: StoreStorageOptions & OpenStoreOptions & { s3RedirectSeconds?: number } = {},
): Promise<RegistryStorage> {
  if (isS3Url(storage)) {
    // Loaded only for S3: the AWS SDK is large, and most runs never need it.
    const { S3Storage } = await import('./s3/s3-storage.js');
    return S3Storage.fromUrl(storage, {
      maxBlobBytes: options.maxBlobBytes,
      redirectSeconds: options.s3RedirectSeconds,
    });
  }
  if (options.s3RedirectSeconds !== undefined) {
    throw new InvalidArgumentError('--s3-redirect needs --storage s3://BUCKET/PREFIX');
  }
  return StoreStorage.open(storage, options);
}
