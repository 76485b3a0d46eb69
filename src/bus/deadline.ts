/**
 * Deadlines of the invalidation bus and its transports: a signal that aborts after a time, on this
 * process's timers (fake timers in tests move it; unref'd, it keeps no process alive), and a promise
 * raced against a signal.
 */

/** A signal that aborts after `ms`, or when `abort` is called first. */
export function deadline(ms: number): {
  readonly signal: AbortSignal;
  clear(): void;
  abort(why: string): void;
} {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`the invalidation bus gave up after ${ms} ms`)),
    ms,
  );
  timer.unref?.();
  return {
    signal: controller.signal,
    clear: () => clearTimeout(timer),
    abort: (why) => controller.abort(new Error(why)),
  };
}

/** Settles as `promise` does, or rejects with the signal's reason when it aborts first. */
export function raced<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
