/**
 * The shared tier of one loader, process-wide: for a batch of keys that missed the request memo it
 * runs  single-flight → one batched store lookup → the source for the misses only → write-back.
 * Concurrent requests in the same scope that miss the same key share one source load. A store that
 * fails never fails a load: it counts an error and the keys go to the source.
 */
import { isError, NotFoundError } from '../errors.js';
import type { BatchLoadContext } from '../loader/options.js';
import { LoaderCounters } from '../observe/stats.js';
import { fromShared, toShared } from './immutable.js';
import { encodeKey, type KeySpace, sharedKey } from './keys.js';
import type { ResolvedPolicy } from './policy.js';
import type { CacheEntry, CacheStore, CacheWrite } from './store.js';

/** Loads keys from the source, aligned with them; per-key failures are `Error` values. */
export type Source<K, V, Ctx> = (
  keys: readonly K[],
  context: Ctx,
  info: BatchLoadContext | undefined,
) => Promise<ArrayLike<V | Error | null | undefined>>;

/** One in-flight load of one shared key, which other requests may join. */
interface Flight<V> {
  readonly promise: Promise<V>;
  readonly resolve: (value: V) => void;
  readonly reject: (error: unknown) => void;
  /** Invalidated or superseded while in flight: its result must not be written back. */
  poisoned: boolean;
}

function newFlight<V>(): Flight<V> {
  let resolve!: (value: V) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A flight nobody joined may reject unobserved; its owner reports the error through its own batch.
  promise.catch(() => {});
  return { promise, resolve, reject, poisoned: false };
}

function asError(reason: unknown): Error {
  return isError(reason) ? reason : new Error(String(reason), { cause: reason });
}

export interface SharedCacheOptions<K, V, Ctx> {
  readonly space: KeySpace;
  readonly policy: ResolvedPolicy<K, V, Ctx>;
  readonly store: CacheStore;
  readonly source: Source<K, V, Ctx>;
  /** The memo key of a key (the spec's cacheKey), which the shared key is built from. */
  readonly cacheKeyOf: (key: K) => unknown;
  /** Not-found keys reject with NotFoundError instead of resolving to null. */
  readonly missingAsError: boolean;
  readonly now: () => number;
  /** Told about store failures and values that cannot be shared; never throws into a load. */
  readonly onError: (error: Error) => void;
}

export class SharedCache<K, V, Ctx> {
  /** Process-wide counters of this loader. */
  readonly counters = new LoaderCounters();
  private readonly flights = new Map<string, Flight<V>>();
  /** Keys whose stale entry is being refreshed in the background. */
  private readonly refreshing = new Set<string>();
  private warnedUnshareable = false;

  constructor(private readonly options: SharedCacheOptions<K, V, Ctx>) {}

  /** The scope string of a request context (throws, failing closed, for a bad scope). */
  scopeOf(context: Ctx): string {
    return this.options.policy.scopeOf(context);
  }

  /**
   * Loads a batch of keys through the shared tier. `fresh` skips the store read (and supersedes any
   * in-flight load of the same keys). Resolves with one value or `Error` per key; rejects only when the
   * source call itself failed for keys this batch owned.
   */
  async loadBatch(
    keys: readonly K[],
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    fresh: boolean,
  ): Promise<Array<V | Error>> {
    const scope = this.scopeOf(context);
    const generation = await this.generation(scope);
    const skeys = keys.map((key) =>
      sharedKey(this.options.space, scope, generation, encodeKey(this.options.cacheKeyOf(key))),
    );
    // Join or open flights synchronously, so concurrent batches see each other.
    const promises = new Array<Promise<V>>(keys.length);
    const owned: number[] = [];
    const flights: Flight<V>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const existing = this.flights.get(skeys[i]!);
      if (existing !== undefined && !fresh) {
        promises[i] = existing.promise;
        this.count(request, 'joins', 1);
        continue;
      }
      if (existing !== undefined) existing.poisoned = true;
      const flight = newFlight<V>();
      this.flights.set(skeys[i]!, flight);
      promises[i] = flight.promise;
      owned.push(i);
      flights.push(flight);
    }
    if (owned.length > 0) {
      try {
        await this.fill(
          owned.map((i) => keys[i]!),
          owned.map((i) => skeys[i]!),
          flights,
          context,
          info,
          request,
          fresh,
        );
      } finally {
        for (let j = 0; j < owned.length; j++) {
          const skey = skeys[owned[j]!]!;
          if (this.flights.get(skey) === flights[j]) this.flights.delete(skey);
        }
      }
    }
    const out = await Promise.all(promises.map((promise) => promise.then(undefined, asError)));
    return out;
  }

  /** Answers owned flights from the store, then from the source; writes back what it loaded. */
  private async fill(
    keys: K[],
    skeys: string[],
    flights: Flight<V>[],
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    fresh: boolean,
  ): Promise<void> {
    let missing: number[] = keys.map((_, j) => j);
    if (!fresh) {
      const entries = await this.guard(
        this.options.store.getMany(skeys),
        () => new Array<CacheEntry | undefined>(skeys.length),
      );
      const now = this.options.now();
      missing = [];
      const stale: number[] = [];
      for (let j = 0; j < keys.length; j++) {
        const entry = entries[j];
        if (entry === undefined || now >= entry.staleUntil) {
          missing.push(j);
          continue;
        }
        flights[j]!.resolve(this.answer(entry, keys[j]!));
        if (now < entry.freshUntil) {
          this.count(request, 'sharedHits', 1);
        } else {
          this.count(request, 'staleHits', 1);
          if (!this.refreshing.has(skeys[j]!)) stale.push(j);
        }
      }
      if (stale.length > 0)
        this.refreshInBackground(
          stale.map((j) => keys[j]!),
          stale.map((j) => skeys[j]!),
          context,
        );
    }
    if (missing.length === 0) return;
    this.count(request, 'misses', missing.length);
    const missKeys = missing.map((j) => keys[j]!);
    let values: ArrayLike<V | Error | null | undefined>;
    const started = performance.now();
    this.count(request, 'sourceCalls', 1);
    try {
      values = await this.options.source(missKeys, context, info);
    } catch (error) {
      this.count(request, 'errors', 1);
      for (const j of missing) flights[j]!.reject(error);
      throw error;
    } finally {
      this.count(request, 'sourceMs', performance.now() - started);
    }
    const writes: CacheWrite[] = [];
    const now = this.options.now();
    for (let m = 0; m < missing.length; m++) {
      const j = missing[m]!;
      const value = values[m];
      const flight = flights[j]!;
      if (isError(value) && !(value instanceof NotFoundError)) {
        this.count(request, 'errors', 1);
        flight.reject(value);
        continue;
      }
      const notFound = value === null || value === undefined || value instanceof NotFoundError;
      const write = this.entryFor(keys[j]!, notFound ? null : (value as V), notFound, now);
      flight.resolve(write === null ? (value as V) : this.answer(write.entry, keys[j]!));
      if (write !== null && write.ttlMs > 0 && !flight.poisoned) writes.push({ key: skeys[j]!, ...write });
    }
    if (writes.length > 0) {
      await this.guard(this.options.store.setMany(writes), () => undefined);
      this.count(request, 'writes', writes.length);
    }
  }

  /** A hit's value: a frozen shared object, a fresh clone, or a NotFoundError for a negative entry. */
  private answer(entry: CacheEntry, key: K): V {
    if (entry.value === null && this.options.missingAsError)
      return new NotFoundError(key, this.options.space.loader) as V;
    return fromShared({ value: entry.value as V, sharing: entry.sharing });
  }

  /** The entry to store for a loaded value, or null when the value cannot be shared. */
  private entryFor(
    key: K,
    value: V | null,
    notFound: boolean,
    now: number,
  ): { entry: CacheEntry; ttlMs: number } | null {
    const policy = this.options.policy;
    if (notFound) {
      const ttl = policy.negativeTtl;
      return {
        entry: { value: null, sharing: 'frozen', freshUntil: now + ttl, staleUntil: now + ttl },
        ttlMs: ttl,
      };
    }
    const shared = toShared(value);
    if (shared === null) {
      if (!this.warnedUnshareable) {
        this.warnedUnshareable = true;
        this.options.onError(
          new TypeError(
            `Loader ${JSON.stringify(this.options.space.loader)}: a value holds a function, symbol, class instance or cycle, so it is served to its own request but never shared. Return plain data to cache it.`,
          ),
        );
      }
      return null;
    }
    let ttl = policy.ttlOf(shared.value as V, key);
    if (ttl > 0 && policy.jitter > 0)
      ttl = Math.max(1, Math.round(ttl * (1 - policy.jitter * Math.random())));
    const freshUntil = now + ttl;
    return {
      entry: {
        value: shared.value,
        sharing: shared.sharing,
        freshUntil,
        staleUntil: freshUntil + policy.graceMs,
      },
      ttlMs: ttl === 0 ? 0 : ttl + policy.graceMs,
    };
  }

  /** One source call for the stale keys of a batch; on failure the stale entries keep serving. */
  private refreshInBackground(keys: K[], skeys: string[], context: Ctx): void {
    for (const skey of skeys) this.refreshing.add(skey);
    this.loadBatch(keys, context, undefined, null, true)
      .then(
        () => undefined,
        () => undefined, // counted by loadBatch; stale-if-error keeps the old entries
      )
      .finally(() => {
        for (const skey of skeys) this.refreshing.delete(skey);
      });
  }

  /** Drops keys of one scope from the store; in-flight loads of them will not write back. */
  async invalidate(keys: readonly K[], context: Ctx): Promise<void> {
    const scope = this.scopeOf(context);
    const generation = await this.generation(scope);
    const skeys = keys.map((key) =>
      sharedKey(this.options.space, scope, generation, encodeKey(this.options.cacheKeyOf(key))),
    );
    for (const skey of skeys) {
      const flight = this.flights.get(skey);
      if (flight !== undefined) {
        flight.poisoned = true;
        this.flights.delete(skey);
      }
    }
    await this.guard(this.options.store.deleteMany(skeys), () => undefined);
  }

  /**
   * Invalidates every entry of a scope at once by moving it to a new generation (old entries are never
   * read again and expire by TTL). In-flight loads of the old generation cannot be joined by new loads.
   */
  async invalidateScope(context: Ctx): Promise<void> {
    const scope = this.scopeOf(context);
    await this.guard(this.options.store.increment(this.generationKey(scope)), () => 0);
  }

  private generationKey(scope: string): string {
    return sharedKey(this.options.space, scope, 0, '#generation');
  }

  private async generation(scope: string): Promise<number> {
    const [generation] = await this.guard(this.options.store.getCounters([this.generationKey(scope)]), () => [
      0,
    ]);
    return generation ?? 0;
  }

  /** Runs a store call; on failure counts and reports the error and returns the fallback. */
  private async guard<T>(call: Promise<T>, fallback: () => T): Promise<T> {
    try {
      return await call;
    } catch (error) {
      this.counters.errors++;
      this.options.onError(asError(error));
      return fallback();
    }
  }

  private count(request: LoaderCounters | null, field: NumericCounter, amount: number): void {
    this.counters[field] += amount;
    if (request !== null) request[field] += amount;
  }
}

type NumericCounter =
  | 'joins'
  | 'sharedHits'
  | 'staleHits'
  | 'misses'
  | 'sourceCalls'
  | 'sourceMs'
  | 'errors'
  | 'writes';
