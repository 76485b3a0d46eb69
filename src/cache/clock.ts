/** Unrefs a timer handle where the runtime has `unref` (Node, Deno, Bun); browsers return numbers. */
export function unref(timer: unknown): void {
  if (typeof timer === 'object' && timer !== null) {
    const handle = timer as { unref?: unknown };
    if (typeof handle.unref === 'function') (handle as { unref(): void }).unref();
  }
}

/** Reads of the coarse clock that may share one `Date.now()`. */
export const COARSE_CLOCK_READS = 256;

/**
 * A clock (`Date.now()` by default) shared by reads that are close together: a value is reused for at
 * most COARSE_CLOCK_READS reads and only until the microtasks queued so far have run (a microtask queued
 * at the read clears it), so it is never older than the stretch of JavaScript that is running (no timer
 * is involved: nothing to unref, nothing left pending). A `Date.now()` call per shared hit was a tenth
 * of its cost; a batch of 1000 hits in one stretch now reads it 4 times. Only for the default clock: a
 * clock passed in by the user (tests) is always read directly.
 */
export function coarseClock(source: () => number = Date.now): () => number {
  let cached = 0;
  let valid = false;
  let reads = 0;
  let clearing = false;
  const clear = () => {
    valid = false;
    clearing = false;
  };
  return () => {
    if (!valid || ++reads > COARSE_CLOCK_READS) {
      cached = source();
      valid = true;
      reads = 0;
      if (!clearing) {
        clearing = true;
        queueMicrotask(clear);
      }
    }
    return cached;
  };
}

/** The clock to read on hot paths: coarse for the default `Date.now`, the given one otherwise. */
export function hotClock(now: () => number): () => number {
  return now === Date.now ? coarseClock() : now;
}
