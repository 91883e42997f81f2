// The decompression floor: fetch each layer blob over HTTP from the registry and gunzip it
// to nowhere with node's zlib, one layer after another (no hashing, no tar parsing).
// Usage: node gunzip-floor.mjs http://HOST REPO DIGEST...
import http from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const [base, repo, ...digests] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
let out = 0;
for (const digest of digests) {
  const res = await new Promise((resolve, reject) => {
    http.get(`${base}/v2/${repo}/blobs/${digest}`, { agent }, resolve).on('error', reject);
  });
  if (res.statusCode !== 200) throw new Error(`GET ${digest}: ${res.statusCode}`);
  await pipeline(
    res,
    createGunzip({ chunkSize: 1 << 16 }),
    new Writable({
      write(chunk, _enc, cb) {
        out += chunk.length;
        cb();
      },
    }),
  );
}
agent.destroy();
process.stdout.write(`${out}\n`);
