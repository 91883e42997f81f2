import assert from 'node:assert/strict';
import { connect } from 'node:net';

/**
 * Assert that a server keeps a kept-alive connection open 6 s idle, past the 5 s after
 * which Node closes it by default: `GET path` on one raw connection, wait, `GET` again,
 * two `200` answers. A client still reading a big answer out of the socket buffers sends
 * its next request this late.
 */
export async function assertIdleConnectionKept(url: string, path: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  try {
    let received = '';
    let closed = false;
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
    });
    const answers = () => received.match(/HTTP\/1\.1 200 OK/g)?.length ?? 0;
    const until = async (done: () => boolean) => {
      while (!done() && !closed) await new Promise((r) => setTimeout(r, 20));
    };
    const ask = () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    ask();
    await until(() => answers() === 1);
    await new Promise((r) => setTimeout(r, 6_000));
    assert.equal(closed, false, 'the server closed the idle connection');
    ask();
    await until(() => answers() === 2);
    assert.equal(answers(), 2);
  } finally {
    socket.destroy();
  }
}
