import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors/index.js';
import type { ImageToVerify, ImageTrust, RegistryClient } from '../registry/index.js';
import type { ImageSource } from '../source/index.js';
import { isletPublicKey } from './islet-keys.js';
import { type IsletVerdict, verifyIsletSignature } from './islet-signature.js';

/** Configs are small; a bigger one is refused rather than read into memory. */
const MAX_CONFIG_BYTES = 8 << 20;

/**
 * Only images islet-signed under one root CA key may be read (`--islet-root-ca`): as the
 * client's {@link ImageTrust}, for registry reads (checked before any layer is fetched);
 * {@link IsletTrust.verifySource} checks any other place (the store, a layout).
 */
export class IsletTrust implements ImageTrust {
  constructor(readonly rootKey: KeyObject) {}

  /** The trust of the root CA public key (or certificate) in `file`, PEM or DER. */
  static async fromFile(file: string): Promise<IsletTrust> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new InvalidArgumentError(
        `cannot read --islet-root-ca ${file}: ${(err as Error).message}`,
      );
    }
    return new IsletTrust(isletPublicKey(bytes, `--islet-root-ca ${file}`));
  }

  verify(
    image: ImageToVerify,
    client: RegistryClient,
    options: { signal?: AbortSignal },
  ): Promise<IsletVerdict> {
    return verifyIsletSignature(
      image.ref.toString(),
      image.rootBytes,
      (d) =>
        client.readBlob(image.served, d, { signal: options.signal, maxBytes: MAX_CONFIG_BYTES }),
      this.rootKey,
    );
  }

  /** Check the image a place (not a registry) names: its root manifest and config. */
  async verifySource(source: ImageSource, signal?: AbortSignal): Promise<IsletVerdict> {
    const root = await source.root({ signal });
    return verifyIsletSignature(
      source.description,
      root.bytes,
      async (d) => {
        if (d.size > MAX_CONFIG_BYTES) throw new InvalidArgumentError('the config is too big');
        const chunks: Buffer[] = [];
        for await (const chunk of await source.openBlob(d, { signal })) chunks.push(chunk);
        return Buffer.concat(chunks);
      },
      this.rootKey,
    );
  }
}
