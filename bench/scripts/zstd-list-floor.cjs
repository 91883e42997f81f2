// The least a Node program does to list a zstd image remotely: GET the manifest, GET its
// one layer blob, decode it with the system's libzstd through koffi (the path ocipeek
// uses: Node 20 has no zstd in zlib, and koffi's async calls put the decoding on a worker
// thread while the main thread keeps reading the socket), walk the tar headers and print
// one line per entry (type, size, name). No digest check, no store, no cache, no
// whiteouts, no merged tree. Steps of 4 MiB of output into one reused buffer: the headers
// are read before the next step writes over it. CommonJS, as the ocipeek bundle is.
// Usage: node zstd-list-floor.cjs HOST:PORT REPO TAG
const http = require('node:http');
const koffi = require('koffi');

const [hostPort, repo, tag] = process.argv.slice(2);
const [host, port] = hostPort.split(':');
const agent = new http.Agent({ keepAlive: true });

function fail(message) {
  process.stderr.write(`zstd-list-floor: ${message}\n`);
  process.exit(1);
}

function get(urlPath, headers, onResponse) {
  const req = http.get({ host, port: Number(port), path: urlPath, headers, agent }, (res) => {
    if (res.statusCode !== 200) fail(`${urlPath}: HTTP ${res.statusCode}`);
    onResponse(res);
  });
  req.on('error', (err) => fail(`${urlPath}: ${err.message}`));
}

// Node's own zstd symbols where it exports them (Node >= 22.15), else libzstd.so.1.
let lib = koffi.load(null);
try {
  lib.func('unsigned int ZSTD_versionNumber()');
} catch {
  lib = koffi.load(process.platform === 'darwin' ? 'libzstd.1.dylib' : 'libzstd.so.1');
}
koffi.struct('floor_zstd_in', { data: 'const void *', size: 'size_t', pos: 'size_t' });
koffi.struct('floor_zstd_out', { data: 'void *', size: 'size_t', pos: 'size_t' });
const createDCtx = lib.func('void *ZSTD_createDCtx()');
const isError = lib.func('unsigned int ZSTD_isError(size_t code)');
const decompressStream = lib.func(
  'size_t ZSTD_decompressStream(void *dctx, _Inout_ floor_zstd_out *output, _Inout_ floor_zstd_in *input)',
);

/** Walks tar headers across output steps; prints one line per entry. */
function tarWalker() {
  let skip = 0; // bytes of entry data (padded) still to pass over
  const header = Buffer.alloc(512);
  let have = 0; // bytes of a header split across two steps
  let longName = null;
  let lines = [];
  let ended = false;
  const field = (b, at, len) => {
    const end = b.indexOf(0, at);
    return b.latin1Slice(at, end === -1 || end > at + len ? at + len : end);
  };
  const onHeader = (h) => {
    if (h[0] === 0) {
      ended = true;
      return;
    }
    const size = Number.parseInt(field(h, 124, 12), 8) || 0;
    const type = String.fromCharCode(h[156] || 48);
    skip = Math.ceil(size / 512) * 512;
    if (type === 'L' || type === 'x') {
      // The entry's data holds the next entry's name: read it, do not skip it.
      pending = { type, size, parts: [] };
      return;
    }
    let name = longName ?? field(h, 0, 100);
    if (!longName && h.latin1Slice(257, 262) === 'ustar' && h[345] !== 0) {
      name = `${field(h, 345, 155)}/${name}`;
    }
    longName = null;
    lines.push(`${type} ${size} ${name}\n`);
    if (lines.length >= 512) flush();
  };
  let pending = null;
  const flush = () => {
    if (lines.length) process.stdout.write(lines.join(''));
    lines = [];
  };
  return {
    push(b) {
      let at = 0;
      while (at < b.length && !ended) {
        if (skip > 0) {
          const n = Math.min(skip, b.length - at);
          if (pending) pending.parts.push(Buffer.from(b.subarray(at, at + n)));
          skip -= n;
          at += n;
          if (skip === 0 && pending) {
            const data = Buffer.concat(pending.parts).subarray(0, pending.size);
            if (pending.type === 'L') longName = field(data, 0, data.length);
            else {
              const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
              if (m) longName = m[1];
            }
            pending = null;
          }
          continue;
        }
        if (have === 0 && b.length - at >= 512) {
          onHeader(b.subarray(at, at + 512));
          at += 512;
          continue;
        }
        const n = Math.min(512 - have, b.length - at);
        b.copy(header, have, at, at + n);
        have += n;
        at += n;
        if (have === 512) {
          have = 0;
          onHeader(header);
        }
      }
    },
    end() {
      flush();
    },
  };
}

/** Decode the blob's response as it arrives, steps of 4 MiB on koffi's worker thread. */
function listLayer(res, done) {
  const dctx = createDCtx();
  const room = Buffer.allocUnsafeSlow(4 << 20);
  const walker = tarWalker();
  const queue = [];
  let input = null;
  let used = 0; // bytes of `input` libzstd has consumed
  let ended = false;
  let running = false;
  let total = 0;
  let full = false; // the last step filled the room: libzstd may hold more output
  const step = () => {
    if (running) return;
    if (!full && (!input || used === input.length)) {
      if (queue.length === 0) {
        if (ended) {
          walker.end();
          done(total);
        }
        return;
      }
      // At most ~1 MiB of input a step: the chunks already read are let go sooner (a
      // whole queued blob joined at once cost 40 MB more memory and ~12k page faults).
      let n = 0;
      let k = 0;
      while (k < queue.length && n < 1 << 20) n += queue[k++].length;
      const data = k === 1 ? queue[0] : Buffer.concat(queue.slice(0, k), n);
      queue.splice(0, k);
      queued -= n;
      if (queued <= 4 << 20 && res.isPaused()) res.resume();
      input = data;
      used = 0;
    }
    // Fresh structs every call: koffi writes the fields back, `data` as a bare pointer,
    // and a struct still holding the Buffer keeps it alive while the call runs.
    const inp = { data: input, size: input.length, pos: used };
    const out = { data: room, size: room.length, pos: 0 };
    running = true;
    decompressStream.async(dctx, out, inp, (err, code) => {
      running = false;
      if (err) fail(String(err));
      if (isError(code)) fail(`zstd error ${code}`);
      used = inp.pos;
      total += out.pos;
      full = out.pos === room.length;
      walker.push(out.pos === room.length ? room : room.subarray(0, out.pos));
      step();
    });
  };
  // At most ~4 MiB read ahead of the decoder: the rest waits in the socket (fewer fresh
  // pages than holding the whole blob in Node's chunks).
  let queued = 0;
  res.on('data', (chunk) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued > 4 << 20) res.pause();
    step();
  });
  res.on('end', () => {
    ended = true;
    step();
  });
}

const accept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
get(`/v2/${repo}/manifests/${tag}`, { accept }, (res) => {
  const parts = [];
  res.on('data', (chunk) => parts.push(chunk));
  res.on('end', () => {
    const manifest = JSON.parse(Buffer.concat(parts).toString('utf8'));
    const layers = manifest.layers.map((l) => l.digest);
    const next = (i) => {
      if (i === layers.length) {
        agent.destroy();
        return;
      }
      get(`/v2/${repo}/blobs/${layers[i]}`, {}, (blob) => listLayer(blob, () => next(i + 1)));
    };
    next(0);
  });
});
