// The JavaScript peer: pull an image's manifest, config and every layer to files with
// @snyk/docker-registry-v2-client (installed by the bench into its cache, not a project
// dependency), layers downloaded in parallel. Its default Accept header lacks the OCI types,
// which distribution 2.8 answers with 404, so send all four.
// Usage: node snyk-pull.mjs PEER_DIR HOST REPO TAG OUT_DIR

import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const [peerDir, host, repo, tag, outDir] = process.argv.slice(2);
const require = createRequire(path.join(peerDir, 'package.json'));
const client = require('@snyk/docker-registry-v2-client');

const options = {
  protocol: 'http:',
  acceptManifest: [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
  ].join(', '),
  acceptLayer:
    'application/vnd.oci.image.layer.v1.tar+gzip, application/vnd.oci.image.layer.v1.tar+zstd, application/vnd.docker.image.rootfs.diff.tar.gzip, */*',
};
const manifest = await client.getManifest(host, repo, tag, undefined, undefined, options);
const config = await client.getImageConfig(
  host,
  repo,
  manifest.config.digest,
  undefined,
  undefined,
  options,
);
await writeFile(path.join(outDir, 'config.json'), JSON.stringify(config));
await Promise.all(
  manifest.layers.map((l) =>
    client.downloadLayer(
      path.join(outDir, l.digest.replace(':', '-')),
      host,
      repo,
      l.digest,
      undefined,
      undefined,
      options,
    ),
  ),
);
process.stdout.write(`${manifest.layers.length}\n`);
