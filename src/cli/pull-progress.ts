import type cliProgressModule from 'cli-progress';
import type { PullProgressEvent } from '../store/index.js';
import { formatBytes, shortDigest } from './format.js';

/** Draws pull progress: one bar per blob being downloaded and a total bar. */
export interface PullProgressRenderer {
  /** Feed to `pullImage({ onProgress })`. */
  onProgress: (event: PullProgressEvent) => void;
  /** Stop drawing (call in `finally`). */
  stop: () => void;
}

/** Values for the bar format; `total` is cli-progress's own token, hence `size`. */
interface BarPayload {
  label: string;
  done: string;
  size: string;
  speed: string;
}

function speedOf(bytes: number, startedAt: number): string {
  const seconds = (performance.now() - startedAt) / 1000;
  return seconds > 0.05 ? `${formatBytes(Math.round(bytes / seconds))}/s` : '';
}

/**
 * Progress bars with `cli-progress` on `stream` (stderr) when it is a TTY; `undefined`
 * otherwise, so pipes and CI logs stay quiet. Bars show bytes and speed; a finished
 * layer's bar is removed to keep the block short.
 */
export async function createPullProgress(
  stream: NodeJS.WriteStream = process.stderr,
): Promise<PullProgressRenderer | undefined> {
  if (!stream.isTTY) return undefined;
  // Loaded only when bars are drawn: scripts and CI runs do not pay for it.
  const cliProgress: typeof cliProgressModule = (await import('cli-progress')).default;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '{label} [{bar}] {percentage}% {done}/{size} {speed}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgressModule.SingleBar; startedAt: number }>();
  const perBlob = new Map<string, number>();
  let total: cliProgressModule.SingleBar | undefined;
  let totalBytes = 0;
  let baseBytes = 0;
  const startedAt = performance.now();
  const updateTotal = () => {
    let sum = baseBytes;
    for (const n of perBlob.values()) sum += n;
    total?.update(sum, {
      label: 'total       ',
      done: formatBytes(sum),
      size: formatBytes(totalBytes),
      speed: speedOf(sum - baseBytes, startedAt),
    } satisfies BarPayload);
  };
  return {
    onProgress(event) {
      switch (event.type) {
        case 'plan': {
          totalBytes = event.blobs.reduce((n, b) => n + b.size, 0);
          baseBytes = event.blobs.filter((b) => b.stored).reduce((n, b) => n + b.size, 0);
          total = multi.create(Math.max(1, totalBytes), baseBytes);
          updateTotal();
          break;
        }
        case 'blob-start': {
          const bar = multi.create(Math.max(1, event.size), 0, {
            label: `${event.role === 'config' ? 'config' : 'layer '} ${shortDigest(event.digest).slice(7, 13)}`,
            done: formatBytes(0),
            size: formatBytes(event.size),
            speed: '',
          } satisfies BarPayload);
          bars.set(event.digest, { bar, startedAt: performance.now() });
          break;
        }
        case 'blob-progress': {
          const entry = bars.get(event.digest);
          perBlob.set(event.digest, event.bytes);
          entry?.bar.update(event.bytes, {
            done: formatBytes(event.bytes),
            speed: speedOf(event.bytes, entry.startedAt),
          });
          updateTotal();
          break;
        }
        case 'blob-wait': {
          bars.get(event.digest)?.bar.update({ speed: 'waiting for another process' });
          break;
        }
        case 'blob-done': {
          perBlob.set(event.digest, event.size);
          const entry = bars.get(event.digest);
          if (entry) multi.remove(entry.bar);
          bars.delete(event.digest);
          updateTotal();
          break;
        }
      }
    },
    stop() {
      multi.stop();
    },
  };
}
