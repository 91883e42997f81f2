// The floor of `ocipeek tags`: the least a Node program does for it. One GET of the
// repository's tag list (`/v2/REPO/tags/list`, the request ocipeek and skopeo list-tags
// make), parse the JSON, print the tags one a line. CommonJS, as the ocipeek bundle is.
// Usage: node tags-floor.cjs HOST:PORT REPO
const http = require('node:http');

const [hostPort, repo] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
http.get({ host, port: Number(port), path: `/v2/${repo}/tags/list` }, (res) => {
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  const chunks = [];
  res.on('data', (chunk) => chunks.push(chunk));
  res.on('end', () => {
    const { tags } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    process.stdout.write(tags.map((t) => `${t}\n`).join(''));
  });
});
