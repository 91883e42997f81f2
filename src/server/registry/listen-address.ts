import { InvalidArgumentError } from '../../errors/index.js';

/** A parsed `host:port`. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parse `host:port`, `[v6]:port` or a bare port (loopback). Port 0 asks the system for a
 * free port. A host is required otherwise, so nothing listens beyond loopback by accident.
 */
export function parseListenAddress(listen: string): ListenAddress {
  const text = listen.trim();
  let host = '127.0.0.1';
  let portText = text;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
  } else if (text.includes(':')) {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '' || host.includes(':')) {
      throw new InvalidArgumentError(
        `invalid listen address "${listen}": use HOST:PORT (e.g. 127.0.0.1:5000, [::1]:5000)`,
      );
    }
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new InvalidArgumentError(`invalid port in listen address "${listen}"`);
  }
  return { host, port: Number(portText) };
}
