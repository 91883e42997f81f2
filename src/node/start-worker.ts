import { Worker } from 'node:worker_threads';

/**
 * Start the worker thread module `name` (`disk-writer-worker`, `file-hash-worker`) that
 * lies beside the module at `callerUrl` (its `import.meta.url`). Built, that is the `.js`
 * file beside the caller (the CLI bundle puts every worker next to its chunks). Run from
 * the TypeScript sources (tests), Node 20 workers do not inherit the loader hooks, so a
 * bootstrap registers tsx in the worker before importing the `.ts` file.
 */
export function startWorker(callerUrl: string, name: string, workerData?: unknown): Worker {
  if (!callerUrl.endsWith('.ts')) {
    return new Worker(new URL(`./${name}.js`, callerUrl), { workerData });
  }
  const target = JSON.stringify(new URL(`./${name}.ts`, callerUrl).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const code = `import { register } from ${tsx}; register(); await import(${target});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData });
}
