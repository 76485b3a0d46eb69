/**
 * The loader a request uses: the dataloader API (load, loadMany, prime, clear, clearAll) over a
 * per-request memo, plus invalidate / refresh / warmup and statistics. One load is followable:
 *   memo (DataLoader) → shared tier (SharedCache: single-flight → store → source → write-back).
 */
import { writeMark } from './cache/namespace.js';
import { ABSENT, type SharedCache } from './cache/shared-cache.js';
import type { LocalEntry } from './cache/store.js';
import { isError } from './errors.js';
import { alignResults } from './loader/align.js';
import { DataLoader, type LoadOptions, MEMOIZE } from './loader/data-loader.js';
import {
  type BatchLoadContext,
  type DispatchReason,
  preResolved,
  type ResolvedOptions,
} from './loader/options.js';
import { countedSourceCall, LoaderCounters, type LoaderStats } from './observe/stats.js';

/** What a request loader needs from its definition; built once by `defineLoaders`. */
export interface LoaderDefinition<K, V, Ctx> {
  readonly name: string;
  /** The spec's batch function, aligned to one value or Error per key. */
  readonly source: (keys: readonly K[], context: Ctx, info: BatchLoadContext) => Promise<ArrayLike<unknown>>;
  /** Core options for the per-request memo loader, validated once by the definition. */
  readonly core: ResolvedOptions<K, V, unknown>;
  readonly cacheKeyOf: (key: K) => unknown;
  readonly shared: SharedCache<K, V, Ctx> | null;
  /** Process-wide counters (the shared tier's, or the definition's own). */
  readonly counters: LoaderCounters;
  /** Other loaders of the same request to prime with each loaded value: name → key of the value. */
  readonly primes: ReadonlyArray<readonly [string, (value: V, key: K) => unknown]>;
  /** Listeners of batches and source calls (metrics, tracing); empty unless someone observes. */
  readonly observers: Set<LoaderObserver>;
  /**
   * Reports what user code around a load threw (an observer, a `primes` function) through the isolated
   * `onError`, once per `subject` and `kind`; never throws.
   */
  readonly reportOnce: (subject: object, kind: string, thrown: unknown) => void;
}

/**
 * Told about every batch a loader hands on (after the request memo) and every call of its batch
 * function. Added with `createLoaders.observe(observer)`; costs nothing while none is added. What an
 * observer throws (from `batch`, its finisher or `source`) is reported once per observer and kind
 * through `onError` and never reaches a load or changes its value.
 */
export interface LoaderObserver {
  /**
   * A batch of `size` keys left the request memo, dispatched for `reason`. May return a function
   * called when the batch has its answers (with the error if it failed).
   */
  batch?(loader: string, size: number, reason: DispatchReason): undefined | ((error?: unknown) => void);
  /** The batch function answered (or `failed`) after `durationMs`. */
  source?(loader: string, durationMs: number, failed: boolean): void;
}

/** Per-call options of a request loader's `load`. */
export interface RequestLoadOptions extends LoadOptions {
  /** Skip the shared cache read: load from the source, write back, and update the request memo. */
  fresh?: boolean;
}

/** Something that primes by loader name: the request's loaders object. */
export type Siblings = Readonly<Record<string, { prime(key: unknown, value: unknown): unknown }>>;

export class RequestLoader<K, V> {
  /** This request's counters (the response trace reads them). */
  readonly counters = new LoaderCounters();
  private readonly memo: DataLoader<K, V, unknown>;
  /** The core options of this request's loaders (the definition's, plus the request signal). */
  private readonly core: ResolvedOptions<K, V, unknown>;
  /** Counts invalidations, so a fresh load that raced one does not memoize its older value. */
  private invalidations = 0;
  /**
   * This request's shared scope, computed from its context on first use and kept for the request: every
   * load, batch and invalidation of this loader in the request uses that one scope, even if the context
   * changes meanwhile (a context that switches tenants needs a new createLoaders).
   */
  private scope: string | undefined = undefined;
  /**
   * Keys the shared peek found absent since the last batch, and the write mark of the first of them: a
   * batch made of exactly these keys need not read the local tier again (see SharedCache.loadBatch).
   */
  private absentPeeks = 0;
  private absentSince = -1;
  /** Some key may have gone to the batch without being peeked absent (the batch then reads them all). */
  private unpeeked = false;
  /** Loads that bypass the shared read (`fresh`, `refresh`); made on first use. */
  private direct: DataLoader<K, V, unknown> | null = null;

  constructor(
    private readonly definition: LoaderDefinition<K, V, any>,
    private readonly context: unknown,
    private readonly siblings: Siblings,
    signal: AbortSignal | null = null,
  ) {
    this.core = signal === null ? definition.core : { ...definition.core, signal };
    this.memo = new DataLoader<K, V, unknown>(
      (keys, info) => this.loadBatch(keys, info, false),
      preResolved(this.core),
    );
  }

  /** The loader's name in its spec. */
  get name(): string {
    return this.definition.name;
  }

  /** Loads one key: request memo, then the shared cache (if the spec has one), then the source. */
  load(key: K, options?: RequestLoadOptions): Promise<V> {
    this.counters.loads++;
    this.definition.counters.loads++;
    const shared = this.definition.shared;
    if (options === undefined) {
      // A fresh shared entry goes into the memo, so the memo answers it as a hit: with the batch
      // pending on this loader (dataloader's timing), never earlier than the misses of its level.
      if (shared !== null) {
        // A request that has gone (its signal aborted) gets its rejection from the memo, counted nowhere.
        if (key !== null && key !== undefined && this.core.signal?.aborted !== true) {
          if (this.memo.peek(key) === undefined) this.memoizeShared(shared, key);
        } else this.unpeeked = true;
      }
      return this.memo.load(key);
    }
    if (options.fresh === true) return this.loadFresh(key, options);
    if (shared !== null) this.unpeeked = true;
    return this.memo.load(key, options);
  }

  /** Loads many keys; one entry per key: the value or the Error that key failed with. */
  loadMany(keys: ArrayLike<K>, options?: RequestLoadOptions): Promise<Array<V | Error>> {
    if (options?.fresh === true) {
      const promises: Promise<V | Error>[] = [];
      for (let i = 0; i < keys.length; i++)
        promises.push(this.load(keys[i] as K, options).catch((error: Error) => error));
      return Promise.all(promises);
    }
    if (options === undefined && this.definition.shared !== null) {
      const promises: Promise<V | Error>[] = [];
      for (let i = 0; i < keys.length; i++)
        promises.push(this.load(keys[i] as K).catch((error: Error) => error));
      return Promise.all(promises);
    }
    this.counters.loads += keys.length;
    this.definition.counters.loads += keys.length;
    if (this.definition.shared !== null) this.unpeeked = true;
    return this.memo.loadMany(keys, options);
  }

  /** Puts a value in this request's memo unless the key is there. Returns the loader. */
  prime(key: K, value: V | Error): this {
    this.memo.prime(key, value);
    return this;
  }

  /** Drops one key from this request's memo. Returns the loader. */
  clear(key: K): this {
    this.memo.clear(key);
    return this;
  }

  /** Empties this request's memo. Returns the loader. */
  clearAll(): this {
    this.memo.clearAll();
    return this;
  }

  /**
   * Drops a key from this request's memo and from the shared cache (in this request's scope). When the
   * promise resolves, no load that starts afterwards can see the old value, and loads in flight will not
   * write it back. Keys are single values: use `invalidateMany` for several.
   */
  invalidate(key: K): Promise<void> {
    return this.invalidateMany([key]);
  }

  /** `invalidate` for several keys at once (one store call). */
  async invalidateMany(keys: readonly K[]): Promise<void> {
    this.invalidations++;
    for (const key of keys) this.memo.clear(key);
    if (this.definition.shared === null) return;
    const shared = this.definition.shared;
    await shared.invalidate(keys, this.scopeOf(shared));
    // A load made while the shared entries were being dropped may have memoized an old value.
    for (const key of keys) this.memo.clear(key);
  }

  /** Invalidates every shared entry of this request's scope (e.g. the whole tenant), in O(1). */
  async invalidateScope(): Promise<void> {
    this.invalidations++;
    this.memo.clearAll();
    const shared = this.definition.shared;
    if (shared !== null) await shared.invalidateScope(this.scopeOf(shared));
    this.memo.clearAll();
  }

  /** Loads a key fresh from the source, writes it back to the shared cache and updates the memo. */
  refresh(key: K): Promise<V> {
    return this.load(key, { fresh: true });
  }

  /** Loads keys so they are in the memo and the shared cache; per-key failures are ignored. */
  async warmup(keys: ArrayLike<K>): Promise<void> {
    await this.loadMany(keys);
  }

  /**
   * Runs a mutation, then invalidates (default) or refreshes the keys it changed, and returns the
   * mutation's result. The keys are untouched if the mutation throws.
   */
  async afterMutation<T>(
    keys: readonly K[],
    mutation: () => Promise<T>,
    then: 'invalidate' | 'refresh' = 'invalidate',
  ): Promise<T> {
    const result = await mutation();
    if (then === 'refresh') await Promise.all(keys.map((key) => this.refresh(key)));
    else await this.invalidateMany(keys);
    return result;
  }

  /** This request's statistics for this loader. */
  stats(): LoaderStats {
    return this.counters.snapshot();
  }

  /**
   * A fresh entry of an in-process shared store is memoized now, without a store round trip or a
   * flight; the memo then answers it with its level. Anything unusual (a not-found error entry, a bad
   * scope or key, a failing store) is left to the batched way, which turns it into a rejection or a
   * source load.
   */
  private memoizeShared(shared: SharedCache<K, V, unknown>, key: K): void {
    let entry: LocalEntry | typeof ABSENT | undefined;
    try {
      entry = shared.peek(key, this.scopeOf(shared), this.counters);
    } catch {
      this.unpeeked = true;
      return;
    }
    if (entry === ABSENT) {
      if (this.absentPeeks++ === 0) this.absentSince = writeMark();
      return;
    }
    if (entry === undefined) {
      this.unpeeked = true;
      return;
    }
    this.memo[MEMOIZE](key, shared.promiseOf(entry, key));
    if (this.definition.primes.length > 0) this.primeSiblings([key], [shared.valueOf(entry, key)]);
  }

  /** The scope of this request (see `scope`); throws, failing closed, for a bad one. */
  private scopeOf(shared: SharedCache<K, V, unknown>): string {
    this.scope ??= shared.scopeOf(this.context);
    return this.scope;
  }

  /**
   * The scope a batch loads in: the request's, checked against its context now. A context whose scope
   * changed since the request's first load fails the batch (closed): loading with one tenant's context
   * under another tenant's scope would mix them.
   */
  private batchScope(shared: SharedCache<K, V, unknown>): string {
    const scope = this.scopeOf(shared);
    const now = shared.scopeOf(this.context);
    if (now !== scope)
      throw new Error(
        `Loader ${JSON.stringify(this.definition.name)}: the request's shared scope changed from ${JSON.stringify(scope.slice(1))} to ${JSON.stringify(now.slice(1))} during the request; a request keeps one scope. Create new loaders (createLoaders) for another tenant or viewer.`,
      );
    return scope;
  }

  private async loadFresh(key: K, options: RequestLoadOptions): Promise<V> {
    if (this.direct === null) {
      this.direct = new DataLoader<K, V, unknown>(
        (keys, info) => this.loadBatch(keys, info, true),
        preResolved({ ...this.core, memo: { kind: 'none' } }),
      );
    }
    const epoch = this.invalidations;
    // Fenced at the call: a load of this request or another made from now on never sees the old entry.
    const shared = this.definition.shared;
    if (shared !== null) {
      try {
        shared.fence(key, this.scopeOf(shared));
      } catch {
        // A bad scope fails the refresh's batch (closed).
      }
    }
    const value = await (options.signal === undefined
      ? this.direct.load(key)
      : this.direct.load(key, { signal: options.signal }));
    // An invalidate while this load was in flight wins: its value reaches this caller, not the memo.
    if (epoch === this.invalidations) this.memo.clear(key).prime(key, value);
    return value;
  }

  /** The batch function of the memo loaders: the shared tier (or the source), then cross-loader priming. */
  private async loadBatch(
    keys: readonly K[],
    info: BatchLoadContext,
    fresh: boolean,
  ): Promise<ArrayLike<V | Error>> {
    const definition = this.definition;
    this.counters.recordBatch(keys.length);
    definition.counters.recordBatch(keys.length);
    const finish = definition.observers.size > 0 ? this.observeBatch(keys.length, info) : null;
    let values: ArrayLike<unknown>;
    try {
      if (definition.shared !== null) {
        let peekedAbsent = -1;
        if (!fresh) {
          // Only a batch of exactly the keys peeked absent (not one of several batches they were split
          // into, nor one with keys that were not peeked) skips the local read.
          if (!this.unpeeked && this.absentPeeks === keys.length) peekedAbsent = this.absentSince;
          this.absentPeeks = 0;
          this.unpeeked = false;
        }
        values = await definition.shared.loadBatch(
          keys,
          this.batchScope(definition.shared),
          this.context,
          info,
          this.counters,
          fresh ? 'fresh' : 'read',
          peekedAbsent,
        );
      } else {
        values = await this.callSource(keys, info);
      }
    } catch (error) {
      finish?.(error);
      throw error;
    }
    finish?.(undefined);
    if (definition.primes.length > 0) this.primeSiblings(keys, values);
    return values as ArrayLike<V | Error>;
  }

  /**
   * Tells the observers a batch starts; returns what tells them it ended. An observer that throws (at
   * the start or in its finisher) is reported once and changes nothing about the batch.
   */
  private observeBatch(size: number, info: BatchLoadContext): (error: unknown) => void {
    const definition = this.definition;
    const finishers: Array<readonly [LoaderObserver, (error?: unknown) => void]> = [];
    for (const observer of definition.observers) {
      if (typeof observer.batch !== 'function') continue;
      try {
        const finisher = observer.batch(definition.name, size, info.reason);
        if (typeof finisher === 'function') finishers.push([observer, finisher]);
      } catch (thrown) {
        definition.reportOnce(observer, 'batch', thrown);
      }
    }
    return (error) => {
      for (const [observer, finisher] of finishers) {
        try {
          finisher(error);
        } catch (thrown) {
          definition.reportOnce(observer, 'batch finisher', thrown);
        }
      }
    };
  }

  /** A source call without a shared tier, counted by the rule of every path (countedSourceCall). */
  private callSource(keys: readonly K[], info: BatchLoadContext): Promise<ArrayLike<unknown>> {
    return countedSourceCall(this.definition.counters, this.counters, keys.length, true, () =>
      this.definition.source(keys, this.context, info),
    );
  }

  /**
   * Primes sibling loaders with loaded values. A `primes` function (or the sibling's prime, e.g. its
   * cacheKey) that throws leaves that sibling unprimed for that value, and is reported once per loader;
   * the load that produced the value is unaffected.
   */
  private primeSiblings(keys: readonly K[], values: ArrayLike<unknown>): void {
    const definition = this.definition;
    for (let i = 0; i < keys.length; i++) {
      const value = values[i];
      if (value === null || value === undefined || isError(value)) continue;
      for (const [target, keyOf] of definition.primes) {
        try {
          const key = keyOf(value as V, keys[i]!);
          if (key !== null && key !== undefined) this.siblings[target]!.prime(key, value);
        } catch (thrown) {
          definition.reportOnce(definition.primes, 'primes', thrown);
        }
      }
    }
  }
}

/**
 * Aligns a spec's raw batch result (array or Map) to its keys, as the core loader does, with its one
 * not-found rule (see `alignResults`). The shared tier caches a NotFoundError as a negative entry and
 * hands the error on.
 */
export function alignSpecResult<K>(
  result: unknown,
  keys: readonly K[],
  cacheKeyOf: ((key: K) => unknown) | null,
  missingAsError: boolean,
  name: string,
): ArrayLike<unknown> {
  return alignResults(
    result,
    keys,
    cacheKeyOf === null ? null : (i) => cacheKeyOf(keys[i]!),
    missingAsError,
    name,
  );
}
