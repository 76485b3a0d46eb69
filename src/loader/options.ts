/**
 * The public option types of `DataLoader` and their validation. Every option defaults to what npm
 * `dataloader` 2.x does, so `new DataLoader(fn, opts)` is a drop-in.
 */
import { LRUCache } from 'lru-cache';
import { describe } from '../errors.js';

/** What the batch function receives besides the keys. */
export interface BatchLoadContext {
  /**
   * Aborted when every caller waiting on this batch has gone (each `load` may pass its own signal),
   * or when the loader-level `signal` aborts. Created on first read, so it costs nothing unused.
   */
  readonly signal: AbortSignal;
  /** Why the batch was dispatched. */
  readonly reason: DispatchReason;
}

/**
 * Loads many keys at once. Resolves with an array whose `i`-th value answers `keys[i]` (an `Error`
 * value rejects only that key), or with a `Map` keyed by key or by cache key.
 */
export type BatchLoadFn<K, V> = (
  keys: ReadonlyArray<K>,
  context: BatchLoadContext,
) => PromiseLike<ArrayLike<V | Error> | ReadonlyMap<unknown, V | Error>>;

/** The memo's storage: anything with Map's `get`, `set`, `delete` and `clear`. */
export interface CacheMap<C, V> {
  get(key: C): V | undefined;
  set(key: C, value: V): unknown;
  delete(key: C): unknown;
  clear(): unknown;
}

/** Why a batch was handed to the batch function. */
export type DispatchReason =
  /** The default schedule: after the current tick's promise jobs. */
  | 'tick'
  /** A `batchScheduleFn` called back. */
  | 'schedule'
  /** `batchWindowMs` elapsed, or the adaptive schedule hit `maxBatchWaitMs`. */
  | 'window'
  /** The batch reached `maxBatchSize` under a window or adaptive schedule. */
  | 'full'
  /** The adaptive schedule saw the batch stop growing for one turn of the event loop. */
  | 'settle';

/** Reported once per batch, when it settles. */
export interface BatchEvent<K> {
  /** The loader's `name`, or null. */
  readonly loader: string | null;
  /** The keys handed to the batch function, in `load()` order. */
  readonly keys: ReadonlyArray<K>;
  readonly reason: DispatchReason;
  /** Milliseconds from dispatch to settlement. */
  readonly durationMs: number;
  /** Set when the whole batch failed (the function threw, rejected or answered malformed). */
  readonly error?: unknown;
}

/** Reported once per `load()` that reaches the memo (not for loads rejected up front by an aborted signal). */
export interface LoadEvent<K> {
  readonly loader: string | null;
  readonly key: K;
  /** True when the request memo already held the key. */
  readonly hit: boolean;
}

export interface DataLoaderOptions<K, V, C = K> {
  /** Batch loads together. `false` sends each key alone (maxBatchSize 1). Default: `true`. */
  batch?: boolean;
  /** Most keys in one batch; a positive integer. Default: `Infinity`. */
  maxBatchSize?: number;
  /**
   * Decides when a batch dispatches: called with a callback to run later. Default: after the
   * current tick's promise jobs (`process.nextTick` queued from a promise job), exactly as dataloader;
   * where there is no `process.nextTick` (browsers, edge workers), in the next turn of the event loop
   * (`setImmediate`, else `setTimeout(fn, 0)`), as dataloader does there.
   * Cannot be combined with `batchWindowMs` or `adaptive`.
   */
  batchScheduleFn?: (callback: () => void) => void;
  /**
   * Collect keys for this many milliseconds from the first key of a batch, then dispatch. A batch
   * that reaches `maxBatchSize` dispatches at once instead of waiting. `0` means the default tick.
   * Default: `0`.
   */
  batchWindowMs?: number;
  /**
   * Adaptive schedule: dispatch once the pending batch has not grown for one turn of the event loop
   * (checked with `setImmediate`, or `setTimeout(fn, 0)` where there is none, after the opening
   * tick), or after `maxBatchWaitMs`, whichever comes first. No fixed latency floor. Default: `false`.
   */
  adaptive?: boolean;
  /** Upper bound on how long the adaptive schedule holds a batch. Only with `adaptive`. Default: `10`. */
  maxBatchWaitMs?: number;
  /** Memoize loads per key for the life of this loader. Default: `true`. */
  cache?: boolean;
  /** Maps a key to its memo key (for object keys). Default: the key itself. */
  cacheKeyFn?: (key: K) => C;
  /** Storage for the memo. Default: a new `Map`. Cannot be combined with `maxCacheEntries`. */
  cacheMap?: CacheMap<C, Promise<V>> | null;
  /**
   * Bound the memo to this many keys, least recently used dropped first (an `lru-cache`), so one
   * long-lived loader cannot grow without bound. Default: unbounded.
   */
  maxCacheEntries?: number;
  /** Keep per-key `Error` results in the memo. `false` lets the next `load` retry. Default: `true`. */
  cacheErrors?: boolean;
  /**
   * `false` (dataloader's timing): every load returns a new promise, and a memo hit resolves together
   * with the batch pending on the loader when it was loaded (or at the next dispatch if none is
   * pending). The resolvers of cached and uncached parents then run in the same tick, so the loads
   * they make for the next level join one batch. `true`: a hit returns the memoized promise itself and
   * resolves as soon as its key is loaded, without waiting for other keys; loads chained after such
   * hits can dispatch as a batch of their own (one more batch call per level), and every hit of a key
   * shares one promise (a forgotten `catch` on a failed key is silent once any caller handled it).
   * Default: `false`.
   */
  immediateCacheHits?: boolean;
  /**
   * When the batch function answers with a `Map` that has no entry for a key: `'null'` resolves the
   * key to `null`, `'error'` rejects it with a `NotFoundError`. Default: `'null'`.
   */
  onMissing?: 'null' | 'error';
  /**
   * Aborting it settles every load at once: the keys of every pending or in-flight batch reject with
   * its reason (and leave the memo), even when the batch function ignores its signal, whose late
   * answer is then ignored; it aborts every batch's signal and rejects later loads. A loader adds no
   * listener of its own: one listener per signal serves every loader on it. Default: none.
   */
  signal?: AbortSignal;
  /** A name for errors and observability events. Default: `null`. */
  name?: string | null;
  /** Called when each batch settles. Costs nothing when absent (`null` too). Default: none. */
  onBatch?: ((event: BatchEvent<K>) => void) | null;
  /** Called on each load with whether the memo held it. Costs nothing when absent. Default: none. */
  onLoad?: ((event: LoadEvent<K>) => void) | null;
}

/** How a loader schedules its batches, resolved once at construction. */
export type Schedule =
  | { readonly kind: 'tick' }
  | { readonly kind: 'custom'; readonly fn: (callback: () => void) => void }
  | { readonly kind: 'window'; readonly ms: number }
  | { readonly kind: 'adaptive'; readonly maxWaitMs: number };

/** The validated, normalized form of `DataLoaderOptions`. */
export interface ResolvedOptions<K, V, C> {
  readonly maxBatchSize: number;
  readonly schedule: Schedule;
  readonly cacheKeyFn: ((key: K) => C) | null;
  /** How each loader gets its memo (built per loader by `buildMemo`, never while validating). */
  readonly memo: MemoPlan<C, V>;
  readonly cacheErrors: boolean;
  readonly immediateCacheHits: boolean;
  readonly missingAsError: boolean;
  readonly signal: AbortSignal | null;
  readonly name: string | null;
  readonly onBatch: ((event: BatchEvent<K>) => void) | null;
  readonly onLoad: ((event: LoadEvent<K>) => void) | null;
}

const KNOWN_OPTIONS = new Set([
  'batch',
  'maxBatchSize',
  'batchScheduleFn',
  'batchWindowMs',
  'adaptive',
  'maxBatchWaitMs',
  'cache',
  'cacheKeyFn',
  'cacheMap',
  'maxCacheEntries',
  'cacheErrors',
  'immediateCacheHits',
  'onMissing',
  'signal',
  'name',
  'onBatch',
  'onLoad',
]);

function fail(message: string): never {
  throw new TypeError(message);
}

/*
 * The helpers below take an option's value, read once by its literal name: a read by a computed name
 * (`options[name]`) is a keyed lookup, several times dearer per option in a constructor that runs per
 * request.
 */
function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    fail(`DataLoader option ${name} must be a boolean, but got: ${describe(value)}.`);
  return value;
}

/**
 * One of dataloader's function options (`cacheKeyFn`, `batchScheduleFn`): `undefined` is absent, and
 * anything else must be a function, `null` included, as in dataloader.
 */
function optionalFunction<F>(value: unknown, name: string): F | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') fail(`${name} must be a function: ${describe(value)}`);
  return value as F;
}

/** One of loaderkit's own hooks (`onBatch`, `onLoad`): `undefined` or `null` is none. */
function optionalHook<F>(value: unknown, name: string): F | null {
  return value === null ? null : optionalFunction<F>(value, name);
}

function isPositiveCount(value: unknown): value is number {
  return (
    typeof value === 'number' && value >= 1 && (Number.isInteger(value) || value === Number.POSITIVE_INFINITY)
  );
}

function nonNegativeMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(
      `DataLoader option ${name} must be a finite number of milliseconds >= 0, but got: ${describe(value)}.`,
    );
  }
  return value;
}

/*
 * Shared, not allocated per loader: a per-loader literal that the loader keeps can be pretenured by
 * V8 and then drag the whole memo into old space (it doubled the cost per key in `npm run bench`).
 */
const TICK: Schedule = Object.freeze({ kind: 'tick' });

function resolveSchedule(options: DataLoaderOptions<any, any, any>, batching: boolean): Schedule {
  const custom = optionalFunction<(callback: () => void) => void>(options.batchScheduleFn, 'batchScheduleFn');
  const windowMs = nonNegativeMs(options.batchWindowMs, 'batchWindowMs');
  const adaptive = optionalBoolean(options.adaptive, 'adaptive', false);
  const maxWaitMs = nonNegativeMs(options.maxBatchWaitMs, 'maxBatchWaitMs');
  const timed = (windowMs !== undefined && windowMs > 0) || adaptive;
  if (custom !== null && timed) {
    fail(
      'DataLoader options batchScheduleFn and batchWindowMs/adaptive both decide when a batch dispatches: pass one.',
    );
  }
  if (windowMs !== undefined && windowMs > 0 && adaptive) {
    fail(
      'DataLoader options batchWindowMs and adaptive are two schedules: pass one (maxBatchWaitMs bounds adaptive).',
    );
  }
  if (maxWaitMs !== undefined && !adaptive) {
    fail(`DataLoader option maxBatchWaitMs (${maxWaitMs}) only applies with adaptive: true.`);
  }
  if (timed && !batching) {
    fail(
      'DataLoader option batch: false sends every key alone, so batchWindowMs/adaptive would have no effect.',
    );
  }
  if (custom !== null) return { kind: 'custom', fn: custom };
  if (adaptive) return { kind: 'adaptive', maxWaitMs: maxWaitMs ?? 10 };
  if (windowMs !== undefined && windowMs > 0) return { kind: 'window', ms: windowMs };
  return TICK;
}

/** A loader's memo, described: no memo, a `Map`, an lru-cache of `max` keys, or the user's `cacheMap`. */
export type MemoPlan<C, V> =
  | { readonly kind: 'none' }
  | { readonly kind: 'map' }
  | { readonly kind: 'lru'; readonly max: number }
  | { readonly kind: 'given'; readonly map: CacheMap<C, Promise<V>> };

// Shared, not allocated per loader (see TICK).
const NO_MEMO: MemoPlan<never, never> = Object.freeze({ kind: 'none' });
const MAP_MEMO: MemoPlan<never, never> = Object.freeze({ kind: 'map' });

const oneSlot = (): number => 1;

/** The memo a new loader starts with, from its plan. */
export function buildMemo<C, V>(plan: MemoPlan<C, V>): CacheMap<C, Promise<V>> | null {
  switch (plan.kind) {
    case 'none':
      return null;
    case 'map':
      return new Map();
    case 'lru':
      // Bounded by a size of 1 per key, not `max`: lru-cache preallocates `max` slots up front (100k
      // keys cost ~7 ms and 1.6 MB per loader, per request), while `maxSize` grows as keys come.
      return new LRUCache<NonNullable<C>, Promise<V>>({
        maxSize: plan.max,
        sizeCalculation: oneSlot,
      }) as unknown as CacheMap<C, Promise<V>>;
    case 'given':
      return plan.map;
  }
}

function resolveMemo<C, V>(options: DataLoaderOptions<any, V, C>): MemoPlan<C, V> {
  const caching = optionalBoolean(options.cache, 'cache', true);
  const cacheMap = options.cacheMap;
  const maxEntries = options.maxCacheEntries;
  if (maxEntries !== undefined && !isPositiveCount(maxEntries)) {
    fail(`DataLoader option maxCacheEntries must be a positive integer, but got: ${describe(maxEntries)}.`);
  }
  if (!caching) {
    if (maxEntries !== undefined) fail('DataLoader option maxCacheEntries has no effect with cache: false.');
    return NO_MEMO;
  }
  if (cacheMap === null) {
    // dataloader: an explicit null cacheMap turns the memo off.
    if (maxEntries !== undefined)
      fail('DataLoader option maxCacheEntries has no effect with cacheMap: null.');
    return NO_MEMO;
  }
  if (cacheMap === undefined) {
    if (maxEntries === undefined || maxEntries === Number.POSITIVE_INFINITY) return MAP_MEMO;
    return { kind: 'lru', max: maxEntries };
  }
  if (maxEntries !== undefined) {
    fail(
      'DataLoader options cacheMap and maxCacheEntries both define the memo: bound your cacheMap instead.',
    );
  }
  if (typeof cacheMap !== 'object' && typeof cacheMap !== 'function') {
    fail(
      `DataLoader option cacheMap must be an object with get, set, delete and clear, but got: ${describe(cacheMap)}.`,
    );
  }
  const missing = ['get', 'set', 'delete', 'clear'].filter(
    (method) => typeof (cacheMap as unknown as Record<string, unknown>)[method] !== 'function',
  );
  if (missing.length > 0) fail(`Custom cacheMap missing methods: ${missing.join(', ')}`);
  return { kind: 'given', map: cacheMap as CacheMap<C, Promise<V>> };
}

/** What no options resolve to: dataloader's defaults (checked equal to resolving `{}` in the tests). */
function defaultOptions<K, V, C>(): ResolvedOptions<K, V, C> {
  return {
    maxBatchSize: Number.POSITIVE_INFINITY,
    schedule: TICK,
    cacheKeyFn: null,
    memo: MAP_MEMO,
    cacheErrors: true,
    immediateCacheHits: false,
    missingAsError: false,
    signal: null,
    name: null,
    onBatch: null,
    onLoad: null,
  };
}

/** Validates options once, at construction; every message names the option and echoes its value. */
export function resolveOptions<K, V, C>(
  options: DataLoaderOptions<K, V, C> | undefined,
): ResolvedOptions<K, V, C> {
  // `new DataLoader(fn)` per request is the common pattern: skip the checks there is nothing to check.
  if (options === undefined || options === null) return defaultOptions();
  // Request loaders hand over options their definition validated once (see `preResolved`).
  const pre = (options as { [RESOLVED]?: ResolvedOptions<K, V, C> })[RESOLVED];
  if (pre !== undefined) return pre;
  if (typeof options !== 'object')
    fail(`DataLoader options must be an object, but got: ${describe(options)}.`);
  const raw = options as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(name)) fail(`Unknown DataLoader option ${JSON.stringify(name)}.`);
  }
  const batching = optionalBoolean(options.batch, 'batch', true);
  let maxBatchSize = Number.POSITIVE_INFINITY;
  if (raw.maxBatchSize !== undefined) {
    if (!isPositiveCount(raw.maxBatchSize)) {
      fail(`maxBatchSize must be a positive integer or Infinity, but got: ${describe(raw.maxBatchSize)}`);
    }
    maxBatchSize = raw.maxBatchSize;
  }
  if (!batching) maxBatchSize = 1;
  const onMissing = raw.onMissing ?? 'null';
  if (onMissing !== 'null' && onMissing !== 'error') {
    fail(`DataLoader option onMissing must be 'null' or 'error', but got: ${describe(onMissing)}.`);
  }
  const signal = raw.signal ?? null;
  if (signal !== null && !(signal instanceof AbortSignal)) {
    fail(`DataLoader option signal must be an AbortSignal, but got: ${describe(signal)}.`);
  }
  const name = raw.name ?? null;
  if (name !== null && typeof name !== 'string') {
    fail(`DataLoader option name must be a string, but got: ${describe(name)}.`);
  }
  return {
    maxBatchSize,
    schedule: resolveSchedule(options, batching),
    cacheKeyFn: optionalFunction(options.cacheKeyFn, 'cacheKeyFn'),
    memo: resolveMemo<C, V>(options),
    cacheErrors: optionalBoolean(options.cacheErrors, 'cacheErrors', true),
    immediateCacheHits: optionalBoolean(options.immediateCacheHits, 'immediateCacheHits', false),
    missingAsError: onMissing === 'error',
    signal: signal as AbortSignal | null,
    name: name as string | null,
    onBatch: optionalHook(options.onBatch, 'onBatch'),
    onLoad: optionalHook(options.onLoad, 'onLoad'),
  };
}

const RESOLVED: unique symbol = Symbol('loaderkit.resolvedOptions');

/**
 * Options that `new DataLoader` takes as already validated: for loaders made per request from one
 * definition, which validates its options once (`resolveOptions`) instead of in every request.
 */
export function preResolved<K, V, C>(resolved: ResolvedOptions<K, V, C>): DataLoaderOptions<K, V, C> {
  return { [RESOLVED]: resolved } as DataLoaderOptions<K, V, C>;
}
