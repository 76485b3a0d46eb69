/**
 * `Date.now()` read at most once per millisecond: the value is reused until a 1 ms timer (unref'd)
 * clears it, as lru-cache's ttlResolution does. A Date.now() call per shared hit was a tenth of its
 * cost. Only for the default clock: a clock passed in by the user (tests) is always read directly.
 */
export function coarseClock(): () => number {
  let cached = 0;
  const clear = () => {
    cached = 0;
  };
  return () => {
    if (cached === 0) {
      cached = Date.now();
      setTimeout(clear, 1).unref();
    }
    return cached;
  };
}

/** The clock to read on hot paths: coarse for the default `Date.now`, the given one otherwise. */
export function hotClock(now: () => number): () => number {
  return now === Date.now ? coarseClock() : now;
}
