/**
 * The two store roles of the shared tier (see README "Stores"):
 *
 * - a **local store**: the in-process tier, synchronous, holding live entries (the shared value itself,
 *   frozen, or kept to be cloned per read). A hit is a lookup, with no await and no flight.
 * - a **remote store**: an asynchronous key-value service (Redis in `loaderkit/redis`) holding encoded
 *   strings. One batched read and one batched write per batch; every call gets a signal that aborts at
 *   its deadline. The shared tier never calls one directly: a resilient facade (remote/resilient.ts)
 *   owns deadlines, error counting and the circuit breaker, and the codec (remote/codec.ts) sits between
 *   entries and strings, so a corrupt or foreign value is a miss.
 *
 * Conformance suites for both roles are exported from `loaderkit/testing`.
 */
import type { BusTransport } from '../bus/bus.js';
import type { Sharing } from './immutable.js';

/** One entry of a local store: a shared value with its lifetimes (epoch milliseconds). */
export interface LocalEntry {
  /** The namespace (loader, version, scope) the entry was written for. */
  readonly space: string;
  /** The key it was written for (a scalar cache key, or the encoding of an object key). */
  readonly key: unknown;
  readonly value: unknown;
  /** How a request receives the value: as is (frozen plain data) or as a structured clone. */
  readonly sharing: Exclude<Sharing, 'unshareable'>;
  /** Until then the entry is fresh. */
  readonly freshUntil: number;
  /** Until then a stale entry may still be served while it is refreshed (grace); >= freshUntil. */
  readonly staleUntil: number;
  /** An estimate of the bytes the entry holds (key and value), for byte bounds. */
  readonly bytes: number;
  /**
   * A frozen, already-resolved promise of a frozen value, which every hit returns once the first hit
   * made it (loaderkit sets it on the entry; undefined until then, and for values cloned on read).
   */
  readonly resolved: Promise<unknown> | undefined;
}

/**
 * The in-process tier. Synchronous and total: a method that throws is counted as a store failure and
 * reads as a miss. Entries are addressed by space and key; a store must bound what it keeps (entries,
 * bytes) and must never return an entry it evicted, deleted or let expire.
 */
export interface LocalStore {
  /** For statistics and errors, e.g. `'memory'`. */
  readonly name: string;
  /** The entry at (space, key), or undefined where absent, expired, evicted or deleted. */
  get(space: string, key: unknown): LocalEntry | undefined;
  /** Keeps an entry for `ttlMs` (> 0) milliseconds, replacing what was at its space and key. */
  set(entry: LocalEntry, ttlMs: number): void;
  delete(space: string, key: unknown): void;
  /** Drops every entry whose space starts with `prefix` (a whole scope); returns how many. */
  deleteSpaces(prefix: string): number;
  stats(): StoreStats;
  /** Drops everything. Idempotent. */
  close(): void;
}

/** One value to write to a remote store. */
export interface RemoteWrite {
  readonly key: string;
  readonly value: string;
  /** Milliseconds the store keeps the value: a whole number >= 1. */
  readonly ttlMs: number;
  /**
   * When present, a compare-and-set: the value is written only if the key's value at that moment is
   * exactly this string (`null`: only if the key holds nothing), checked and written atomically with
   * respect to every other write of the key. This is the fence that keeps a load that began before an
   * invalidation (which leaves a marker at the key) from writing its value back after it. Absent: the
   * write happens whatever the key holds. A write whose condition fails is skipped, not an error. A store
   * that cannot compare-and-set should write such a value only where the key holds nothing.
   */
  readonly ifValue?: string | null;
}

/**
 * A remote store: strings under string keys, each kept for a time. Every call takes a signal that aborts
 * when loaderkit stops waiting (its deadline); a store should give up its work then, but loaderkit never
 * waits past it either way. Answers are checked: a read that is not an array of the keys' length is a
 * failure of the whole call; an element that is neither a string nor null is a miss (counted as garbage).
 */
export interface RemoteStore {
  /** For statistics and errors, e.g. `'redis'`. */
  readonly name: string;
  /** The values at `keys`, aligned with them; null where absent. One round trip. */
  getMany(keys: readonly string[], signal: AbortSignal): Promise<ReadonlyArray<string | null>>;
  /**
   * Writes values with their lifetimes. One round trip. May answer how many of the writes it made (the
   * others were skipped by their `ifValue`), which `stats().remote.writesFenced` counts.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: stores written for Promise<void> stay valid.
  setMany(writes: readonly RemoteWrite[], signal: AbortSignal): Promise<void | number>;
  deleteMany(keys: readonly string[], signal: AbortSignal): Promise<void>;
  /**
   * Optional: `true` when the store never reads the signals it is given (a call it made cannot be called
   * back, as a Redis command already sent). loaderkit then passes every call one signal that never
   * aborts instead of making one per call (an AbortSignal costs about 2 µs to make); its deadline holds
   * all the same. Default: `false`. A store that declares it should make it non-enumerable (the Redis
   * store does), so that a wrapper made by spreading the store, which may read signals, does not
   * inherit it.
   */
  readonly ignoresSignal?: boolean;
  /**
   * Optional: short-lived locks, for `shared.lock` (distributed single-flight). Without them the policy
   * is refused when loaders are defined.
   */
  readonly locks?: RemoteLocks;
  /**
   * Optional: how invalidations reach the other instances on this store (see bus/bus.ts). Without one,
   * another instance's in-process tier keeps what it holds until its TTL or `shared.l1Ttl`.
   */
  readonly bus?: BusTransport;
  /**
   * Optional: commands per server node, for a store spread over several (Redis Cluster): in
   * `stats().remote.nodes` and the Prometheus `remote_node_commands_total`. Synchronous and cheap; a
   * store should bound how many nodes it remembers.
   */
  nodes?(): readonly RemoteNodeStats[];
  /** Releases what the store owns (connections, timers). Idempotent. */
  close(): Promise<void>;
}

/** What one node of a remote store answered (see RemoteStore.nodes). */
export interface RemoteNodeStats {
  /** The node, e.g. `'10.0.0.1:6379'`. */
  readonly node: string;
  /** Commands it answered with a reply. */
  readonly ok: number;
  /** Commands it answered with an error, or whose round trip failed. */
  readonly errors: number;
  /** Commands not sent to it because its connection was down (nothing waits in a queue). */
  readonly refused: number;
}

/**
 * Locks of keys, each held by a token until released or for its time to live (a holder that dies releases
 * by expiry). Both calls are one round trip, under the same deadlines as the others.
 */
export interface RemoteLocks {
  /**
   * Takes the lock of each key nobody holds now (atomically per key), for `ttlMs` (a whole number >= 1),
   * as `token`; answers, aligned with `keys`, whether it took each.
   */
  acquire(
    keys: readonly string[],
    token: string,
    ttlMs: number,
    signal: AbortSignal,
  ): Promise<readonly boolean[]>;
  /** Releases the locks of `keys` that `token` still holds (others are left alone). */
  release(keys: readonly string[], token: string, signal: AbortSignal): Promise<void>;
}

export interface StoreStats {
  readonly entries?: number;
  readonly bytes?: number;
  /** Entries dropped to make room (not expiries or deletes). */
  readonly evictions: number;
}
