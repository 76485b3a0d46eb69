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

/** Per subject, at most this many failures go to onError per window (all are counted)… */
const REPORTS_PER_WINDOW = 5;
/** …of this many ms. */
const REPORT_WINDOW_MS = 1000;

/**
 * A reporter of repeated failures (a store failing on every call) at a bounded rate: at most
 * REPORTS_PER_WINDOW reports per REPORT_WINDOW_MS of the clock `now`, in a window that opens at the first
 * failure after the last one closed; the rest are dropped (the caller counts them). Costs nothing
 * while nothing fails.
 */
export function rateLimited(report: (error: Error) => void, now: () => number): (thrown: unknown) => void {
  let windowEnd = Number.NEGATIVE_INFINITY;
  let reports = 0;
  return (thrown) => {
    const time = now();
    if (!(time < windowEnd)) {
      windowEnd = time + REPORT_WINDOW_MS;
      reports = 0;
    }
    if (reports >= REPORTS_PER_WINDOW) return;
    reports++;
    report(toError(thrown));
  };
}
