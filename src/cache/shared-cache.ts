/**
 * The shared tier of one loader, process-wide: for a batch of keys that missed the request memo it
 * runs  single-flight → one batched store lookup → the source for the misses only → write-back.
 * Concurrent requests in the same scope that miss the same key share one source load. A store that
 * fails never fails a load: it counts an error (reported to onError at a bounded rate, see
 * reportStoreError) and the keys go to the source.
 */
import { isError, NotFoundError } from '../errors.js';
import type { BatchLoadContext } from '../loader/options.js';
import { isolateOnError } from '../observe/report.js';
import { LoaderCounters } from '../observe/stats.js';
import { Audience } from './audience.js';
import { hotClock } from './clock.js';
import { fromShared, toShared } from './immutable.js';
import { encodeKey, type KeySpace, keyBase, sharedKey } from './keys.js';
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
  /** The requests waiting on the source call that answers this flight (null: a bypass). */
  audience: Audience | null;
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
  return { promise, resolve, reject, poisoned: false, audience: null };
}

/** Per loader, at most this many store failures go to onError per window (all are counted)… */
const STORE_REPORTS_PER_WINDOW = 5;
/** …of this many ms. */
const STORE_REPORT_WINDOW_MS = 1000;

const MAX_INTERNED = 100_000;
/** Most entries one namespace mirrors (the store's own bounds still hold for what it keeps). */
const MAX_MIRRORED = 10_000;

/** How `loadBatch` treats the store: see there. */
export type LoadMode = 'read' | 'fresh' | 'background';

/**
 * One scope at one generation: its key base and the store keys built in it. A Map lookup hashes its
 * string key, and hashing a freshly concatenated 30-character key cost ~300 ns per lookup; a key
 * string reused from here has its hash cached. Bounded: everything is dropped past MAX_INTERNED.
 */
interface Namespace {
  readonly generation: number;
  readonly generationKey: string;
  readonly base: string;
  /** Store keys by scalar cache key. */
  readonly scalarKeys: Map<unknown, string>;
  /** Store keys by the encoding of an object cache key. */
  readonly objectKeys: Map<string, string>;
  /**
   * In-process stores: entries read before, by scalar cache key, so a hit is one lookup. Valid while
   * the store's `version` stays at `hotVersion` (no entry replaced or deleted since).
   */
  readonly hot: Map<unknown, CacheEntry>;
  hotVersion: number;
  readonly scope: string;
  /** The store version at which the generation was last read. */
  checkedAt: number;
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
  /** Grace refreshes in flight: superseded like other flights, but never joined. */
  private readonly backgroundFlights = new Map<string, Flight<V>>();
  private warnedUnshareable = false;
  /** The window of store failure reports (see reportStoreError): its end, and reports made in it. */
  private storeReportWindowEnd = Number.NEGATIVE_INFINITY;
  private storeReportsInWindow = 0;
  /** A ttl function without a usable lifetime is reported once per loader (see entryFor). */
  private warnedBadTtl = false;
  /** The namespace read last (most loads in a row are of one request, so of one scope). */
  private lastNamespace: Namespace | null = null;
  /** Key bases and built store keys per scope; see Namespace. */
  private readonly namespaces = new Map<string, Namespace>();
  private internedCount = 0;

  /** The clock of freshness checks on the hit path (see coarseClock). */
  private readonly clock: () => number;

  private readonly options: SharedCacheOptions<K, V, Ctx>;

  constructor(options: SharedCacheOptions<K, V, Ctx>) {
    // Every report goes through an isolated onError: what it throws never reaches a load.
    this.options = { ...options, onError: isolateOnError(options.onError) };
    this.clock = hotClock(options.now);
  }

  /** The scope string of a request context (throws, failing closed, for a bad scope). */
  scopeOf(context: Ctx): string {
    return this.options.policy.scopeOf(context);
  }

  /**
   * Loads a batch of keys through the shared tier. Mode `'read'` answers from the store where it can;
   * `'fresh'` skips the store read and supersedes in-flight loads of the same keys (their results are
   * not written back); `'background'` is a grace refresh: it skips the read too, but nobody joins it, so
   * requests meanwhile keep getting the stale value. Resolves with one value or `Error` per key;
   * rejects only when the source call itself failed for keys this batch owned.
   */
  async loadBatch(
    keys: readonly K[],
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    mode: LoadMode,
  ): Promise<Array<V | Error>> {
    const store = this.options.store;
    const scope = this.scopeOf(context);
    const namespace =
      store.peekCounter === undefined ? await this.namespaceOf(scope) : this.currentNamespace(scope);
    if (namespace === null) return this.bypass(keys, context, info, request);
    const out = new Array<V | Error>(keys.length);
    const skeys = new Array<string>(keys.length);
    // Fresh hits of an in-process store are answered right here, without flights or awaits.
    const pending: number[] = [];
    const now = this.options.now();
    // A key the encoding refuses rejects its own load only: it is neither looked up nor loaded.
    let refused = 0;
    for (let i = 0; i < keys.length; i++) {
      let skey: string;
      try {
        skey = this.storeKey(namespace, keys[i]!);
      } catch (error) {
        out[i] = asError(error);
        refused++;
        continue;
      }
      skeys[i] = skey;
      const entry = mode !== 'read' || store.peek === undefined ? undefined : this.peekStore(skey);
      if (entry !== undefined && now < entry.freshUntil) out[i] = this.answer(entry, keys[i]!);
      else pending.push(i);
    }
    this.count(request, 'sharedHits', keys.length - pending.length - refused);
    if (pending.length === 0) return out;

    // Join or open flights synchronously, so concurrent batches see each other.
    const joinable = mode !== 'background';
    const register = joinable ? this.flights : this.backgroundFlights;
    const promises = new Array<Promise<V>>(pending.length);
    const owned: number[] = [];
    const flights: Flight<V>[] = [];
    let audience: Audience | null = null;
    const joined = new Set<Audience>();
    for (let p = 0; p < pending.length; p++) {
      const skey = skeys[pending[p]!]!;
      const existing = this.flights.get(skey);
      if (existing !== undefined && mode === 'read') {
        promises[p] = existing.promise;
        // The source call goes on while any request waits on it (see Audience).
        if (existing.audience !== null && !joined.has(existing.audience)) {
          joined.add(existing.audience);
          existing.audience.attend(info);
        }
        this.count(request, 'joins', 1);
        continue;
      }
      if (mode === 'fresh') this.poison(skey);
      if (audience === null) {
        audience = new Audience(info?.reason ?? 'schedule');
        audience.attend(info);
      }
      const flight = newFlight<V>();
      flight.audience = audience;
      register.set(skey, flight);
      promises[p] = flight.promise;
      owned.push(pending[p]!);
      flights.push(flight);
    }
    if (owned.length > 0) {
      try {
        await this.fill(
          owned.map((i) => keys[i]!),
          owned.map((i) => skeys[i]!),
          flights,
          context,
          audience!.context,
          request,
          mode,
        );
      } catch (error) {
        // Whatever failed, no flight is left hanging for the requests that joined it.
        for (const flight of flights) flight.reject(error);
        throw error;
      } finally {
        for (let j = 0; j < owned.length; j++) {
          const skey = skeys[owned[j]!]!;
          if (register.get(skey) === flights[j]) register.delete(skey);
        }
      }
    }
    const settled = await Promise.all(promises.map((promise) => promise.then(undefined, asError)));
    for (let p = 0; p < pending.length; p++) out[pending[p]!] = settled[p]!;
    return out;
  }

  /**
   * A fresh entry of an in-process store for one key, synchronously: `undefined` if the store is not
   * in-process, or the entry is absent, stale, unreadable or a not-found that must reject. Lets a
   * request loader memoize shared hits without a store round trip or a flight (the memo then answers
   * them with their level's batch). Counts the hit. Never throws for a store
   * failure.
   */
  peekFresh(key: K, scope: string, request: LoaderCounters | null): CacheEntry | undefined {
    const store = this.options.store;
    if (store.peek === undefined || store.peekCounter === undefined) return undefined;
    const namespace = this.currentNamespace(scope);
    if (namespace === null) return undefined;
    const entry = this.peekMirrored(namespace, key, store.version);
    if (entry === undefined) return undefined;
    if (this.clock() >= entry.freshUntil || (entry.value === null && this.options.missingAsError))
      return undefined;
    this.counters.sharedHits++;
    this.counters.syncHits++;
    if (request !== null) {
      request.sharedHits++;
      request.syncHits++;
    }
    return entry;
  }

  /**
   * The store's entry for a key, through the namespace's mirror when the key is a scalar and the store
   * says, by its unchanged `version`, that no entry was replaced or deleted since the mirror was filled.
   */
  private peekMirrored(namespace: Namespace, key: K, version: number | undefined): CacheEntry | undefined {
    const cacheKey = this.options.cacheKeyOf(key);
    if (version === undefined || (typeof cacheKey === 'object' && cacheKey !== null)) {
      return this.peekStore(this.storeKey(namespace, key));
    }
    const hot = namespace.hot;
    if (namespace.hotVersion !== version) {
      hot.clear();
      namespace.hotVersion = version;
    }
    // A mirrored entry that went stale is returned as it is: the caller then takes the batched path,
    // whose store read drops or replaces the entry, which moves the version and clears this mirror.
    let entry = hot.get(cacheKey);
    if (entry !== undefined) return entry;
    entry = this.peekStore(this.storeKey(namespace, key));
    if (entry === undefined) {
      hot.delete(cacheKey);
    } else {
      if (hot.size >= MAX_MIRRORED) hot.clear();
      hot.set(cacheKey, entry);
    }
    return entry;
  }

  /** The promise a hit on `entry` returns: the entry's shared one, or one of its own (clones). */
  promiseOf(entry: CacheEntry, key: K): Promise<V> {
    return (entry.resolved as Promise<V> | undefined) ?? Promise.resolve(this.answer(entry, key));
  }

  /** The value a hit on `entry` reads (a fresh clone for cloned-on-read values). */
  valueOf(entry: CacheEntry, key: K): V {
    return this.answer(entry, key);
  }

  /** `store.peek`, failing open: a throwing store counts an error and reads as a miss. */
  private peekStore(skey: string): CacheEntry | undefined {
    try {
      return this.options.store.peek!(skey);
    } catch (error) {
      this.reportStoreError(error);
      return undefined;
    }
  }

  /**
   * The namespace of a scope at its current generation, read synchronously (in-process stores), or
   * null when the generation cannot be read (the batch then bypasses the store).
   */
  private currentNamespace(scope: string): Namespace | null {
    // The store's version also moves when a counter does, so an unchanged version means an unchanged
    // generation: the namespace used last can be reused without reading the counter.
    const version = this.options.store.version;
    const last = this.lastNamespace;
    if (last !== null && last.scope === scope && version !== undefined && last.checkedAt === version)
      return last;
    const known = this.namespaces.get(scope);
    let generation: number;
    try {
      generation = this.options.store.peekCounter!(known?.generationKey ?? this.generationKey(scope));
    } catch (error) {
      this.reportStoreError(error);
      return null;
    }
    const namespace =
      known !== undefined && known.generation === generation ? known : this.namespace(scope, generation);
    namespace.checkedAt = version ?? -1;
    this.lastNamespace = namespace;
    return namespace;
  }

  /** The namespace of a scope read from a remote store, or null when its generation cannot be read. */
  private async namespaceOf(scope: string): Promise<Namespace | null> {
    const counters = await this.guard(
      () => this.options.store.getCounters([this.generationKey(scope)]),
      () => null,
    );
    return counters === null ? null : this.namespace(scope, counters[0] ?? 0);
  }

  /** The namespace of a scope at a generation, built once and reused while the generation holds. */
  private namespace(scope: string, generation: number): Namespace {
    const known = this.namespaces.get(scope);
    if (known !== undefined && known.generation === generation) return known;
    if (this.internedCount > MAX_INTERNED || this.namespaces.size > MAX_INTERNED) {
      this.namespaces.clear();
      this.lastNamespace = null;
      this.internedCount = 0;
    }
    const namespace: Namespace = {
      generation,
      generationKey: known?.generationKey ?? this.generationKey(scope),
      base: keyBase(this.options.space, scope, generation),
      scalarKeys: new Map(),
      objectKeys: new Map(),
      hot: new Map(),
      hotVersion: -1,
      scope,
      checkedAt: -1,
    };
    this.namespaces.set(scope, namespace);
    return namespace;
  }

  /** The store key of a key in a namespace, reusing the string built last time (its hash is cached). */
  private storeKey(namespace: Namespace, key: K): string {
    const cacheKey = this.options.cacheKeyOf(key);
    // Scalars index their own map as they are (SameValueZero matches encodeKey: 0 and -0 are one key,
    // 1 and '1' are two); objects index another map by their encoding, so a string key can never
    // meet an object key whose encoding it spells.
    const isObject = typeof cacheKey === 'object' && cacheKey !== null;
    const index = isObject ? encodeKey(cacheKey) : cacheKey;
    const keys = isObject ? namespace.objectKeys : namespace.scalarKeys;
    let skey = keys.get(index);
    if (skey === undefined) {
      skey = namespace.base + (isObject ? (index as string) : encodeKey(cacheKey));
      keys.set(index, skey);
      this.internedCount++;
    }
    return skey;
  }

  /** Marks in-flight loads of a key as superseded: they finish for their callers but never write back. */
  private poison(skey: string): void {
    for (const flights of [this.flights, this.backgroundFlights]) {
      const flight = flights.get(skey);
      if (flight !== undefined) {
        flight.poisoned = true;
        flights.delete(skey);
      }
    }
  }

  /** The store cannot be read: the keys go to the source, nothing is written. */
  private async bypass(
    keys: readonly K[],
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
  ): Promise<Array<V | Error>> {
    const flights = keys.map(() => newFlight<V>());
    for (const flight of flights) flight.poisoned = true;
    await this.fill([...keys], [], flights, context, info, request, 'fresh');
    return Promise.all(flights.map((flight) => flight.promise.then(undefined, asError)));
  }

  /** Answers owned flights from the store, then from the source; writes back what it loaded. */
  private async fill(
    keys: K[],
    skeys: string[],
    flights: Flight<V>[],
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    mode: LoadMode,
  ): Promise<void> {
    let missing: number[] = keys.map((_, j) => j);
    if (mode === 'read') {
      const entries = await this.guard(
        () => this.options.store.getMany(skeys),
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
          if (!this.backgroundFlights.has(skeys[j]!)) stale.push(j);
        }
      }
      if (stale.length > 0) {
        this.refreshInBackground(
          stale.map((j) => keys[j]!),
          context,
        );
      }
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
      // A not-found under onMissing 'error' reaches its callers as the source's own NotFoundError
      // (the spec's alignment made it, with the reason); the negative entry answers later reads.
      if (value instanceof NotFoundError && this.options.missingAsError) flight.resolve(value as V);
      else flight.resolve(write === null ? (value as V) : this.answer(write.entry, keys[j]!));
      if (write !== null && write.ttlMs > 0 && !flight.poisoned) writes.push({ key: skeys[j]!, ...write });
    }
    if (writes.length > 0) {
      await this.guard(
        () => this.options.store.setMany(writes),
        () => undefined,
      );
      this.count(request, 'writes', writes.length);
    }
  }

  /** A hit's value: a frozen shared object, a fresh clone, or a NotFoundError for a negative entry. */
  private answer(entry: CacheEntry, key: K): V {
    if (entry.value === null && this.options.missingAsError)
      return new NotFoundError(key, this.options.space.loader, 'a cached not-found result') as V;
    return entry.sharing === 'frozen'
      ? (entry.value as V)
      : fromShared({ value: entry.value as V, sharing: entry.sharing });
  }

  /**
   * The entry to store for a loaded value, or null when the value cannot be shared. Total: it runs
   * between the source's answer and the callers, so nothing it calls (the spec's ttl function, onError)
   * may throw into the batch. A value without a usable TTL is served like a TTL of 0: not cached.
   */
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
    const lifetime = policy.ttlOf(shared.value as V, key);
    let ttl: number;
    if (typeof lifetime === 'number') {
      ttl = lifetime;
    } else {
      ttl = 0;
      if (!this.warnedBadTtl) {
        this.warnedBadTtl = true;
        this.options.onError(lifetime);
      }
    }
    // Jitter only ever shortens: whole milliseconds rounded down, at least 1 ms, never past the TTL
    // itself (a TTL under 1 ms, or of 10.6 ms drawn without jitter, is kept as it is, not rounded up).
    if (ttl > 0 && policy.jitter > 0)
      ttl = Math.min(ttl, Math.max(1, Math.floor(ttl * (1 - policy.jitter * Math.random()))));
    const freshUntil = now + ttl;
    return {
      entry: {
        value: shared.value,
        sharing: shared.sharing,
        freshUntil,
        staleUntil: freshUntil + policy.graceMs,
        resolved: shared.sharing === 'frozen' ? Object.freeze(Promise.resolve(shared.value)) : undefined,
      },
      ttlMs: ttl === 0 ? 0 : ttl + policy.graceMs,
    };
  }

  /** One source call for the stale keys of a batch; on failure the stale entries keep serving. */
  private refreshInBackground(keys: K[], context: Ctx): void {
    this.loadBatch(keys, context, undefined, null, 'background').then(
      () => undefined,
      () => undefined, // counted by fill; stale-if-error keeps the old entries
    );
  }

  /** Drops keys of one scope from the store; in-flight loads of them will not write back. */
  async invalidate(keys: readonly K[], context: Ctx): Promise<void> {
    const scope = this.scopeOf(context);
    const namespace =
      this.options.store.peekCounter === undefined
        ? await this.namespaceOf(scope)
        : this.currentNamespace(scope);
    if (namespace === null) return;
    const skeys = keys.map((key) => this.storeKey(namespace, key));
    for (const skey of skeys) this.poison(skey);
    await this.guard(
      () => this.options.store.deleteMany(skeys),
      () => undefined,
    );
  }

  /**
   * Invalidates every entry of a scope at once by moving it to a new generation (old entries are never
   * read again and expire by TTL). In-flight loads of the old generation cannot be joined by new loads.
   */
  async invalidateScope(context: Ctx): Promise<void> {
    const scope = this.scopeOf(context);
    await this.guard(
      () => this.options.store.increment(this.generationKey(scope)),
      () => 0,
    );
  }

  private generationKey(scope: string): string {
    return sharedKey(this.options.space, scope, 0, '#generation');
  }

  /** Runs a store call; if it throws or rejects, counts and reports the error and returns the fallback. */
  private async guard<T>(call: () => Promise<T>, fallback: () => T): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.reportStoreError(error);
      return fallback();
    }
  }

  /**
   * Counts every store failure (`stats().errors`) but reports at a bounded rate: per loader, at most
   * STORE_REPORTS_PER_WINDOW failures go to `onError` in a window of STORE_REPORT_WINDOW_MS of its clock
   * (`now`), which opens at the first failure after the last window closed; the rest are only counted.
   * A store failing on every call thus costs at most 5 `onError` calls a second, not one or two per load.
   */
  private reportStoreError(error: unknown): void {
    this.counters.errors++;
    const now = this.options.now();
    if (!(now < this.storeReportWindowEnd)) {
      this.storeReportWindowEnd = now + STORE_REPORT_WINDOW_MS;
      this.storeReportsInWindow = 0;
    }
    if (this.storeReportsInWindow >= STORE_REPORTS_PER_WINDOW) return;
    this.storeReportsInWindow++;
    this.options.onError(asError(error));
  }

  /** Adds to a counter of this loader and of the request (per batch or per miss, never per hit). */
  private count(request: LoaderCounters | null, field: NumericCounter, amount: number): void {
    this.counters[field] += amount;
    if (request !== null) request[field] += amount;
  }
}

type NumericCounter =
  | 'syncHits'
  | 'joins'
  | 'sharedHits'
  | 'staleHits'
  | 'misses'
  | 'sourceCalls'
  | 'sourceMs'
  | 'errors'
  | 'writes';
