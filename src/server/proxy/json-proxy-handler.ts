import type { Readable } from 'node:stream';
import {
  DigestMismatchError,
  NetworkError,
  NotFoundError,
  RegistryError,
  SizeMismatchError,
} from '../../errors/index.js';
import { errorCode } from '../../transport/network-errors.js';
import { goObject, goString, goValue } from './go-json.js';
import {
  checkDigest,
  goTypeOf,
  type ProxyRequest,
  ProxyRequestError,
  parseImageId,
  parseRequest,
  parseUint64,
} from './json-proxy-args.js';
import { PipeTransfer, type TransferFailure } from './pipe-transfer.js';
import type { ProxyImage } from './proxy-image.js';

/** The protocol version ocipeek implements (skopeo's numbering). */
export const JSON_PROXY_VERSION = '0.2.8';

/** `error_code` of a failed reply (protocol 0.2.8). */
type ErrorCode = 'EPIPE' | 'retryable' | 'other';

/** A reply, before it is encoded and sent. */
export interface JsonReply {
  value: unknown;
  pipeid: number;
  /** Read ends of pipes for the client (SCM_RIGHTS), in order. */
  fds: number[];
  error?: { message: string; code: ErrorCode };
  /** Runs once the reply was sent, or could not be (releases the proxy's copies of fds). */
  sent?: () => void;
}

/** What a request led to: a reply (possibly still waiting on a pipe), or `Shutdown`. */
export type JsonOutcome = { shutdown: true } | { shutdown: false; reply: Promise<JsonReply> };

/** Options of {@link JsonProxyHandler}. */
export interface JsonProxyHandlerOptions {
  /** Open `TRANSPORT:REF` (reading its manifest; an absent image throws NotFoundError). */
  openImage(name: string): Promise<ProxyImage>;
}

/** The reply's JSON text, field for field as skopeo's Go struct writes it. */
export function encodeReply(reply: JsonReply): Buffer {
  return Buffer.from(
    goObject([
      ['success', reply.error ? 'false' : 'true'],
      ['value', goValue(reply.value)],
      ['pipeid', String(reply.pipeid)],
      ['error_code', goString(reply.error?.code ?? '')],
      ['error', goString(reply.error?.message ?? '')],
    ]),
  );
}

function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof RegistryError) return err.status === 429 || err.status >= 500;
  return errorCode(err)?.startsWith('ETIMEDOUT') ?? false;
}

/** A failure as the reply reports it, in skopeo's words where it has them. */
function failure(err: unknown, expectedDigest?: string): NonNullable<JsonReply['error']> {
  if (errorCode(err) === 'EPIPE') return { message: 'write |1: broken pipe', code: 'EPIPE' };
  const code: ErrorCode = isRetryable(err) ? 'retryable' : 'other';
  if (err instanceof DigestMismatchError && expectedDigest) {
    return { message: `corrupted blob, expecting ${expectedDigest}`, code };
  }
  if (err instanceof SizeMismatchError) {
    return { message: `expected ${err.expected} bytes in blob, got ${err.actual}`, code };
  }
  return { message: err instanceof Error ? err.message : String(err), code };
}

function done(value: unknown = null, extra: Partial<JsonReply> = {}): JsonReply {
  return { value, pipeid: 0, fds: [], ...extra };
}

/**
 * The methods of skopeo's `experimental-image-proxy` protocol: state (images, pipes) and
 * one call per request. Requests run one after another, as in skopeo, but a
 * `FinishPipe` only makes its own reply wait for its pipe: later requests run meanwhile
 * (their replies still go out in order, after it).
 */
export class JsonProxyHandler {
  private initialized = false;
  private imageSerial = 0;
  private readonly images = new Map<number, ProxyImage>();
  /** Pipes waiting for `FinishPipe`, by pipeid (the write end's fd, as in skopeo). */
  private readonly pipes = new Map<
    number,
    { transfer: PipeTransfer; check?: () => string | undefined; digest?: string }
  >();
  /** Pipes closing on their own (`GetRawBlob`), aborted if the proxy stops first. */
  private readonly detached = new Set<PipeTransfer>();

  constructor(private readonly options: JsonProxyHandlerOptions) {}

  /**
   * Run one request packet. Resolves once the request ran; the reply it gives may still
   * wait (`FinishPipe` waits for its pipe).
   */
  async handle(packet: Buffer): Promise<JsonOutcome> {
    let request: ProxyRequest;
    try {
      request = parseRequest(packet);
    } catch (err) {
      return { shutdown: false, reply: Promise.resolve(done(null, { error: failure(err) })) };
    }
    if (request.method === 'Shutdown') return { shutdown: true };
    try {
      const result = await this.call(request);
      return { shutdown: false, reply: 'later' in result ? result.later : Promise.resolve(result) };
    } catch (err) {
      return { shutdown: false, reply: Promise.resolve(done(null, { error: failure(err) })) };
    }
  }

  /** A reply for a request refused before it was read (too large, say). */
  static refusal(message: string): JsonOutcome {
    return {
      shutdown: false,
      reply: Promise.resolve(done(null, { error: { message, code: 'other' } })),
    };
  }

  private async call({
    method,
    args,
  }: ProxyRequest): Promise<JsonReply | { later: Promise<JsonReply> }> {
    switch (method) {
      case 'Initialize':
        if (args.length !== 0)
          throw new ProxyRequestError('invalid request, expecting zero arguments');
        if (this.initialized) throw new ProxyRequestError('already initialized');
        this.initialized = true;
        return done(JSON_PROXY_VERSION);
      case 'OpenImage':
      case 'OpenImageOptional':
        return this.openImage(args, method === 'OpenImageOptional');
      case 'CloseImage': {
        this.requireInitialized();
        this.requireArgs(args, 1, 'invalid request, expecting one argument');
        const id = parseImageId(args[0]);
        const image = this.image(args[0]);
        this.images.delete(id);
        await image.close();
        return done();
      }
      case 'GetManifest': {
        this.requireInitialized();
        this.requireArgs(args, 1, 'invalid request, expecting one argument');
        const { digest, bytes } = await this.image(args[0]).ociManifest();
        return this.pipeReply(digest, bytes);
      }
      case 'GetFullConfig':
      case 'GetConfig': {
        this.requireInitialized();
        this.requireArgs(args, 1, 'invalid request, expecting: [imgid]');
        const config = await this.image(args[0]).goConfig();
        return this.pipeReply(null, method === 'GetConfig' ? config.runtime : config.full);
      }
      case 'GetBlob':
        return this.getBlob(args);
      case 'GetRawBlob':
        return this.getRawBlob(args);
      case 'GetLayerInfo':
      case 'GetLayerInfoPiped': {
        this.requireInitialized();
        this.requireArgs(args, 1, `found ${args.length} args, expecting (imgid)`);
        const layers = await this.image(args[0]).layerInfo();
        if (method === 'GetLayerInfo') return done(layers);
        return this.pipeReply(null, Buffer.from(goValue(layers)));
      }
      case 'FinishPipe':
        return this.finishPipe(args);
      default:
        throw new ProxyRequestError(`unknown method: ${method}`);
    }
  }

  private requireInitialized(): void {
    if (!this.initialized) throw new ProxyRequestError('client error: must invoke Initialize');
  }

  private requireArgs(args: unknown[], count: number, message: string): void {
    if (args.length !== count) throw new ProxyRequestError(message);
  }

  private image(idArg: unknown): ProxyImage {
    const id = parseImageId(idArg);
    const image = this.images.get(id);
    if (!image) throw new ProxyRequestError(`no image ${id}`);
    return image;
  }

  private async openImage(args: unknown[], optional: boolean): Promise<JsonReply> {
    this.requireInitialized();
    this.requireArgs(args, 1, 'invalid request, expecting one argument');
    const name = args[0];
    if (typeof name !== 'string') {
      throw new ProxyRequestError(`expecting string imageref, not ${goTypeOf(name)}`);
    }
    let image: ProxyImage;
    try {
      image = await this.options.openImage(name);
    } catch (err) {
      if (optional && err instanceof NotFoundError) return done(0);
      throw err;
    }
    const id = ++this.imageSerial;
    this.images.set(id, image);
    return done(id);
  }

  /** A reply carrying `bytes` through a new pipe, finished by `FinishPipe`. */
  private pipeReply(value: unknown, bytes: Buffer): JsonReply {
    const transfer = new PipeTransfer();
    transfer.start(bytes);
    return this.pipeWaitingForFinish(value, transfer);
  }

  private pipeWaitingForFinish(
    value: unknown,
    transfer: PipeTransfer,
    extra: { check?: () => string | undefined; digest?: string } = {},
  ): JsonReply {
    this.pipes.set(transfer.writeFd, { transfer, ...extra });
    return done(value, {
      pipeid: transfer.writeFd,
      fds: [transfer.readFd],
      sent: () => transfer.releaseReadEnd(),
    });
  }

  private async openBlobArgs(
    args: unknown[],
    count: number,
    usage: string,
  ): Promise<{ digest: string; clientSize?: number; size: number; stream: Readable }> {
    this.requireInitialized();
    this.requireArgs(args, count, `found ${args.length} args, expecting ${usage}`);
    const image = this.image(args[0]);
    const digest = args[1];
    if (typeof digest !== 'string') throw new ProxyRequestError('expecting string blobid');
    const clientSize = count === 3 ? parseUint64(args[2]) : undefined;
    checkDigest(digest);
    const opened = await image.openBlob(digest, clientSize);
    return { digest, clientSize, ...opened };
  }

  private async getBlob(args: unknown[]): Promise<JsonReply> {
    const blob = await this.openBlobArgs(args, 3, '(imgid, digest, size)');
    const transfer = new PipeTransfer();
    transfer.start(blob.stream);
    // skopeo streams the whole blob and then compares with the size the client gave.
    const check = () =>
      blob.clientSize !== blob.size
        ? `expected ${blob.clientSize} bytes in blob, got ${transfer.written}`
        : undefined;
    return this.pipeWaitingForFinish(blob.size, transfer, { check, digest: blob.digest });
  }

  private async getRawBlob(args: unknown[]): Promise<JsonReply> {
    const blob = await this.openBlobArgs(args, 2, '(imgid, digest)');
    const data = new PipeTransfer();
    const errors = new PipeTransfer();
    data.start(blob.stream);
    this.detached.add(data).add(errors);
    // No FinishPipe: the data pipe closes at the end, the error pipe carries
    // {"code","message"} when the transfer failed, then closes too.
    void data.close().then(async (failed) => {
      const error = failed ? failure(failed.error, blob.digest) : undefined;
      errors.start(
        Buffer.from(
          error
            ? goObject([
                ['code', goString(error.code)],
                ['message', goString(error.message)],
              ])
            : '',
        ),
      );
      await errors.close();
      this.detached.delete(data);
      this.detached.delete(errors);
    });
    return done(blob.size, {
      fds: [data.readFd, errors.readFd],
      sent: () => {
        data.releaseReadEnd();
        errors.releaseReadEnd();
      },
    });
  }

  /** Take the pipe out of the table now; the reply waits until its transfer ended. */
  private finishPipe(args: unknown[]): { later: Promise<JsonReply> } {
    if (args.length === 0) throw new ProxyRequestError('found 0 args, expecting (pipeid)');
    const id = parseUint64(args[0]) >>> 0;
    const pipe = this.pipes.get(id);
    if (!pipe) throw new ProxyRequestError(`finishpipe: no active pipe ${id}`);
    this.pipes.delete(id);
    const later = pipe.transfer.close().then((failed: TransferFailure | undefined) => {
      if (failed) return done(null, { error: failure(failed.error, pipe.digest) });
      const mismatch = pipe.check?.();
      return done(null, mismatch ? { error: { message: mismatch, code: 'other' } } : {});
    });
    return { later };
  }

  /** Stop: abort every transfer and close every image. */
  async close(): Promise<void> {
    for (const { transfer } of this.pipes.values()) transfer.abort();
    for (const transfer of this.detached) transfer.abort();
    this.pipes.clear();
    this.detached.clear();
    const images = [...this.images.values()];
    this.images.clear();
    await Promise.allSettled(images.map((image) => image.close()));
  }
}
