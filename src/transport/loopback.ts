import { isIP } from 'node:net';

/** Split `host[:port]` (IPv6 in brackets) into host name and optional port. */
export function splitHostPort(hostPort: string): { host: string; port?: number } {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    const host = hostPort.slice(1, end);
    const rest = hostPort.slice(end + 1);
    return rest.startsWith(':') ? { host, port: Number(rest.slice(1)) } : { host };
  }
  const colon = hostPort.lastIndexOf(':');
  if (colon >= 0 && hostPort.indexOf(':') === colon) {
    return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
  }
  return { host: hostPort };
}

/**
 * True for registries on this machine (localhost, 127.0.0.0/8, ::1). Only these may fall
 * back to plain HTTP without being told, as docker and containers/image allow.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const { host } = splitHostPort(registry);
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}
