import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { UnsupportedError } from '../errors/index.js';

/*
 * Why koffi (a maintained FFI package) and not a small N-API addon of our own: koffi ships
 * prebuilt binaries for every platform Node supports as optional dependencies
 * (@koromix/koffi-<os>-<arch>), so `npm ci` installs a working package on a machine with no
 * compiler, and nothing is built at install time. Its own install script only checks that
 * the prebuilt binary loads and otherwise rebuilds from source with cmake; it is denied
 * (`allowScripts: { koffi: false }` in package.json, npm 11 then skips it), so an install
 * never fails on a platform without a prebuilt binary: the first native call there fails
 * with an UnsupportedError instead.
 *
 * Loaded on first use only: requiring koffi costs ~7 ms, which `inspect`, `pull` and other
 * commands that make no native call must not pay.
 */

const load = createRequire(import.meta.url);

let loaded: typeof Koffi | undefined;
let failure: UnsupportedError | undefined;

/** The koffi module; {@link UnsupportedError} when it cannot be loaded on this platform. */
export function koffi(): typeof Koffi {
  if (loaded) return loaded;
  if (failure) throw failure;
  try {
    loaded = load('koffi') as typeof Koffi;
    return loaded;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    failure = new UnsupportedError(
      `native calls need the koffi package, which does not load on ${process.platform}-${process.arch}: ${why}`,
    );
    throw failure;
  }
}

/** Handles of shared libraries, opened once (`null`: the process's own symbols). */
const libraries = new Map<string | null, Koffi.LibraryHandle>();

/**
 * Open a shared library through koffi once per process. `null` opens the running process
 * itself, whose symbols include the C library Node is linked against (glibc or musl), so
 * no file name has to be guessed.
 */
export function library(name: string | null, what: string): Koffi.LibraryHandle {
  let lib = libraries.get(name);
  if (lib) return lib;
  const ffi = koffi();
  try {
    lib = ffi.load(name);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new UnsupportedError(`${what} is not available: ${why}`);
  }
  libraries.set(name, lib);
  return lib;
}
