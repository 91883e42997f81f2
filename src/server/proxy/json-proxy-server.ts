import { InvalidArgumentError } from '../../errors/index.js';
import {
  closeFd,
  receivePacket,
  sendPacketWaiting,
  shutdownSocket,
  socketType,
  trySendPacket,
} from '../../native/socket.js';
import { encodeReply, JsonProxyHandler, type JsonReply } from './json-proxy-handler.js';

/*
 * skopeo's `experimental-image-proxy` transport: one JSON request per SOCK_SEQPACKET
 * packet, one reply per request, in order, the read ends of pipes riding along as
 * SCM_RIGHTS (native/socket.ts for why through koffi).
 */

/** The largest request or reply packet (skopeo's `maxMsgSize`). */
export const MAX_PACKET = 32 * 1024;

/** How a served socket ended: `Shutdown` or the end of input. */
export type JsonProxyEnd = 'shutdown' | 'end';

/** Options of {@link serveJsonProxy}. */
export interface ServeJsonProxyOptions {
  /** Stops serving (the socket is shut down). */
  signal?: AbortSignal;
  /** One line per request and reply (for `--debug`). */
  log?: (line: string) => void;
}

/** Check that `fd` is a SOCK_SEQPACKET socket, with an error that says what it is. */
export function checkPacketSocket(fd: number): void {
  let type: string;
  try {
    type = socketType(fd);
  } catch (err) {
    throw new InvalidArgumentError(
      `fd ${fd} is not a socket (${(err as Error).message}): the JSON protocol needs a SOCK_SEQPACKET socket`,
    );
  }
  if (type !== 'seqpacket') {
    throw new InvalidArgumentError(
      `fd ${fd} is a ${type} socket: the JSON protocol needs a SOCK_SEQPACKET socket`,
    );
  }
}

async function send(fd: number, reply: JsonReply, log?: (line: string) => void): Promise<void> {
  try {
    let packet = encodeReply(reply);
    if (packet.length > MAX_PACKET) {
      reply.sent?.();
      reply = {
        value: null,
        pipeid: 0,
        fds: [],
        error: {
          message: `reply of ${packet.length} bytes is over the ${MAX_PACKET}-byte packet limit (GetLayerInfoPiped sends it through a pipe)`,
          code: 'other',
        },
      };
      packet = encodeReply(reply);
    }
    log?.(`< ${packet.toString()}${reply.fds.length ? ` (fds ${reply.fds.join(', ')})` : ''}`);
    if (!trySendPacket(fd, packet, reply.fds)) await sendPacketWaiting(fd, packet, reply.fds);
  } finally {
    reply.sent?.();
  }
}

/**
 * Serve the JSON protocol on SEQPACKET socket `fd` with `handler` until `Shutdown` (after
 * the replies before it went out) or the end of input. The handler is closed (transfers
 * aborted, images closed) and `fd` with it.
 */
export async function serveJsonProxy(
  fd: number,
  handler: JsonProxyHandler,
  options: ServeJsonProxyOptions = {},
): Promise<JsonProxyEnd> {
  checkPacketSocket(fd);
  const { signal, log } = options;
  const onAbort = () => shutdownSocket(fd);
  signal?.addEventListener('abort', onAbort, { once: true });
  const buffer = Buffer.allocUnsafe(MAX_PACKET);
  let replies: Promise<void> = Promise.resolve();
  let sendError: unknown;
  try {
    for (;;) {
      const length = await receivePacket(fd, buffer);
      if (length === 0) return 'end';
      const packet = Buffer.from(buffer.subarray(0, Math.min(length, MAX_PACKET)));
      log?.(`> ${length > MAX_PACKET ? `(${length} bytes)` : packet.toString()}`);
      const outcome =
        length > MAX_PACKET
          ? JsonProxyHandler.refusal(
              `invalid request: packet of ${length} bytes is over the ${MAX_PACKET}-byte limit`,
            )
          : await handler.handle(packet);
      if (outcome.shutdown) {
        await replies;
        return 'shutdown';
      }
      replies = replies
        .then(() => outcome.reply)
        .then((reply) => send(fd, reply, log))
        .catch((err: unknown) => {
          sendError ??= err;
        });
      if (sendError) throw sendError;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await handler.close();
    // Pending replies settle quickly now (aborted pipes, a closed peer); no call may still
    // be using the fd when it is closed.
    await replies;
    closeFd(fd);
  }
}
