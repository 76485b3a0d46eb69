/**
 * Reporting without side effects on a load: user code told about problems (`onError`) or watching
 * loads (observers, `primes` functions) is isolated, so what it throws never reaches a load.
 */

/**
 * `onError` made safe to call anywhere: whatever it throws (or the promise it returns rejects with) is
 * swallowed, and the first such failure is written once to `console.warn`, so a broken handler is not
 * silent but never fails a load or crashes the process.
 */
export function isolateOnError(onError: (error: Error) => void): (error: Error) => void {
  let warned = false;
  const fallback = (thrown: unknown, error: Error) => {
    if (warned) return;
    warned = true;
    try {
      console.warn(
        `loaderkit: onError threw (${thrown instanceof Error ? thrown.message : String(thrown)}) while reporting: ${error.message}. Later failures of onError are not reported.`,
      );
    } catch {
      // Nowhere left to report to.
    }
  };
  return (error) => {
    try {
      const result: unknown = onError(error);
      if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
        (result as PromiseLike<unknown>).then(undefined, (thrown) => fallback(thrown, error));
    } catch (thrown) {
      fallback(thrown, error);
    }
  };
}

/** An `Error` for anything thrown. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
