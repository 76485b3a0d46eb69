/** Small helpers shared by the test files. */

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

/** A promise and the function that resolves it. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** What the root entry (`loaderkit`) exports, sorted: pinned by the source and the built package tests. */
export const ROOT_EXPORTS: readonly string[] = [
  'DataLoader',
  'NotFoundError',
  'RequestLoader',
  'cached',
  'createMemoryStore',
  'defineLoaders',
  'loader',
];

/**
 * Waits for `gate`, or rejects with `signal`'s reason as soon as it aborts: a batch function that
 * honours its signal, as README recommends.
 */
export function untilOrAborted(gate: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    void gate.then(resolve);
  });
}
