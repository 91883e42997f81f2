import { readFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { InvalidArgumentError } from '../../errors/index.js';
import { keepConnectionsAlive } from '../keep-alive.js';
import type { TlsFiles } from './config-file.js';

/** A listening HTTP(S) server that can reload its certificates and drain on close. */
export interface Listener {
  server: Server | HttpsServer;
  /** `https` when serving TLS. */
  scheme: 'http' | 'https';
  /** Read the TLS files again (after a certificate renewal; `SIGHUP`). */
  reload(): Promise<void>;
  /**
   * Stop accepting connections, let requests in flight finish for up to `drainMs`, then
   * cut what is left.
   */
  close(drainMs: number): Promise<void>;
}

async function readTls(files: TlsFiles) {
  const read = (path: string, what: string) =>
    readFile(path).catch((err: unknown) => {
      throw new InvalidArgumentError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    });
  const [cert, key, ca] = await Promise.all([
    read(files.cert, 'TLS certificate'),
    read(files.key, 'TLS key'),
    files.clientCa ? read(files.clientCa, 'client CA') : undefined,
  ]);
  return { cert, key, ca };
}

/**
 * Make the server for `handler`: plain HTTP, or HTTPS from `tls` (with `clientCa`, a
 * client certificate chaining to it is required: mutual TLS). Requests in flight are
 * counted so that closing can wait for them.
 */
export async function createListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls: TlsFiles | undefined,
): Promise<Listener> {
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const counted = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    handler(req, res);
  };
  let server: Server | HttpsServer;
  if (tls) {
    const material = await readTls(tls);
    server = createHttpsServer(
      {
        ...material,
        requestCert: Boolean(tls.clientCa),
        rejectUnauthorized: Boolean(tls.clientCa),
      },
      counted,
    );
  } else {
    server = createHttpServer(counted);
  }
  keepConnectionsAlive(server);
  return {
    server,
    scheme: tls ? 'https' : 'http',
    async reload() {
      if (!tls) return;
      (server as HttpsServer).setSecureContext(await readTls(tls));
    },
    close(drainMs) {
      return new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          if (timer) clearTimeout(timer);
          server.closeAllConnections();
        };
        server.close(() => resolve());
        server.closeIdleConnections();
        if (inFlight === 0) done();
        else {
          idle = done;
          timer = setTimeout(done, drainMs);
          timer.unref?.();
        }
      });
    },
  };
}
