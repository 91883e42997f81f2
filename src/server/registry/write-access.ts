import { isWritable, type RegistryStorage } from '../storage/registry-storage.js';
import { isMirrorRepository } from '../storage/repository-names.js';
import { RegistryHttpError } from './http-errors.js';
import { isRepositoryName } from './names.js';
import type { RequestContext } from './router.js';

/**
 * The repository a write request names, once it may be written: the name is valid, the
 * server is not read-only and its storage writable (else 405 `UNSUPPORTED`), and the
 * name is not one of the CLI's mirrored registries (`docker.io/...`, `host_port/...`)
 * unless the server allows pushing there (else 403 `DENIED`).
 */
export async function writableRepository(
  ctx: RequestContext,
): Promise<{ storage: RegistryStorage; name: string }> {
  const name = ctx.params.name ?? '';
  if (!isRepositoryName(name)) {
    throw new RegistryHttpError(400, 'NAME_INVALID', `invalid repository name "${name}"`);
  }
  const storage = ctx.backend;
  if (ctx.config.readOnly || !isWritable(storage)) {
    throw new RegistryHttpError(
      405,
      'UNSUPPORTED',
      `${ctx.req.method} is not supported: this registry is read-only`,
      { Allow: 'GET, HEAD' },
    );
  }
  if (isMirrorRepository(name) && !ctx.config.allowMirrorPush) {
    throw new RegistryHttpError(
      403,
      'DENIED',
      `${name} holds images of another registry pulled into the store; pushing there would change what ocipeek reads as that image (serve with --allow-push-to-pulled to allow it)`,
    );
  }
  return { storage, name };
}
