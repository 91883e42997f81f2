import { InvalidArgumentError } from '../errors/index.js';

/**
 * `options[key]`, which the call `call` cannot do without (a client, a store), else an
 * {@link InvalidArgumentError} naming the call's shape: the public API takes its
 * collaborators in the options object, and a caller still passing them positionally
 * (the shape before) learns that here instead of from a failure further in.
 */
export function requiredOption<T extends object, K extends keyof T & string>(
  options: T | undefined,
  key: K,
  call: string,
): NonNullable<T[K]> {
  const value = options?.[key];
  if (value === undefined || value === null) {
    throw new InvalidArgumentError(`${call}: options.${key} is required`);
  }
  return value as NonNullable<T[K]>;
}
