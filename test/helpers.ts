/** Small helpers shared by the test files. */
import v8 from 'node:v8';
import vm from 'node:vm';

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

/** `gc()`, made available in this process (no `--expose-gc` needed). */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose_gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** Bytes of heap in use after full collections: the figure a retention test compares. */
export async function retainedHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}
