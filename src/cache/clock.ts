/** What `coarseClock` arms its 1 ms timer with: a `setTimeout`, whatever handle it returns. */
export type SetTimer = (fn: () => void, ms: number) => unknown;

/** Unrefs a timer handle where the runtime has `unref` (Node, Deno, Bun); browsers return numbers. */
export function unref(timer: unknown): void {
  if (typeof timer === 'object' && timer !== null) {
    const handle = timer as { unref?: unknown };
    if (typeof handle.unref === 'function') (handle as { unref(): void }).unref();
  }
}

/**
 * `Date.now()` read at most once per millisecond: the value is reused until a 1 ms timer (unref'd
 * where the runtime can) clears it, as lru-cache's ttlResolution does. A Date.now() call per shared
 * hit was a tenth of its cost. Only for the default clock: a clock passed in by the user (tests) is
 * always read directly. `setTimer` defaults to the global `setTimeout`, looked up per use (so fake
 * timers installed later apply); where it returns a number (browsers, some edge runtimes) nothing is
 * unref'd.
 */
export function coarseClock(setTimer?: SetTimer): () => number {
  let cached = 0;
  const clear = () => {
    cached = 0;
  };
  return () => {
    if (cached === 0) {
      cached = Date.now();
      unref(setTimer === undefined ? setTimeout(clear, 1) : setTimer(clear, 1));
    }
    return cached;
  };
}

/** The clock to read on hot paths: coarse for the default `Date.now`, the given one otherwise. */
export function hotClock(now: () => number): () => number {
  return now === Date.now ? coarseClock() : now;
}
