#!/usr/bin/env node
// `npm start`: the main job on the built-in example, with no internet. Writes the example
// image as an OCI layout, serves it read-only on a free loopback port with the same code
// as `ocipeek serve`, then runs the CLI against it the way a user would.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_REPOSITORY, writeExampleLayout } from '../dist/example/index.js';
import { startRegistryServer } from '../dist/server/registry/index.js';

const cli = fileURLToPath(new URL('../dist/bin/ocipeek.js', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'ocipeek-demo-'));
const layout = join(dir, EXAMPLE_REPOSITORY);
await writeExampleLayout(layout);
const server = await startRegistryServer({ roots: layout, name: EXAMPLE_REPOSITORY });
const image = `${server.host}:${server.port}/${EXAMPLE_REPOSITORY}`;

// The server lives in this process, so the CLI must run without blocking the event loop.
async function ocipeek(...args) {
  console.log(`\n$ ocipeek ${args.join(' ')}`);
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`ocipeek ${args[0]} exited with ${code}`);
}

try {
  console.log(`Serving the built-in example image at ${server.url} (ocipeek serve)`);
  await ocipeek('inspect', `${image}:1.0`);
  await ocipeek('history', `${image}:1.0`, '--platform', 'linux/arm64');
  await ocipeek('tags', image);
  await ocipeek('digest', `${image}:1.0`, '--stats');
  // The filesystem commands stream the layers; the store flag keeps their listing cache
  // in the demo's temp folder instead of ~/.cache/ocipeek.
  const store = join(dir, 'store');
  await ocipeek('tree', `${image}:1.0`, '--store', store);
  await ocipeek('cat', `${image}:1.0`, '/etc/os-release', '--store', store);
  await ocipeek('layers', `${image}:1.0`, '--store', store);
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
