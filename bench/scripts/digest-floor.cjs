// The start-up floor of `ocipeek digest`: the least a Node program does for it. One GET of
// the manifest with the Accept header ocipeek sends, sha256 of the body, print the digest.
// CommonJS, as the ocipeek bundle is (no ES module loader to start).
// Usage: node digest-floor.cjs HOST:PORT REPO TAG
const http = require('node:http');
const { createHash } = require('node:crypto');

const [hostPort, repo, tag] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const accept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
http.get(
  { host, port: Number(port), path: `/v2/${repo}/manifests/${tag}`, headers: { accept } },
  (res) => {
    const hash = createHash('sha256');
    res.on('data', (chunk) => hash.update(chunk));
    res.on('end', () => process.stdout.write(`sha256:${hash.digest('hex')}\n`));
  },
);
