// The floor of `ocipeek inspect --json`: the least a Node program does for it. Two
// sequential requests, as inspect (and skopeo inspect) make them: GET the manifest with the
// Accept header ocipeek sends, sha256 it, parse it, then GET the config blob it names on
// the same keep-alive connection, check the blob's sha256 against that digest and parse
// it; print the manifest's digest. CommonJS, as the ocipeek bundle is (no ES module loader
// to start).
// Usage: node inspect-floor.cjs HOST:PORT REPO TAG
const http = require('node:http');
const { createHash } = require('node:crypto');

const [hostPort, repo, tag] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const accept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** GET `path`; call back with the body and its sha256 digest. */
function get(path, headers, done) {
  http.get({ host, port: Number(port), path, headers, agent }, (res) => {
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
    const hash = createHash('sha256');
    const chunks = [];
    res.on('data', (chunk) => {
      hash.update(chunk);
      chunks.push(chunk);
    });
    res.on('end', () => done(Buffer.concat(chunks), `sha256:${hash.digest('hex')}`));
  });
}

get(`/v2/${repo}/manifests/${tag}`, { accept }, (manifestBytes, manifestDigest) => {
  const { config } = JSON.parse(manifestBytes.toString('utf8'));
  get(`/v2/${repo}/blobs/${config.digest}`, {}, (configBytes, configDigest) => {
    if (configDigest !== config.digest) throw new Error(`config is ${configDigest}`);
    JSON.parse(configBytes.toString('utf8'));
    agent.destroy();
    process.stdout.write(`${manifestDigest}\n`);
  });
});
