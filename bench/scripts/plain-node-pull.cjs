// A plain Node pull of a small image, the way a Node program would write it with the
// platform's defaults: one GET of the manifest (sha256 of the body), then the config and
// every layer at once, each streamed into a file with its sha256 checked against the
// manifest. No store, no locks, no fsync, no rename, no tag. Not a floor: ocipeek's pull
// is faster (larger writes, fewer copies); it shows what Node's start-up and streams cost
// against skopeo on the machine. CommonJS, as the ocipeek bundle is.
// Usage: node plain-node-pull.cjs HOST:PORT REPO TAG OUT_DIR
const http = require('node:http');
const { createHash } = require('node:crypto');
const { createWriteStream, writeFileSync } = require('node:fs');
const path = require('node:path');

const [hostPort, repo, tag, outDir] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const agent = new http.Agent({ keepAlive: true });
const accept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function get(urlPath, headers, onResponse) {
  const req = http.get({ host, port: Number(port), path: urlPath, headers, agent }, (res) => {
    if (res.statusCode !== 200) fail(`${urlPath}: HTTP ${res.statusCode}`);
    onResponse(res);
  });
  req.on('error', (err) => fail(`${urlPath}: ${err.message}`));
}

function fail(message) {
  process.stderr.write(`plain-node-pull: ${message}\n`);
  process.exit(1);
}

/** Stream one blob into OUT_DIR with its sha256 checked; `done` once it is written. */
function pullBlob(digest, done) {
  get(`/v2/${repo}/blobs/${digest}`, {}, (res) => {
    const hash = createHash('sha256');
    const file = createWriteStream(path.join(outDir, digest.slice('sha256:'.length)));
    res.on('data', (chunk) => hash.update(chunk));
    res.pipe(file);
    file.on('finish', () => {
      if (`sha256:${hash.digest('hex')}` !== digest) fail(`${digest}: wrong digest`);
      done();
    });
  });
}

get(`/v2/${repo}/manifests/${tag}`, { accept }, (res) => {
  const parts = [];
  res.on('data', (chunk) => parts.push(chunk));
  res.on('end', () => {
    const body = Buffer.concat(parts);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    writeFileSync(path.join(outDir, 'manifest.json'), body);
    const manifest = JSON.parse(body.toString('utf8'));
    const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    let left = blobs.length;
    for (const blob of blobs) {
      pullBlob(blob, () => {
        left -= 1;
        if (left === 0) {
          process.stdout.write(`${digest}\n`);
          agent.destroy();
        }
      });
    }
  });
});
