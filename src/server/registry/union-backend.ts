import { NotFoundError } from '../../errors/index.js';
import type { Descriptor } from '../../media/index.js';
import type {
  BackendBlob,
  BackendCallOptions,
  RegistryBackend,
  StoredManifest,
} from '../storage/registry-storage.js';
import { byCodeUnits } from './names.js';

/**
 * Several read-only backends served as one registry (`serve --root A --root B`: the layouts
 * found under the roots, and each ocipeek store given as a root). A repository is served
 * by the first backend that has it, whole: its tags, manifests, blobs and referrers never
 * mix two sources. Only the read side is exposed, so even a writable store given as a
 * `--root` refuses pushes and deletes.
 */
export class UnionBackend implements RegistryBackend {
  constructor(private readonly parts: RegistryBackend[]) {}

  private async owner(name: string, options: BackendCallOptions): Promise<RegistryBackend> {
    for (const part of this.parts) {
      if (await part.hasRepository(name, options)) return part;
    }
    throw new NotFoundError(`repository ${name} not known`, 'NAME_UNKNOWN');
  }

  async repositories(options: BackendCallOptions = {}): Promise<string[]> {
    const all = new Set<string>();
    for (const part of this.parts) {
      for (const name of await part.repositories(options)) all.add(name);
    }
    return [...all].sort(byCodeUnits);
  }

  async hasRepository(name: string, options: BackendCallOptions = {}): Promise<boolean> {
    for (const part of this.parts) {
      if (await part.hasRepository(name, options)) return true;
    }
    return false;
  }

  async tags(name: string, options: BackendCallOptions = {}): Promise<string[]> {
    return (await this.owner(name, options)).tags(name, options);
  }

  async getManifest(
    name: string,
    reference: string,
    options: BackendCallOptions = {},
  ): Promise<StoredManifest | undefined> {
    return (await this.owner(name, options)).getManifest(name, reference, options);
  }

  async openBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<BackendBlob | undefined> {
    return (await this.owner(name, options)).openBlob(name, digest, options);
  }

  async referrers(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<Descriptor[]> {
    return (await this.owner(name, options)).referrers(name, digest, options);
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.close?.()));
  }
}
