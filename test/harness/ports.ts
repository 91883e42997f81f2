import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now.
 *
 * The kernel picks it (listen on port 0), then the socket is closed so a child process can
 * bind it. Another process could take the port in between; callers that spawn servers on it
 * retry with a fresh port when the bind fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listening socket has no TCP address'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
