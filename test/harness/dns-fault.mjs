// Loaded into a CLI run with NODE_OPTIONS="--import=<this file>" to fake DNS for one name:
// lookups of DNS_FAULT_HOST fail with EAI_AGAIN (getaddrinfo's "temporary failure in name
// resolution") DNS_FAULT_FAILS times (-1: always), then resolve to 127.0.0.1; every
// lookup of it appends a line to DNS_FAULT_LOG. Other names resolve as usual. net.connect
// resolves through this same `dns.lookup`, so the product's own sockets meet the fault.
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const host = process.env.DNS_FAULT_HOST;
const fails = Number(process.env.DNS_FAULT_FAILS ?? '-1');
const log = process.env.DNS_FAULT_LOG;
const original = dns.lookup;
let lookups = 0;

dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'object' && options !== null ? options : {};
  if (hostname !== host) return original.call(this, hostname, options, callback);
  lookups++;
  if (log) appendFileSync(log, `lookup ${lookups}\n`);
  process.nextTick(() => {
    if (fails < 0 || lookups <= fails) {
      const err = new Error(`getaddrinfo EAI_AGAIN ${hostname}`);
      Object.assign(err, { code: 'EAI_AGAIN', errno: -3001, syscall: 'getaddrinfo', hostname });
      cb(err);
    } else if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  });
};
syncBuiltinESMExports();
