/**
 * One call per key at a time: callers asking for a key while its call runs share that
 * call's promise (twenty clients asking for one manifest make one upstream request).
 */
export class SingleFlight {
  private readonly running = new Map<string, Promise<unknown>>();

  /** The running call for `key`, or a new one of `work`. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    const call = work().finally(() => this.running.delete(key));
    this.running.set(key, call);
    return call;
  }
}
