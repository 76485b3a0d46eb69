/**
 * The contract every shared cache store implements: batched and async, so a remote store (Redis)
 * plugs in without touching loader code. One conformance suite (test/cache/store-conformance.ts)
 * runs against every store.
 */
import type { Sharing } from './immutable.js';

/** One cached value with its lifetimes (epoch milliseconds). */
export interface CacheEntry<V = unknown> {
  readonly value: V;
  /** How a request receives the value: as is (frozen plain data) or as a structured clone. */
  readonly sharing: Exclude<Sharing, 'unshareable'>;
  /** Until then the entry is fresh. */
  readonly freshUntil: number;
  /** Until then a stale entry may still be served while it is refreshed (grace); >= freshUntil. */
  readonly staleUntil: number;
  /**
   * In-process stores only: a frozen, already-resolved promise of a frozen value, which every hit
   * returns instead of making its own. Remote stores neither keep nor return it.
   */
  readonly resolved?: Promise<unknown>;
}

/** An entry to write, with the time the store should keep it. */
export interface CacheWrite {
  readonly key: string;
  readonly entry: CacheEntry;
  /** Milliseconds the store keeps the entry (its grace end); > 0. */
  readonly ttlMs: number;
}

export interface CacheStore {
  /** For statistics and errors, e.g. `'memory'`. */
  readonly name: string;
  /** Entries for `keys`, aligned with them; `undefined` where absent or expired. */
  getMany(keys: readonly string[]): Promise<Array<CacheEntry | undefined>>;
  setMany(writes: readonly CacheWrite[]): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Adds one to a counter and returns the new value (scope generations). Counters never expire. */
  increment(key: string): Promise<number>;
  /** Reads counters, aligned with `keys`; 0 where absent. */
  getCounters(keys: readonly string[]): Promise<number[]>;
  /** Releases what the store owns (connections, timers). Idempotent. */
  close(): Promise<void>;
  /**
   * In-process stores only: the entry for a key, synchronously. Lets fresh hits skip the async path
   * (and the single-flight bookkeeping) entirely.
   */
  peek?(key: string): CacheEntry | undefined;
  /** In-process stores only: a counter's value, synchronously. */
  peekCounter?(key: string): number;
  /**
   * In-process stores only: grows whenever an entry is replaced or deleted, or a counter changes (not
   * when an entry is added or evicted). A reader that mirrors entries or counters re-reads them when
   * this moves.
   */
  readonly version?: number;
  /** Size and eviction figures, where the store knows them. */
  stats?(): StoreStats;
}

export interface StoreStats {
  readonly entries?: number;
  readonly bytes?: number;
  /** Entries dropped to make room (not expiries or deletes). */
  readonly evictions: number;
}
