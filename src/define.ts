/**
 * `defineLoaders(specs, options)` → `createLoaders(context)`: loaders are declared once and created per
 * request (lazily, on first use), with key and value types inferred from each spec's batch function.
 */
import type { ReadonlyDeep, UnionToIntersection } from 'type-fest';
import type { BusStats } from './bus/bus.js';
import {
  type ResolvedPolicy,
  resolvePolicy,
  resolveStoreOptions,
  type SharedPolicy,
} from './cache/policy.js';
import type { RemoteStats, ResilienceOptions } from './cache/remote/resilient.js';
import { SharedCache } from './cache/shared-cache.js';
import type { LocalStore, RemoteStore, StoreStats } from './cache/store.js';
import { Tiers } from './cache/tiers.js';
import { describe } from './errors.js';
import {
  type BatchLoadContext,
  type DataLoaderOptions,
  type ResolvedOptions,
  resolveOptions,
} from './loader/options.js';
import { isolateOnError, toError } from './observe/report.js';
import { LoaderCounters, type LoaderStats } from './observe/stats.js';
import {
  alignSpecResult,
  type LoaderDefinition,
  type LoaderObserver,
  RequestLoader,
} from './request-loader.js';

/** One loader's declaration. */
export interface LoaderSpec<K, V, Ctx> {
  /**
   * Loads many keys for one request: resolves with an array aligned with `keys` (an `Error` value
   * rejects only its key) or a `Map` keyed by key or by cache key.
   */
  batch: (
    keys: readonly K[],
    context: Ctx,
    info: BatchLoadContext,
  ) => PromiseLike<ArrayLike<V | Error> | ReadonlyMap<unknown, V | Error>>;
  /** Memo and shared-key identity of a key (object keys). Default: the key itself. */
  cacheKey?: (key: K) => unknown;
  /** Most keys per batch call. Default: `Infinity`. */
  maxBatchSize?: number;
  /** Collect keys for this many ms (full batches go at once). Default: `0` (the tick). */
  batchWindowMs?: number;
  /** Adaptive schedule (see DataLoader). Default: `false`. */
  adaptive?: boolean;
  /** Bound of the adaptive schedule. Default: `10`. */
  maxBatchWaitMs?: number;
  /** Memoize per-key errors for the request. Default: `true`. */
  cacheErrors?: boolean;
  /** Bound the request memo. Default: unbounded. */
  maxCacheEntries?: number;
  /** Memo hits resolve without waiting for other keys (see DataLoader). Default: DataLoader's. */
  immediateCacheHits?: boolean;
  /**
   * Not-found keys (`null`/`undefined` in an array result, absent from a Map result): `'null'` resolves
   * them to null, `'error'` rejects them with a NotFoundError, shared or not. Default: `'null'`.
   */
  onMissing?: 'null' | 'error';
  /** Share results across requests (opt-in). `scope` is required. Default: not shared. */
  shared?: SharedPolicy<K, V, Ctx>;
  /**
   * Prime other loaders of the same request with each loaded value: `{ users: (user) => user.id }`
   * on a by-slug loader fills the by-id loader, so one entity is not fetched twice. Never called for
   * a null or undefined value. One that throws leaves that loader unprimed for that value and never
   * fails the load; it is reported once per loader through `onError`. Default: none.
   */
  primes?: Record<string, (value: NonNullable<V>, key: K) => unknown>;
}

export interface DefineLoadersOptions {
  /**
   * The in-process tier of shared loaders (`createMemoryStore({ maxEntries, maxBytes })`). Default: one
   * memory store of 10,000 entries, made on first use, owned and closed by `close()`.
   */
  store?: LocalStore;
  /**
   * A remote tier under the in-process one (e.g. `createRedisStore` of `loaderkit/redis`), read once
   * per batch for the keys the in-process tier misses. Not closed by `close()`. Default: none.
   */
  remote?: RemoteStore;
  /** Deadline, circuit breaker and write-back bound of the remote tier; see ResilienceOptions. */
  remoteOptions?: ResilienceOptions;
  /** Prefix of every shared key (keeps applications on one Redis apart). Default: `'loaderkit'`. */
  prefix?: string;
  /** The clock for TTLs, in epoch ms. Default: `Date.now`. */
  now?: () => number;
  /**
   * Store failures, values that cannot be shared, and throwing observers or `primes` functions. Isolated:
   * what it throws (or rejects with) never reaches a load; its first failure goes to `console.warn`.
   * At most 5 store failures per loader per second are reported (all are counted in `stats().errors`).
   * Default: `console.warn`.
   */
  onError?: (error: Error) => void;
}

/** Any batch function (the constraint the specs' batch functions are inferred under). */
type AnyBatch = (
  keys: readonly any[],
  context: any,
  info: BatchLoadContext,
) => PromiseLike<ArrayLike<unknown> | ReadonlyMap<unknown, unknown>>;
/** What every spec has; the rest is typed per spec by `SpecOf`. */
type AnySpec = { readonly batch: AnyBatch };
type Resolved<T> = T extends PromiseLike<infer R> ? R : T;
type ValueOfResult<R> =
  R extends ReadonlyMap<unknown, infer V>
    ? Exclude<V, Error> | null
    : R extends ArrayLike<infer V>
      ? Exclude<V, Error>
      : never;

/** The key type of a spec, from its batch function's first parameter. */
export type SpecKey<S> = S extends { batch: (keys: readonly (infer K)[], ...rest: never[]) => unknown }
  ? K
  : never;
/** The value type of a spec, from what its batch function resolves with (`| null` for Map results). */
export type SpecValue<S> = S extends { batch: (...args: never[]) => infer R }
  ? ValueOfResult<Resolved<R>>
  : never;
/** The context a spec's batch function takes. */
export type SpecContext<S> = S extends { batch: (keys: never, context: infer C, ...rest: never[]) => unknown }
  ? C
  : never;

/**
 * A spec typed from its batch function `F`: `cacheKey`, `shared.scope`, `shared.ttl` and `primes`
 * see its key, context and value types, so they need no annotations.
 */
export type SpecOf<F> = { batch: F } & Omit<
  // Non-null: the callbacks never see a not-found value (and `V | null` from a Map-typed batch would
  // make a spec annotated with `LoaderSpec<K, V, Ctx>` incompatible with its own inferred type).
  LoaderSpec<SpecKey<{ batch: F }>, NonNullable<SpecValue<{ batch: F }>>, SpecContext<{ batch: F }>>,
  'batch'
>;

/**
 * True when a spec is shared: it has a `shared` member that is required and not only `undefined`, as
 * in a spec written out. A declared-optional one (`LoaderSpec`, `loader({...})`, a conditional spread)
 * may be absent, so its loader keeps the batch function's value type.
 */
type HasShared<S> = S extends { shared: infer P }
  ? [Exclude<P, undefined>] extends [never]
    ? false
    : true
  : false;

/**
 * What a spec's loader resolves with: its value, deep-readonly when the spec is shared, since shared
 * plain data is deep-frozen (values with Date, Map, Set… are cloned per read, but typed readonly too).
 */
export type LoaderValue<S> = HasShared<S> extends true ? ReadonlyDeep<SpecValue<S>> : SpecValue<S>;

/** The per-request loaders of a set of specs. */
export type Loaders<S extends Record<string, AnySpec>> = {
  readonly [N in keyof S]: RequestLoader<SpecKey<S[N]>, LoaderValue<S[N]>>;
};

/** The context `createLoaders` takes: what every spec's batch function needs. */
export type LoadersContext<S extends Record<string, AnySpec>> =
  UnionToIntersection<
    { [N in keyof S]: unknown extends SpecContext<S[N]> ? never : SpecContext<S[N]> }[keyof S]
  > extends infer C
    ? [C] extends [never]
      ? unknown
      : C
    : never;

/** Per-request options of `createLoaders`. */
export interface CreateLoadersOptions {
  /** The request's abort signal: aborting it aborts the batch functions' signals and fails later loads. */
  signal?: AbortSignal;
}

export interface CreateLoaders<S extends Record<string, AnySpec>> {
  /** The loaders of one request (created lazily, on first use of each). */
  (context: LoadersContext<S>, options?: CreateLoadersOptions): Loaders<S>;
  /** The loader names, in spec order. */
  readonly names: ReadonlyArray<keyof S & string>;
  /** Process-wide statistics per loader, and the store's figures. */
  stats(): {
    loaders: Record<keyof S, LoaderStats>;
    store: StoreStats | undefined;
    remote: RemoteStats | undefined;
    /** The remote store's invalidation bus (messages, trust, lag), if it has one. */
    bus: BusStats | undefined;
  };
  /** Drops keys of a loader from the shared cache, in the scope of `context` (outside requests). */
  invalidate<N extends keyof S>(
    name: N,
    keys: readonly SpecKey<S[N]>[],
    context: LoadersContext<S>,
  ): Promise<void>;
  /** Invalidates every shared entry of a loader in the scope of `context`. */
  invalidateScope(name: keyof S, context: LoadersContext<S>): Promise<void>;
  /** Closes the store if `defineLoaders` created it. Idempotent. */
  close(): Promise<void>;
  /** Adds an observer of every loader's batches and source calls; returns the function that removes it. */
  observe(observer: LoaderObserver): () => void;
}

/**
 * Types one spec on its own, so functions in it are checked against the batch function's types:
 * `users: loader({ batch: (ids: readonly number[], ctx: Ctx) => ..., shared: { scope: (ctx) => ctx.tenantId, ttl } })`
 * gives `ctx` the type `Ctx` without an annotation. Returns the spec unchanged.
 */
export function loader<K, Ctx, R extends ArrayLike<unknown> | ReadonlyMap<unknown, unknown>>(
  spec: SharedTypedSpec<K, Ctx, R>,
): SharedTypedSpec<K, Ctx, R>;
export function loader<K, Ctx, R extends ArrayLike<unknown> | ReadonlyMap<unknown, unknown>>(
  spec: TypedSpec<K, Ctx, R>,
): TypedSpec<K, Ctx, R>;
export function loader(spec: unknown): unknown {
  return spec;
}

/** A `TypedSpec` with its shared policy present (its loader's values are typed readonly). */
export type SharedTypedSpec<K, Ctx, R> = TypedSpec<K, Ctx, R> & {
  shared: SharedPolicy<K, NonNullable<ValueOfResult<R>>, Ctx>;
};

/** A spec whose batch function resolves with `R`; its other functions see the value type of `R`. */
export type TypedSpec<K, Ctx, R> = Omit<LoaderSpec<K, ValueOfResult<R>, Ctx>, 'batch'> & {
  batch: (keys: readonly K[], context: Ctx, info: BatchLoadContext) => PromiseLike<R>;
};

const STATE = Symbol('loaderkit.request');

/** What a request's loaders object keeps besides its loaders. */
interface RequestState {
  readonly context: unknown;
  readonly signal: AbortSignal | null;
  /** The loaders made so far, in order of first use. */
  readonly created: RequestLoader<unknown, unknown>[];
}

/**
 * Throws a TypeError naming `caller` unless `value` is a function `defineLoaders` returned. For the
 * integrations (plugin, metrics, tracing) that take one.
 */
export function assertCreateLoaders(value: unknown, caller: string): void {
  const candidate = value as Partial<CreateLoaders<Record<string, AnySpec>>> | null;
  if (
    typeof value !== 'function' ||
    !Array.isArray(candidate?.names) ||
    typeof candidate?.observe !== 'function'
  ) {
    throw new TypeError(
      `${caller}(createLoaders) takes the function defineLoaders returned, but got: ${describe(value)}.`,
    );
  }
}

/** The loaders a request has used so far (made on first use), e.g. to read their statistics. */
export function usedLoaders(loaders: object): ReadonlyArray<RequestLoader<unknown, unknown>> {
  const state = (loaders as { [STATE]?: RequestState })[STATE];
  if (state === undefined)
    throw new TypeError(
      `usedLoaders() takes the object createLoaders(context) returned, but got: ${describe(loaders)}.`,
    );
  return state.created;
}
const CORE_OPTIONS = [
  'maxBatchSize',
  'batchWindowMs',
  'adaptive',
  'maxBatchWaitMs',
  'cacheErrors',
  'maxCacheEntries',
  'immediateCacheHits',
  'onMissing',
] as const;
const SPEC_OPTIONS: readonly string[] = ['batch', 'cacheKey', 'shared', 'primes', ...CORE_OPTIONS];
const DEFINE_OPTIONS: readonly string[] = ['store', 'remote', 'remoteOptions', 'prefix', 'now', 'onError'];

function specError(name: string, message: string, cause?: unknown): TypeError {
  return new TypeError(
    `Loader ${JSON.stringify(name)}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Checks a spec's core options with DataLoader's own rules (one rule, one place) now, at definition,
 * and rethrows its TypeError with the loader's name: `Loader "users": option maxBatchSize must be…`.
 */
function checkCoreOptions(
  name: string,
  core: DataLoaderOptions<unknown, unknown, unknown>,
): ResolvedOptions<unknown, unknown, unknown> {
  try {
    return resolveOptions(core);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // DataLoader's messages start "DataLoader option x…", "DataLoader options x and y…" or "x must…".
    let message = error.message.replace(/^DataLoader (options?) /, '$1 ');
    if (!/^options? /.test(message)) message = `option ${message}`;
    if (!message.endsWith('.')) message += '.';
    throw specError(name, message, error);
  }
}

/**
 * Declares loaders once; returns `createLoaders(context)`, which makes one typed loader per spec for
 * a request. Specs are validated here, so a bad spec fails at startup, not in a request.
 *
 * Typing: `B` is inferred per spec from its batch function alone (a mapped type read backwards), and
 * gives the spec's other functions their key, context and value types; `S` is the specs as written
 * (which ones are shared, for readonly values). Neither is meant to be passed by hand.
 */
export function defineLoaders<B extends Record<string, AnyBatch>, const S extends Record<string, AnySpec>>(
  specs: { [N in keyof B]: SpecOf<B[N]> } & S,
  options: DefineLoadersOptions = {},
): CreateLoaders<S> {
  if (typeof specs !== 'object' || specs === null) {
    throw new TypeError(`defineLoaders(specs) takes an object of loader specs, but got: ${describe(specs)}.`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `defineLoaders(specs, options): options must be an object, but got: ${describe(options)}.`,
    );
  }
  for (const option of Object.keys(options)) {
    if (!DEFINE_OPTIONS.includes(option)) {
      throw new TypeError(
        `defineLoaders: unknown option ${JSON.stringify(option)}; valid options: ${DEFINE_OPTIONS.join(', ')}.`,
      );
    }
  }
  const resolved = resolveStoreOptions('defineLoaders', options);
  const { prefix, now } = resolved;
  const onError = isolateOnError(resolved.onError);
  const names = Object.keys(specs);
  const tiers = new Tiers(resolved, onError);

  const definitions = new Map<string, LoaderDefinition<unknown, unknown, unknown>>();
  // What user code around loads threw, reported once per observer (or primes table) and kind.
  const reported = new WeakMap<object, Set<string>>();
  for (const name of names)
    definitions.set(
      name,
      buildDefinition(
        name,
        (specs as Record<string, AnyLoaderSpec>)[name]!,
        names,
        prefix,
        now,
        onError,
        tiers,
        reported,
      ),
    );

  // One prototype per definition set: a getter per loader creates it on first use in a request.
  const proto: Record<string, unknown> = {};
  for (const [name, definition] of definitions) {
    Object.defineProperty(proto, name, {
      enumerable: true,
      get(this: { [STATE]: RequestState }) {
        const state = this[STATE];
        const loader = new RequestLoader(definition, state.context, this as never, state.signal);
        state.created.push(loader);
        Object.defineProperty(this, name, { value: loader, enumerable: true });
        return loader;
      },
    });
  }

  const createLoaders = ((context: unknown, requestOptions?: CreateLoadersOptions) => {
    const signal = requestOptions?.signal ?? null;
    // Checked here, once per request: the request loaders take their options as already validated.
    if (signal !== null && !(signal instanceof AbortSignal))
      throw new TypeError(
        `createLoaders(context, { signal }) takes an AbortSignal, but got: ${describe(signal)}.`,
      );
    const loaders = Object.create(proto) as Record<PropertyKey, unknown>;
    const state: RequestState = { context, signal, created: [] };
    loaders[STATE] = state;
    return loaders;
  }) as CreateLoaders<S>;
  (createLoaders as { names: readonly string[] }).names = names;

  const definitionOf = (name: PropertyKey): LoaderDefinition<unknown, unknown, unknown> => {
    const definition = definitions.get(name as string);
    if (definition === undefined)
      throw new TypeError(`No loader named ${describe(name)}; defined: ${names.join(', ')}.`);
    return definition;
  };
  createLoaders.stats = () => ({
    loaders: Object.fromEntries(
      names.map((name) => [name, definitionOf(name).counters.snapshot()]),
    ) as Record<keyof S, LoaderStats>,
    ...tiers.stats(),
  });
  createLoaders.invalidate = async (name, keys, context) => {
    const shared = definitionOf(name).shared;
    await shared?.invalidate(keys, shared.scopeOf(context));
  };
  createLoaders.invalidateScope = async (name, context) => {
    const shared = definitionOf(name).shared;
    await shared?.invalidateScope(shared.scopeOf(context));
  };
  createLoaders.observe = (observer) => {
    if (typeof observer !== 'object' || observer === null) {
      throw new TypeError(
        `createLoaders.observe(observer) takes an object with batch and/or source methods, but got: ${describe(observer)}.`,
      );
    }
    for (const definition of definitions.values()) definition.observers.add(observer);
    return () => {
      for (const definition of definitions.values()) definition.observers.delete(observer);
    };
  };
  createLoaders.close = async () => {
    await tiers.close();
  };
  return createLoaders;
}

/** A spec as the runtime reads it. */
type AnyLoaderSpec = LoaderSpec<any, any, any>;

function buildDefinition(
  name: string,
  spec: AnyLoaderSpec,
  names: readonly string[],
  prefix: string,
  now: () => number,
  onError: (error: Error) => void,
  tiers: Tiers,
  reported: WeakMap<object, Set<string>>,
): LoaderDefinition<unknown, unknown, unknown> {
  if (typeof spec !== 'object' || spec === null)
    throw specError(name, `a spec must be an object with a batch function, but got: ${describe(spec)}.`);
  for (const option of Object.keys(spec)) {
    if (!SPEC_OPTIONS.includes(option))
      throw specError(
        name,
        `unknown option ${JSON.stringify(option)}; valid options: ${SPEC_OPTIONS.join(', ')}.`,
      );
  }
  if (typeof spec.batch !== 'function')
    throw specError(
      name,
      `batch must be a function (keys, context, { signal }), but got: ${describe(spec.batch)}.`,
    );
  const cacheKey = spec.cacheKey ?? null;
  if (cacheKey !== null && typeof cacheKey !== 'function')
    throw specError(name, `cacheKey must be a function, but got: ${describe(cacheKey)}.`);
  const primes: Array<readonly [string, (value: unknown, key: unknown) => unknown]> = [];
  if (spec.primes !== undefined) {
    if (typeof spec.primes !== 'object' || spec.primes === null)
      throw specError(name, `primes must be an object of functions, but got: ${describe(spec.primes)}.`);
    for (const [target, keyOf] of Object.entries(spec.primes)) {
      if (!names.includes(target))
        throw specError(
          name,
          `primes names ${JSON.stringify(target)}, which is not a loader (defined: ${names.join(', ')}).`,
        );
      if (typeof keyOf !== 'function')
        throw specError(
          name,
          `primes.${target} must be a function of the value, but got: ${describe(keyOf)}.`,
        );
      primes.push([target, keyOf]);
    }
  }

  const coreOptions: DataLoaderOptions<unknown, unknown, unknown> = { name };
  for (const option of CORE_OPTIONS)
    if (spec[option] !== undefined) (coreOptions as Record<string, unknown>)[option] = spec[option];
  if (cacheKey !== null) coreOptions.cacheKeyFn = cacheKey;
  const core = checkCoreOptions(name, coreOptions);
  const missingAsError = spec.onMissing === 'error';
  const batch = spec.batch;
  const observers = new Set<LoaderObserver>();
  const reportOnce = (subject: object, kind: string, thrown: unknown): void => {
    let kinds = reported.get(subject);
    if (kinds === undefined) {
      kinds = new Set();
      reported.set(subject, kinds);
    }
    if (kinds.has(kind)) return;
    kinds.add(kind);
    const error = toError(thrown);
    onError(
      new Error(
        `Loader ${JSON.stringify(name)}: ${kind === 'primes' ? 'a primes function' : `an observer's ${kind}`} threw (${error.message}); the load is unaffected. Reported once.`,
        { cause: thrown },
      ),
    );
  };
  // The batch function gets an array of its own (it may sort or splice it, as the core DataLoader
  // allows): alignment and the shared tier's write-back read `keys`, which must stay in load order.
  // One shallow copy per batch call (both paths, plain and shared, come through here).
  const align = async (keys: readonly unknown[], context: unknown, info: BatchLoadContext) =>
    alignSpecResult(await batch(keys.slice(), context, info), keys, cacheKey, missingAsError, name);
  const source = async (keys: readonly unknown[], context: unknown, info: BatchLoadContext) => {
    if (observers.size === 0) return align(keys, context, info);
    const started = performance.now();
    let failed = true;
    try {
      const values = await align(keys, context, info);
      failed = false;
      return values;
    } finally {
      const ms = performance.now() - started;
      for (const observer of observers) {
        if (typeof observer.source !== 'function') continue;
        try {
          observer.source(name, ms, failed);
        } catch (thrown) {
          reportOnce(observer, 'source', thrown);
        }
      }
    }
  };

  let policy: ResolvedPolicy<unknown, unknown, unknown> | null = null;
  if (spec.shared !== undefined) policy = resolvePolicy(name, spec.shared);
  const shared =
    policy === null
      ? null
      : new SharedCache<unknown, unknown, unknown>({
          space: { prefix, loader: name, version: policy.version },
          policy,
          local: tiers.local(),
          remote: tiers.remote,
          onStoreError: tiers.localReporter(),
          join: (loader, member) => tiers.join(loader, member),
          source: (keys, context, info) => source(keys, context, info ?? backgroundContext()),
          cacheKeyOf: cacheKey ?? ((key) => key),
          missingAsError,
          now,
          onError,
        });
  return {
    name,
    source,
    core,
    cacheKeyOf: cacheKey ?? ((key) => key),
    shared,
    counters: shared?.counters ?? new LoaderCounters(),
    primes,
    observers,
    reportOnce,
  };
}

/** The batch context of a background refresh (grace), which no caller can abort. */
function backgroundContext(): BatchLoadContext {
  return { signal: new AbortController().signal, reason: 'schedule' };
}
