/**
 * `cached(fn, options)`: the shared cache (TTL, jitter, negative caching, grace, scope, single-flight)
 * for a plain async function of arguments, for code outside resolvers.
 */

import { encodeKey } from './cache/keys.js';
import { POLICY_OPTIONS, resolvePolicy, resolveStoreOptions, type SharedPolicy } from './cache/policy.js';
import type { ResilienceOptions } from './cache/remote/resilient.js';
import { SharedCache } from './cache/shared-cache.js';
import type { LocalStore, RemoteStore } from './cache/store.js';
import { Tiers } from './cache/tiers.js';
import { describe, isError } from './errors.js';
import { isolateOnError } from './observe/report.js';
import type { LoaderStats } from './observe/stats.js';

export interface CachedOptions<A extends unknown[], V>
  extends Omit<SharedPolicy<A, V, A>, 'scope' | 'ttl' | 'refreshContext'> {
  /** Names the function in keys, errors and statistics. Required. */
  name: string;
  /** `'global'`, or a function of the arguments returning the scope (tenant, viewer). Required. */
  scope: 'global' | ((...args: A) => string | number);
  /** Milliseconds a result stays fresh, or a function of the result and the arguments. Required. */
  ttl: number | ((value: V, args: A) => number);
  /** The in-process tier. Default: a memory store of its own (closed by `close()`). */
  store?: LocalStore;
  /** A remote tier under it (not closed by `close()`). Default: none. */
  remote?: RemoteStore;
  /** Deadline, circuit breaker and write-back bound of the remote tier. */
  remoteOptions?: ResilienceOptions;
  /** Prefix of every key. Default: `'loaderkit'`. */
  prefix?: string;
  /** The clock, epoch ms. Default: `Date.now`. */
  now?: () => number;
  /**
   * Store failures and values that cannot be shared, at most 5 store failures a second (all are
   * counted in `stats().errors`). Isolated: what it throws never reaches a call. Default: `console.warn`.
   */
  onError?: (error: Error) => void;
}

export interface CachedFunction<A extends unknown[], V> {
  /** Calls through the cache: concurrent calls with equal arguments in one scope share one call of `fn`. */
  (...args: A): Promise<V>;
  /** Drops the entry for these arguments. */
  invalidate(...args: A): Promise<void>;
  /** Calls `fn` now and stores the result. */
  refresh(...args: A): Promise<V>;
  /** Invalidates every entry of the scope these arguments belong to. */
  invalidateScope(...args: A): Promise<void>;
  stats(): LoaderStats;
  /** Closes the store if `cached` created it. */
  close(): Promise<void>;
}

const CACHED_OPTIONS: readonly string[] = [
  'name',
  ...POLICY_OPTIONS.filter((option) => option !== 'refreshContext'),
  'store',
  'remote',
  'remoteOptions',
  'prefix',
  'now',
  'onError',
];

/**
 * Wraps `fn` with the shared cache. Arguments are the key (built with `encodeKey`): plain data only. Each
 * call copies them once, at the call; the key, the scope and `fn` all see that copy, so changing an
 * argument object after the call changes nothing. Arguments that are no key (class instances,
 * functions, cycles) reject the call with a TypeError.
 */
export function cached<A extends unknown[], V>(
  fn: (...args: A) => Promise<V>,
  options: CachedOptions<A, V>,
): CachedFunction<A, V> {
  if (typeof fn !== 'function')
    throw new TypeError(`cached(fn, options) takes an async function, but got: ${describe(fn)}.`);
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.name !== 'string' ||
    options.name === ''
  ) {
    throw new TypeError(
      `cached(fn, options) needs options.name (a non-empty string), but got: ${describe(options?.name)}.`,
    );
  }
  const subject = `cached ${JSON.stringify(options.name)}`;
  for (const option of Object.keys(options)) {
    if (!CACHED_OPTIONS.includes(option)) {
      throw new TypeError(
        `${subject}: unknown option ${JSON.stringify(option)}; valid options: ${CACHED_OPTIONS.join(', ')}.`,
      );
    }
  }
  const {
    name,
    store: _store,
    remote: _remote,
    remoteOptions: _remoteOptions,
    prefix: _prefix,
    now: _now,
    onError: _onError,
    scope,
    ttl,
    ...rest
  } = options;
  const resolved = resolveStoreOptions(subject, options);
  const { prefix, now } = resolved;
  const onError = isolateOnError(resolved.onError);
  const policy = resolvePolicy<A, V, A>(name, {
    ...rest,
    scope: typeof scope === 'function' ? (args: A) => scope(...args) : scope,
    ttl: typeof ttl === 'function' ? (value: V, args: A) => ttl(value, args) : ttl,
  });
  const tiers = new Tiers(resolved, onError);
  const cache = new SharedCache<A, V, A>({
    space: { prefix, loader: name, version: policy.version },
    policy,
    local: tiers.local(),
    remote: tiers.remote,
    onStoreError: tiers.localReporter(),
    join: (loader, member) => tiers.join(loader, member),
    source: async (keys) => Promise.all(keys.map((args) => fn(...args))),
    cacheKeyOf: (args) => args,
    missingAsError: false,
    now,
    onError,
  });
  // Every entry point works on one snapshot of its arguments, taken before anything else: key, scope
  // and `fn` (which runs after awaits) all see the arguments as they were at the call, whatever the
  // caller does to its objects afterwards.
  const call = async (given: A, fresh: boolean): Promise<V> => {
    const args = snapshotArguments(given);
    if (fresh) cache.fence(args, cache.scopeOf(args));
    cache.counters.loads++;
    cache.counters.recordBatch(1);
    const [value] = await cache.loadBatch(
      [args],
      cache.scopeOf(args),
      args,
      undefined,
      null,
      fresh ? 'fresh' : 'read',
    );
    if (isError(value)) throw value;
    return value as V;
  };
  const wrapped = ((...args: A) => call(args, false)) as CachedFunction<A, V>;
  wrapped.invalidate = async (...given) => {
    const args = snapshotArguments(given);
    await cache.invalidate([args], cache.scopeOf(args));
  };
  wrapped.refresh = (...args) => call(args, true);
  wrapped.invalidateScope = async (...given) =>
    cache.invalidateScope(cache.scopeOf(snapshotArguments(given)));
  wrapped.stats = () => cache.counters.snapshot();
  wrapped.close = async () => {
    await tiers.close();
  };
  return wrapped;
}

/**
 * A copy of a call's arguments, taken once at the call. Arguments are the key, so they must be what a
 * key may be built from (strings, numbers, bigints, booleans, undefined, null, arrays, Dates and plain
 * objects, without cycles); that data is copied faithfully (holes, `undefined` properties and
 * null-prototype objects included). Anything else is refused with the TypeError `encodeKey` gives for
 * it, as before: a class instance or function cannot be copied without changing what `fn` receives,
 * and it is no key.
 */
function snapshotArguments<A extends unknown[]>(args: A): A {
  try {
    return copyKeyData(args, new Set()) as A;
  } catch (error) {
    if (!(error instanceof NotKeyData)) throw error;
    encodeKey(args); // throws the key's own TypeError, which names what is wrong and echoes the key
    throw new TypeError(
      `cached: arguments must be strings, numbers, bigints, booleans, null, arrays, Dates and plain objects, but got: ${describe(args)}.`,
    );
  }
}

class NotKeyData extends Error {}

function copyKeyData(value: unknown, seen: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw new NotKeyData();
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Date.prototype) return new Date((value as Date).getTime());
  if (seen.has(value)) throw new NotKeyData();
  seen.add(value);
  let copy: unknown[] | Record<string, unknown>;
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) throw new NotKeyData();
    copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = copyKeyData(value[i], seen);
  } else {
    if (proto !== Object.prototype && proto !== null) throw new NotKeyData();
    copy = proto === null ? Object.create(null) : {};
    for (const name of Object.keys(value)) {
      const item = copyKeyData((value as Record<string, unknown>)[name], seen);
      if (name === '__proto__')
        Object.defineProperty(copy, name, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else (copy as Record<string, unknown>)[name] = item;
    }
  }
  seen.delete(value);
  return copy;
}
