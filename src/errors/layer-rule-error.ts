import { OcipeekError } from './ocipeek-error.js';

/**
 * A layer entry the changeset rules refuse: its parent is not a directory, a symlink loop
 * sits on its path, a hardlink names no file or a directory, a symlink has an empty target,
 * a name holds a NUL byte. umoci and containerd stop unpacking at such an entry; so does
 * `unpack`. The filesystem view skips it and keeps the message (see
 * `ImageFilesystem.warnings`).
 */
export class LayerRuleError extends OcipeekError {
  static readonly code = 'ERR_LAYER_RULE';
  constructor(
    /** 0-based index of the layer holding the entry. */
    readonly layer: number,
    /** The entry's path as the layer wrote it. */
    readonly path: string,
    /** Why it was refused, e.g. `parent directory: not a directory`. */
    readonly reason: string,
    /**
     * The message; by default `layer N: PATH: REASON` as they are. The layer rules pass it
     * with names escaped (`caf\xe9`: names are bytes, see `tar/name-codec.ts`), which this
     * folder cannot do itself without loading `tar/` wherever an error is thrown.
     */
    message = `layer ${layer}: ${path}: ${reason}`,
  ) {
    super(LayerRuleError.code, message);
  }
}
