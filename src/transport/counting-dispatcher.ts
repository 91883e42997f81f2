import type { TransferStats } from './transfer-stats.js';
import { DecoratorHandler, type Dispatcher } from './undici-parts.js';

/**
 * Counts response body bytes at the connection level. Counting on the response stream
 * would miss bytes undici delivers before the caller's `await` resumes (small bodies
 * arrive whole in one tick) or force the stream into flowing mode; a dispatch handler
 * sees every chunk exactly once, without copying it.
 */
class CountingHandler extends DecoratorHandler {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly stats: TransferStats,
  ) {
    super(handler);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.stats.bytesFetched += chunk.length;
    (DecoratorHandler.prototype as unknown as Dispatcher.DispatchHandler).onResponseData!.call(
      this,
      controller,
      chunk,
    );
  }
}

/** `dispatcher` with every response's body bytes added to `stats.bytesFetched`. */
export function countingDispatcher(dispatcher: Dispatcher, stats: TransferStats): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (options, handler) => dispatch(options, new CountingHandler(handler, stats)),
  );
}
