/**
 * Writer thread of {@link WorkerDiskWriter}: carries out batches of file system calls in
 * the order they come, and stops at the first failure (later batches are acknowledged and
 * skipped: the unpack is failing anyway).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OpRunner } from './disk-writer.js';
import type { DiskBatch, DiskBatchResult, DiskWriterSettings } from './worker-disk-writer.js';

const port = parentPort!;
const runner = new OpRunner((workerData as DiskWriterSettings | undefined)?.maxWriteBytes);
let failed = false;

port.on('message', (batch: DiskBatch) => {
  const result: DiskBatchResult = { ops: batch.ops, data: batch.data };
  if (!failed) {
    try {
      runner.runBatch(batch.ops, batch.count, batch.data);
    } catch (err) {
      failed = true;
      const e = err as NodeJS.ErrnoException;
      runner.abandon();
      result.error = {
        message: e.message,
        ...(e.code === undefined ? {} : { code: e.code }),
        ...(e.errno === undefined ? {} : { errno: e.errno }),
        ...(e.syscall === undefined ? {} : { syscall: e.syscall }),
        ...(e.path === undefined ? {} : { path: String(e.path) }),
      };
    }
  }
  // The buffers go back to be filled again (see WorkerDiskWriter's spare batches).
  port.postMessage(result, [batch.ops.buffer as ArrayBuffer, batch.data.buffer as ArrayBuffer]);
});
