/**
 * Hashing thread of {@link FileHasher}: hashes files from their start as they grow, one
 * state per key, reading them back from the page cache. Messages are handled in order,
 * so a `digest` sees every `extend` of its key sent before it.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { createDigester, type DigestAlgorithm } from '../../digest/index.js';
import type { HashedFile, HashReply, HashRequest } from './file-hasher.js';

const port = parentPort!;

interface State {
  hash: ReturnType<typeof createDigester>;
  /** Bytes hashed so far (the file's first `at`). */
  at: number;
  /** The first failure; reported at `digest`. */
  error?: string;
}

const states = new Map<number, State>();
/** One read buffer for every file: the thread does one thing at a time. */
const buffer = Buffer.allocUnsafe(1 << 20);

function stateOf(key: number, algorithm: DigestAlgorithm): State {
  let state = states.get(key);
  if (!state) {
    state = { hash: createDigester(algorithm), at: 0 };
    states.set(key, state);
  }
  return state;
}

/**
 * Hash `file` from where `state` stopped up to `size` bytes (a path is opened for this
 * call only; an fd is the main thread's, open until it has the answer).
 */
function extend(state: State, file: HashedFile, size: number): void {
  if (state.error || state.at >= size) return;
  const path = typeof file === 'string' ? file : `fd ${file.fd}`;
  let opened: number | undefined;
  try {
    if (typeof file === 'string')
      opened = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const fd = opened ?? (file as { fd: number }).fd;
    while (state.at < size) {
      const want = Math.min(buffer.length, size - state.at);
      const got = readSync(fd, buffer, 0, want, state.at);
      if (got === 0) throw new Error(`${path} ends at ${state.at} bytes, expected ${size}`);
      state.hash.update(buffer.subarray(0, got));
      state.at += got;
    }
  } catch (err) {
    state.error = (err as Error).message;
  } finally {
    if (opened !== undefined) closeSync(opened);
  }
}

port.on('message', (m: HashRequest) => {
  if (m.op === 'drop') {
    states.delete(m.key);
    return;
  }
  const state = stateOf(m.key, m.algorithm);
  extend(state, m.file, m.size);
  if (m.op === 'extend') return;
  states.delete(m.key);
  const reply: HashReply = state.error
    ? { key: m.key, error: state.error }
    : { key: m.key, hex: state.hash.digest('hex') };
  port.postMessage(reply);
});
