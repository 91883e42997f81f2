import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { tls as loadTls } from '../node/lazy-builtins.js';
import { ChunkedDecoder } from './chunked-decoder.js';
import { HttpTimeoutError } from './http-timeout-error.js';
import {
  type BodyFraming,
  bodyFraming,
  findHeadEnd,
  HttpParseError,
  keepsAlive,
  MAX_HEAD_BYTES,
  parseResponseHead,
  startsLikeHttp,
} from './http1-head.js';
import { ReadBuffers } from './read-buffers.js';
import { type BodyFlow, ResponseBody } from './response-body.js';

/**
 * One HTTP/1.1 connection of the project's own client, plain or over TLS, used for GET and
 * HEAD requests (blob downloads above all).
 *
 * Why not `node:http`/`node:https` here: their parser (llhttp, node_http_parser.cc) copies
 * every body chunk into a new Buffer, external memory that lives until V8's garbage
 * collector gets to it, so while a blob streams glibc keeps handing out fresh pages.
 * Measured on a loopback registry: pulling a 49 MB layer made 13,100 minor page faults and
 * peaked at 86 MB RSS, ~11,000 faults (every body byte) more than skopeo; over TLS, where
 * each 16 KiB record was a Buffer of its own before the parser copied it again, 95 MB.
 * This connection reads with `onread` (which `tls.connect` honours too: the decrypted
 * records are copied straight into the buffer given) into five reused buffers
 * (`read-buffers.ts`, {@link PLAIN_READS}), and hands the body on as views of them
 * (`ResponseBody.pipeTo`), so a pull touches the same few pages over and over. The status
 * line and headers are parsed here, strictly and bounded (`http1-head.ts`), the body
 * framed by `Content-Length`, chunked coding (`chunked-decoder.ts`) or the end of the
 * connection. Requests with a body keep `node:http`/`node:https`.
 */

/** What one request needs. */
export interface Http1Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** Sees the length of every piece of body as it is read (transfer stats). */
  onBodyBytes?: (n: number) => void;
}

/** A response whose head arrived; `body` must be read, piped or destroyed. */
export interface Http1Response {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
}

/** Timeouts, in milliseconds. */
export interface Http1Timeouts {
  /** Connect, send, and receive the response head. */
  timeoutMs: number;
  /** Longest silence while a body streams (not counted while the consumer holds it up). */
  bodyTimeoutMs: number;
  /** An unused kept-alive connection closes after this long. */
  idleTimeoutMs: number;
}

/** What a connection tells the pool that owns it. */
export interface ConnectionOwner {
  /** The response is complete and the connection can carry another request. */
  free(connection: Http1Connection): void;
  /** The connection is gone. */
  closed(connection: Http1Connection): void;
  /** The TLS server offered a session to resume on later connections. */
  session?(session: Buffer): void;
}

/**
 * How a connection reads. Plain: every read starts a whole 256 KiB view, so the kernel can
 * hand over as much as it has in one read (packing reads behind each other made them
 * smaller: twice the reads and writes for a 49 MB blob). TLS hands over one record (at most
 * 16 KiB) per read: records are packed into 128 KiB views, so a sink writing them to a
 * file gets runs of neighbours, and fewer, smaller views keep a TLS pull's memory down.
 */
const PLAIN_READS = { views: 5, bytes: 256 * 1024, minRoom: 256 * 1024 };
const TLS_READS = { views: 5, bytes: 128 * 1024, minRoom: 16 * 1024 };
/** Gathered body bytes are handed on at this size at the latest (see `deliver`). */
const MAX_GATHERED = 64 * 1024;

/**
 * Opens a secure connection other than through `tls.connect` (RA-TLS); the socket it
 * returns reads through `onread` like a `net.Socket` and ends like one.
 */
export type SecureConnect = (
  target: { host: string; port: number },
  onread?: net.OnReadOpts,
) => net.Socket;

/** Where a connection goes: host, port, and for TLS the options of `tls.connect`. */
export interface Http1Target {
  host: string;
  port: number;
  /** Speak TLS with these options (trust, client certificate, SNI, session); plain when absent. */
  tls?: () => ConnectionOptions;
  /** Speak TLS through this instead of `tls.connect` (takes precedence over `tls`). */
  connect?: SecureConnect;
}

interface Exchange {
  request: Http1Request;
  resolve(response: Http1Response): void;
  reject(err: Error): void;
  onAbort(): void;
  /** The part of a head that arrived in earlier reads. */
  headPart?: Buffer;
  body?: ResponseBody;
  framing?: BodyFraming;
  /** Body bytes still to come (`length` framing). */
  remaining: number;
  chunked?: ChunkedDecoder;
  keepAlive: boolean;
  done: boolean;
}

/** Errors `node:http` gives a connection the server closed: `code` ECONNRESET. */
function connectionReset(message: 'socket hang up' | 'aborted'): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The request line and header fields; refuses names and values that would split lines. */
function requestHead(request: Http1Request): string {
  const { method, url, headers } = request;
  if (!TOKEN.test(method)) throw invalidRequest('ERR_INVALID_HTTP_TOKEN', `method ${method}`);
  let fields = '';
  let host = false;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw invalidRequest('ERR_INVALID_HTTP_TOKEN', `header name ${name}`);
    if (/[\r\n\0]/.test(value)) throw invalidRequest('ERR_INVALID_CHAR', `value of ${name}`);
    if (name.toLowerCase() === 'host') host = true;
    fields += `${name}: ${value}\r\n`;
  }
  if (!host) fields = `host: ${url.host}\r\n${fields}`;
  return `${method} ${url.pathname}${url.search} HTTP/1.1\r\n${fields}\r\n`;
}

function invalidRequest(code: string, what: string): Error {
  return Object.assign(new TypeError(`invalid HTTP request: ${what}`), { code });
}

/** One keep-alive HTTP/1.1 connection; one request at a time. */
export class Http1Connection {
  private readonly socket: net.Socket;
  private readonly buffers: ReadBuffers;
  private exchange: Exchange | undefined;
  /** Body bytes read but not yet handed on: `start..end` of the slab `memory`, in `view`. */
  private gathered:
    | { exchange: Exchange; view: number; memory: ArrayBufferLike; start: number; end: number }
    | undefined;
  /** False while this side stopped reading (consumer behind, or every buffer held). */
  private reading = true;
  private closed = false;
  /** Responses completed on this connection (more than 0: it was reused). */
  completed = 0;

  constructor(
    target: Http1Target,
    private readonly timeouts: Http1Timeouts,
    private readonly owner: ConnectionOwner,
  ) {
    const { host, port } = target;
    const reads = target.tls || target.connect ? TLS_READS : PLAIN_READS;
    this.buffers = new ReadBuffers(reads.views, reads.bytes, reads.minRoom);
    const onread = {
      buffer: () => this.buffers.next(),
      callback: (n: number, buffer: Uint8Array) => this.onRead(n, buffer as Buffer),
    };
    // `tls.connect` documents `onread` (used when it makes the socket itself); @types/node
    // lacks it, hence the widened type.
    const secure: (ConnectionOptions & { onread: net.OnReadOpts }) | undefined =
      target.tls && !target.connect ? { ...target.tls(), host, port, onread } : undefined;
    this.socket = target.connect
      ? target.connect({ host, port }, onread)
      : secure
        ? loadTls().connect(secure)
        : net.connect({ host, port, onread });
    this.socket.setNoDelay(true);
    if (target.tls) this.socket.on('session', (session: Buffer) => owner.session?.(session));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () =>
      this.destroy(connectionReset(this.exchange?.body ? 'aborted' : 'socket hang up')),
    );
    this.socket.on('timeout', () => this.onTimeout());
  }

  /** Send a request; resolves once the response head arrived. */
  send(request: Http1Request): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      const { signal } = request;
      if (signal?.aborted) throw abortError(signal);
      if (this.closed || this.exchange) throw connectionReset('socket hang up');
      const head = requestHead(request);
      const exchange: Exchange = {
        request,
        resolve,
        reject,
        onAbort: () => {
          if (this.exchange === exchange) this.fail(abortError(signal as AbortSignal));
        },
        remaining: 0,
        keepAlive: false,
        done: false,
      };
      this.exchange = exchange;
      signal?.addEventListener('abort', exchange.onAbort, { once: true });
      this.socket.ref();
      this.socket.setTimeout(this.timeouts.timeoutMs);
      this.socket.write(head, 'latin1');
    });
  }

  /** Close the connection; a response in progress fails with `err`. */
  destroy(err?: Error): void {
    if (err) this.fail(err);
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.owner.closed(this);
  }

  /** Mark the connection unused: it must not keep the process alive, and closes when idle. */
  idle(): void {
    this.socket.unref();
    this.socket.setTimeout(this.timeouts.idleTimeoutMs);
  }

  private onRead(n: number, buffer: Buffer): boolean {
    const view = this.buffers.landed(n);
    const exchange = this.exchange;
    if (!exchange) {
      this.destroy(); // bytes nobody asked for: the connection's state is unknown
      return false;
    }
    let at = 0;
    try {
      while (at < n && !exchange.done) {
        at = exchange.body
          ? this.readBody(exchange, buffer, view, at, n)
          : this.readHead(exchange, buffer, at, n);
      }
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    if (exchange.done) {
      // Bytes after the end of a response (more than its Content-Length) leave the
      // connection in an unknown state: it is not reused.
      if (exchange.keepAlive && at === n && !this.closed) this.owner.free(this);
      else this.destroy();
    }
    return this.keepReading();
  }

  /** Read (part of) a response head; returns where the body starts, or `end`. */
  private readHead(exchange: Exchange, buffer: Buffer, at: number, end: number): number {
    let bytes: Buffer = buffer;
    let from = at;
    const part = exchange.headPart;
    if (part) {
      bytes = Buffer.concat([part, buffer.subarray(at, end)]);
      from = 0;
    }
    const limit = bytes === buffer ? end : bytes.length;
    // A port that is not HTTP (an SSH banner) never sends a blank line: say so at once,
    // as llhttp does, rather than wait for the timeout.
    if (!startsLikeHttp(bytes, from, limit)) {
      throw new HttpParseError('HPE_INVALID_CONSTANT', 'the answer does not start with "HTTP/"');
    }
    const headEnd = findHeadEnd(bytes, part ? Math.max(0, part.length - 3) : at, limit);
    if (headEnd < 0 ? limit - from > MAX_HEAD_BYTES : headEnd - from > MAX_HEAD_BYTES) {
      throw new HttpParseError('HPE_HEADER_OVERFLOW', `head larger than ${MAX_HEAD_BYTES} bytes`);
    }
    if (headEnd < 0) {
      exchange.headPart = part ? bytes : Buffer.from(buffer.subarray(at, end));
      return end;
    }
    exchange.headPart = undefined;
    const head = parseResponseHead(bytes.toString('latin1', from, headEnd - 4));
    const next = part ? at + (headEnd - part.length) : headEnd;
    if (head.statusCode < 200) {
      if (head.statusCode === 101) {
        throw new HttpParseError('HPE_UNEXPECTED_UPGRADE', 'unexpected protocol switch');
      }
      return next; // an interim answer (100 Continue, 103 Early Hints): the real one follows
    }
    const framing = bodyFraming(exchange.request.method, head);
    exchange.framing = framing;
    exchange.keepAlive = keepsAlive(head) && framing.kind !== 'close';
    exchange.remaining = framing.kind === 'length' ? framing.length : 0;
    if (framing.kind === 'chunked') exchange.chunked = new ChunkedDecoder();
    const body = new ResponseBody(this.flowOf(exchange));
    exchange.body = body;
    this.socket.setTimeout(this.timeouts.bodyTimeoutMs);
    exchange.resolve({ statusCode: head.statusCode, headers: head.headers, body });
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) {
      this.complete(exchange);
    }
    return next;
  }

  /** Read body bytes; returns the index after the last byte that belongs to the body. */
  private readBody(
    exchange: Exchange,
    buffer: Buffer,
    view: number,
    at: number,
    end: number,
  ): number {
    const kind = (exchange.framing as BodyFraming).kind;
    if (kind === 'length') {
      const to = Math.min(end, at + exchange.remaining);
      this.deliver(exchange, buffer, view, at, to);
      exchange.remaining -= to - at;
      if (exchange.remaining === 0) this.complete(exchange);
      return to;
    }
    if (kind === 'chunked') {
      const decoder = exchange.chunked as ChunkedDecoder;
      const used = decoder.decode(buffer, at, end, (from, to) =>
        this.deliver(exchange, buffer, view, from, to),
      );
      if (decoder.done) this.complete(exchange);
      return used;
    }
    this.deliver(exchange, buffer, view, at, end); // `close`: everything until the end
    return end;
  }

  /**
   * Hand body bytes `from..to` of `buffer`, which lies in read view `view`, to the body.
   * Bytes right behind the previous ones in the same view are gathered first and handed on
   * as one piece ({@link flush}): TLS delivers 16 KiB records, and the sink's work per
   * piece (hashing, a promise, queueing a write) is then done once per run of records.
   */
  private deliver(
    exchange: Exchange,
    buffer: Buffer,
    view: number,
    from: number,
    to: number,
  ): void {
    if (to <= from) return;
    const start = buffer.byteOffset + from;
    const gathered = this.gathered;
    if (gathered && gathered.view === view && gathered.end === start && view >= 0) {
      gathered.end += to - from;
      return;
    }
    this.flush();
    this.gathered = { exchange, view, memory: buffer.buffer, start, end: start + (to - from) };
  }

  /** Hand on the bytes {@link deliver} gathered. */
  private flush(): void {
    const gathered = this.gathered;
    if (!gathered) return;
    this.gathered = undefined;
    const { exchange, view, memory, start, end } = gathered;
    exchange.request.onBodyBytes?.(end - start);
    (exchange.body as ResponseBody).write(Buffer.from(memory, start, end - start), view);
  }

  private complete(exchange: Exchange): void {
    this.flush();
    exchange.done = true;
    exchange.request.signal?.removeEventListener('abort', exchange.onAbort);
    this.exchange = undefined;
    this.completed++;
    exchange.body?.end();
  }

  /** After a read: go on reading unless the consumer is behind or no buffer is spare. */
  private keepReading(): boolean {
    if (this.closed) return false;
    const body = this.exchange?.body;
    const wanted = !body || body.wantsData;
    const wasReading = this.reading;
    // Gathered bytes are handed on before their view may be started again, and in runs
    // of at most {@link MAX_GATHERED} bytes.
    const gathered = this.gathered;
    if (gathered && (this.buffers.leavesView() || gathered.end - gathered.start >= MAX_GATHERED)) {
      this.flush();
    }
    this.reading = this.buffers.advance() && wanted;
    if (!wasReading && this.reading) {
      // TLS hands over records it had decrypted after the socket was stopped: the socket
      // is still stopped, so it is started again the usual way.
      this.reading = false;
      queueMicrotask(() => this.resume());
      return false;
    }
    // Time our own consumer holds the connection up is not the server stalling; a body
    // nobody reads at all still times out, so a forgotten response cannot hang a process.
    if (!this.reading && !body?.awaitingConsumer) this.socket.setTimeout(0);
    return this.reading;
  }

  private resume(): void {
    if (this.reading || this.closed) return;
    const exchange = this.exchange;
    if (exchange?.body && !exchange.body.wantsData) return;
    if (!this.buffers.hasSpare()) return;
    this.reading = true;
    const { timeoutMs, bodyTimeoutMs, idleTimeoutMs } = this.timeouts;
    this.socket.setTimeout(exchange ? (exchange.body ? bodyTimeoutMs : timeoutMs) : idleTimeoutMs);
    this.socket.resume();
  }

  private flowOf(exchange: Exchange): BodyFlow {
    return {
      hold: (view) => this.buffers.hold(view),
      release: (handle) => {
        this.buffers.release(handle);
        this.resume();
      },
      resume: () => {
        if (this.exchange === exchange) this.resume();
      },
      abandon: () => {
        if (this.exchange === exchange) this.destroy(connectionReset('aborted'));
      },
    };
  }

  /** The server closed its side: the end of a `close`-framed body, else a failure. */
  private onEnd(): void {
    const exchange = this.exchange;
    if (exchange?.framing?.kind === 'close') this.complete(exchange);
    this.destroy(connectionReset(this.exchange?.body ? 'aborted' : 'socket hang up'));
  }

  private onTimeout(): void {
    const exchange = this.exchange;
    if (!exchange) {
      this.destroy();
      return;
    }
    if (!this.reading && !exchange.body?.awaitingConsumer) return;
    const { timeoutMs, bodyTimeoutMs } = this.timeouts;
    this.destroy(
      exchange.body
        ? new HttpTimeoutError('body', bodyTimeoutMs)
        : new HttpTimeoutError('headers', timeoutMs),
    );
  }

  /** The response in progress (if any) cannot complete. */
  private fail(err: Error): void {
    this.gathered = undefined;
    const exchange = this.exchange;
    if (exchange) {
      this.exchange = undefined;
      exchange.done = true;
      exchange.request.signal?.removeEventListener('abort', exchange.onAbort);
      if (exchange.body) exchange.body.fail(err);
      else exchange.reject(err);
    }
    this.destroy();
  }
}
