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
