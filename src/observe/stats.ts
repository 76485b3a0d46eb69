import { isError, NotFoundError } from '../errors.js';

/**
 * Counters per loader: kept per request (for the response trace) and per process (for `stats()`).
 * Plain number fields: an increment is a property add.
 */

export class LoaderCounters {
  /** `load` calls, plus one per key of `loadMany`. */
  loads = 0;
  /** Keys answered by a fresh shared entry. */
  sharedHits = 0;
  /**
   * Shared hits memoized at `load()` time from an in-process store, without a store round trip (they
   * resolve with their level's batch, as memo hits do, and never become batch keys).
   */
  syncHits = 0;
  /** Keys answered by a stale shared entry within grace (a refresh runs). */
  staleHits = 0;
  /** Of the shared hits, those the remote tier answered (the in-process tier did not have them). */
  remoteHits = 0;
  /** Of the stale hits, those the remote tier answered. */
  remoteStaleHits = 0;
  /** Keys that went to the batch function. */
  misses = 0;
  /** Keys that joined another request's in-flight load of the same key and scope. */
  joins = 0;
  /** Batches handed to the loader (after the memo). */
  batches = 0;
  /** Keys in those batches. */
  batchedKeys = 0;
  /** Largest batch. */
  maxBatch = 0;
  /** Calls of the batch function. */
  sourceCalls = 0;
  /** Milliseconds spent in the batch function. */
  sourceMs = 0;
  /** Failed batch calls, per-key errors, and shared-store failures (which never fail a load). */
  errors = 0;
  /** Entries written to the shared store. */
  writes = 0;

  /** Adds a batch of `size` keys. */
  recordBatch(size: number): void {
    this.batches++;
    this.batchedKeys += size;
    if (size > this.maxBatch) this.maxBatch = size;
  }

  snapshot(): LoaderStats {
    const sharedLookups = this.sharedHits + this.staleHits + this.misses;
    // Every load either hits the memo or becomes a batch key, so hits need no counting on the hot path.
    const memoHits = Math.max(0, this.loads - this.batchedKeys - this.syncHits);
    return {
      loads: this.loads,
      memoHits,
      sharedHits: this.sharedHits,
      staleHits: this.staleHits,
      remoteHits: this.remoteHits,
      remoteStaleHits: this.remoteStaleHits,
      misses: this.misses,
      joins: this.joins,
      batches: this.batches,
      keysPerBatch: this.batches === 0 ? 0 : this.batchedKeys / this.batches,
      maxBatch: this.maxBatch,
      sourceCalls: this.sourceCalls,
      sourceMs: this.sourceMs,
      errors: this.errors,
      writes: this.writes,
      memoHitRate: this.loads === 0 ? 0 : memoHits / this.loads,
      sharedHitRate: sharedLookups === 0 ? 0 : (this.sharedHits + this.staleHits) / sharedLookups,
    };
  }
}

/** A snapshot of one loader's counters, with hit rates in [0, 1]. */
export interface LoaderStats {
  readonly loads: number;
  /** Loads answered by the request memo: loads that never became a batch key. */
  readonly memoHits: number;
  readonly sharedHits: number;
  readonly staleHits: number;
  /** Of sharedHits, those answered by the remote tier (e.g. Redis), not the in-process one. */
  readonly remoteHits: number;
  /** Of staleHits, those answered by the remote tier. */
  readonly remoteStaleHits: number;
  readonly misses: number;
  readonly joins: number;
  readonly batches: number;
  readonly keysPerBatch: number;
  readonly maxBatch: number;
  readonly sourceCalls: number;
  readonly sourceMs: number;
  readonly errors: number;
  readonly writes: number;
  /** memoHits / loads. */
  readonly memoHitRate: number;
  /** (sharedHits + staleHits) / keys looked up in the shared store. */
  readonly sharedHitRate: number;
}

/**
 * One call of a batch function, counted by the one rule of every path (plain, shared, `cached`): a
 * source call, its keys as misses (unless `misses` is false: a background refresh serves no load), its
 * milliseconds, and as errors a failed call (1) or its per-key `Error` values (a NotFoundError is a
 * not-found, not an error). Counts go to the loader's counters and, when given, the request's.
 */
export async function countedSourceCall<T extends ArrayLike<unknown>>(
  loader: LoaderCounters,
  request: LoaderCounters | null,
  keys: number,
  misses: boolean,
  call: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let errors = 0;
  try {
    const values = await call();
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (isError(value) && !(value instanceof NotFoundError)) errors++;
    }
    return values;
  } catch (error) {
    errors = 1;
    throw error;
  } finally {
    const ms = performance.now() - started;
    for (const counters of request === null ? [loader] : [loader, request]) {
      counters.sourceCalls++;
      if (misses) counters.misses += keys;
      counters.errors += errors;
      counters.sourceMs += ms;
    }
  }
}
