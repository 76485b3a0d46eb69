/**
 * The `shared` policy of a loader spec: who may share an entry (scope), for how long (ttl, jitter,
 * negativeTtl, graceMs) and under which version. Validated once, when loaders are defined.
 */
import { describe } from '../errors.js';
import { type ResilienceOptions, resolveResilience } from './remote/resilient.js';
import type { LocalStore, RemoteStore } from './store.js';

export interface SharedPolicy<K, V, Ctx> {
  /**
   * Required. Who may share entries: `'global'` for public data, or a function of the request
   * context returning a non-empty string or a finite number (tenant id, viewer id). The result is
   * part of every shared key and single-flight key. No default: a shared loader without a scope is a
   * type error and a runtime error.
   */
  scope: 'global' | ((context: Ctx) => string | number);
  /**
   * Milliseconds an entry stays fresh: a number, or a function of value and key (0 = do not cache).
   * The function is never called for a not-found (null or undefined) value: `negativeTtl` is theirs.
   */
  ttl: number | ((value: NonNullable<V>, key: K) => number);
  /** Fraction of the TTL removed at random per entry, so keys written together expire apart. Default: `0.1`. */
  jitter?: number;
  /** Milliseconds a not-found result (`null`/`undefined`, or missing from a Map) stays cached. Default: `0` (not cached). */
  negativeTtl?: number;
  /**
   * Milliseconds after expiry during which the stale value is still served while one background
   * refresh runs; if the refresh fails the stale value keeps being served until grace ends. Default: `0`.
   */
  graceMs?: number;
  /** Part of every key: bump it when the value shape changes, so old entries are never read. Default: `1`. */
  version?: string | number;
  /**
   * Milliseconds the in-process tier keeps an entry at most, whatever its TTL, when a remote tier (Redis)
   * holds it for longer: an entry another instance changed in Redis is seen here within this bound (until
   * invalidations travel between instances). `0` keeps nothing in process (every hit reads the remote
   * tier). Default: no cap (the entry's TTL and grace).
   */
  l1Ttl?: number;
  /**
   * The context a background (grace) refresh runs the batch function with. Such a refresh starts in the
   * request that found the stale entry but runs after it may have ended (its transaction closed, its
   * signal aborted), so give it what outlives requests: e.g. `(ctx) => ({ tenantId: ctx.tenantId, db: pool })`.
   * Called synchronously while that request is alive; if it throws, the refresh is skipped (reported
   * once) and the stale value keeps being served. The refresh's `signal` never aborts. Default: the
   * request's context itself.
   */
  refreshContext?: (context: Ctx) => Ctx;
  /**
   * Distributed single-flight over the remote tier (Redis): instances that miss the same key load it
   * once. A batch takes a short-lived lock per missed key in the remote store (one round trip); the keys
   * whose lock another instance holds are polled until their value lands there, their lock goes, or
   * `waitMs` passes, and only then loaded here. `true` for the defaults, or an object. Costs one more
   * round trip per batch with misses, and up to `pollMs` of latency for the waiters (see README). Needs a
   * remote store with locks. Default: off.
   */
  lock?: boolean | LockOptions;
}

export interface LockOptions {
  /** Milliseconds a lock lives unless released (a holder that dies releases by expiry). Default: `5000`. */
  ttlMs?: number;
  /** Milliseconds a waiter waits for another instance's value before loading the key itself. Default: `1000`. */
  waitMs?: number;
  /** Milliseconds between a waiter's reads of the remote store. Default: `10`. */
  pollMs?: number;
}

/** `shared.lock` resolved. */
export interface ResolvedLock {
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly pollMs: number;
}

const LOCK_OPTIONS = ['ttlMs', 'waitMs', 'pollMs'];

function resolveLock(loader: string, lock: unknown): ResolvedLock | null {
  if (lock === undefined || lock === false) return null;
  if (lock !== true && (typeof lock !== 'object' || lock === null))
    fail(
      loader,
      `shared.lock must be true, false or an object of ttlMs, waitMs, pollMs, but got: ${describe(lock)}.`,
    );
  const raw = (lock === true ? {} : lock) as Record<string, unknown>;
  for (const name of Object.keys(raw))
    if (!LOCK_OPTIONS.includes(name))
      fail(loader, `unknown shared.lock option ${JSON.stringify(name)}; valid: ${LOCK_OPTIONS.join(', ')}.`);
  const ms = (name: string, fallback: number) => {
    const value = raw[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      fail(
        loader,
        `shared.lock.${name} must be a whole number of milliseconds >= 1, but got: ${describe(value)}.`,
      );
    return value;
  };
  return { ttlMs: ms('ttlMs', 5000), waitMs: ms('waitMs', 1000), pollMs: ms('pollMs', 10) };
}

export interface ResolvedPolicy<K, V, Ctx> {
  readonly scopeOf: (context: Ctx) => string;
  /**
   * Milliseconds to keep a value, or the TypeError (naming the loader, echoing what the spec's ttl
   * function threw or returned) when there is no usable lifetime. Total: never throws.
   */
  readonly ttlOf: (value: V, key: K) => number | TypeError;
  readonly jitter: number;
  readonly negativeTtl: number;
  readonly graceMs: number;
  /** The in-process tier's cap on an entry's lifetime (Infinity: none). */
  readonly l1TtlMs: number;
  /** Distributed single-flight, or null (off). */
  readonly lock: ResolvedLock | null;
  readonly version: string;
  /**
   * The context of a background refresh of the request context's entries in `scope`, or the TypeError
   * saying why there is none (refreshContext threw, or gave a context of another scope). Total.
   */
  readonly refreshContextOf: (context: Ctx, scope: string) => Ctx | TypeError;
}

function fail(loader: string, message: string): never {
  throw new TypeError(`Loader ${JSON.stringify(loader)}: ${message}`);
}

function msOption(loader: string, policy: Record<string, unknown>, name: string, fallback: number): number {
  const value = policy[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(loader, `shared.${name} must be a finite number of milliseconds >= 0, but got: ${describe(value)}.`);
  }
  return value;
}

const GLOBAL_SCOPE = 'global';

/** The option names of a shared policy. */
export const POLICY_OPTIONS: readonly string[] = [
  'scope',
  'ttl',
  'jitter',
  'negativeTtl',
  'graceMs',
  'version',
  'refreshContext',
  'l1Ttl',
  'lock',
];

/** Validates a spec's `shared` policy; every message names the loader and the option. */
export function resolvePolicy<K, V, Ctx>(
  loader: string,
  policy: SharedPolicy<K, V, Ctx>,
): ResolvedPolicy<K, V, Ctx> {
  if (typeof policy !== 'object' || policy === null) {
    fail(loader, `shared must be an object with scope and ttl, but got: ${describe(policy)}.`);
  }
  const raw = policy as unknown as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!POLICY_OPTIONS.includes(name))
      fail(
        loader,
        `unknown shared option ${JSON.stringify(name)}; valid shared options: ${POLICY_OPTIONS.join(', ')}.`,
      );
  }

  const scope = raw.scope;
  let scopeOf: (context: Ctx) => string;
  if (scope === 'global') {
    scopeOf = () => GLOBAL_SCOPE;
  } else if (typeof scope === 'function') {
    scopeOf = (context) => {
      const value: unknown = scope(context);
      if (typeof value === 'string' && value.length > 0) return `s${value}`;
      if (typeof value === 'number' && Number.isFinite(value)) return `n${value}`;
      // Failing closed: an unknown scope must never fall back to a shared one.
      throw new TypeError(
        `Loader ${JSON.stringify(loader)}: shared.scope(context) must return a non-empty string or a finite number, but got: ${describe(value)}.`,
      );
    };
  } else {
    fail(
      loader,
      `shared.scope is required: 'global' for public data, or a function of the context (tenant or viewer id), but got: ${describe(scope)}.`,
    );
  }

  const ttl = raw.ttl;
  let ttlOf: (value: V, key: K) => number | TypeError;
  if (typeof ttl === 'number') {
    if (!Number.isFinite(ttl) || ttl < 0)
      fail(loader, `shared.ttl must be a finite number of milliseconds >= 0, but got: ${describe(ttl)}.`);
    ttlOf = () => ttl;
  } else if (typeof ttl === 'function') {
    const served = 'The value is served but not cached.';
    ttlOf = (value, key) => {
      let ms: unknown;
      try {
        ms = ttl(value as NonNullable<V>, key);
      } catch (error) {
        return new TypeError(
          `Loader ${JSON.stringify(loader)}: shared.ttl(value, key) threw: ${describe(error)}. ${served}`,
          { cause: error },
        );
      }
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        return new TypeError(
          `Loader ${JSON.stringify(loader)}: shared.ttl(value, key) must return a finite number of milliseconds >= 0, but got: ${describe(ms)}. ${served}`,
        );
      }
      return ms;
    };
  } else {
    fail(
      loader,
      `shared.ttl is required: milliseconds, or a function of value and key, but got: ${describe(ttl)}.`,
    );
  }

  const jitter = raw.jitter === undefined ? 0.1 : raw.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1))
    fail(loader, `shared.jitter is a fraction of the TTL between 0 and 1, but got: ${describe(jitter)}.`);
  const version = raw.version === undefined ? 1 : raw.version;
  if (
    (typeof version !== 'string' && (typeof version !== 'number' || !Number.isFinite(version))) ||
    version === ''
  ) {
    fail(
      loader,
      `shared.version must be a non-empty string or a finite number, but got: ${describe(version)}.`,
    );
  }
  const refreshContext = raw.refreshContext;
  if (refreshContext !== undefined && typeof refreshContext !== 'function')
    fail(
      loader,
      `shared.refreshContext must be a function of the context, but got: ${describe(refreshContext)}.`,
    );
  const skipped = (why: string, cause?: unknown) =>
    new TypeError(
      `Loader ${JSON.stringify(loader)}: shared.refreshContext(context) ${why}. The background refresh is skipped; the stale value is served until grace ends.`,
      cause === undefined ? undefined : { cause },
    );
  // The refresh writes under the request's scope: a context of another scope would put that scope's
  // data there.
  const refreshContextOf = (context: Ctx, scope: string): Ctx | TypeError => {
    if (refreshContext === undefined) return context;
    let refresh: Ctx;
    let refreshScope: string;
    try {
      refresh = (refreshContext as (context: Ctx) => Ctx)(context);
    } catch (error) {
      return skipped(`threw: ${describe(error)}`, error);
    }
    try {
      refreshScope = scopeOf(refresh);
    } catch (error) {
      return skipped(`returned a context whose scope fails (${describe(error)})`, error);
    }
    if (refreshScope !== scope)
      return skipped(
        `returned a context of another scope (${JSON.stringify(refreshScope.slice(1))}, not ${JSON.stringify(scope.slice(1))})`,
      );
    return refresh;
  };
  return {
    scopeOf,
    ttlOf,
    refreshContextOf,
    jitter,
    negativeTtl: msOption(loader, raw, 'negativeTtl', 0),
    graceMs: msOption(loader, raw, 'graceMs', 0),
    l1TtlMs: msOption(loader, raw, 'l1Ttl', Number.POSITIVE_INFINITY),
    lock: resolveLock(loader, raw.lock),
    version: String(version),
  };
}

/** The options `defineLoaders` and `cached` both take about where and how entries are kept. */
export interface StoreOptions {
  store?: LocalStore;
  remote?: RemoteStore;
  remoteOptions?: ResilienceOptions;
  prefix?: string;
  now?: () => number;
  onError?: (error: Error) => void;
}

/** `StoreOptions` checked, with their defaults (no store: the caller makes its own). */
export interface ResolvedStoreOptions {
  readonly store: LocalStore | undefined;
  readonly remote: RemoteStore | undefined;
  readonly remoteOptions: Required<ResilienceOptions>;
  readonly prefix: string;
  readonly now: () => number;
  readonly onError: (error: Error) => void;
}

const LOCAL_STORE_MEMBERS = ['get', 'set', 'delete', 'deleteSpaces', 'stats', 'close'] as const;
const REMOTE_STORE_MEMBERS = ['getMany', 'setMany', 'deleteMany', 'close'] as const;

/**
 * Checks store, remote, prefix, now and onError once, up front; `subject` starts each message
 * (`defineLoaders`, `cached "rates"`). A store missing members fails here, naming them, not later as
 * `get is not a function`.
 */
export function resolveStoreOptions(subject: string, options: StoreOptions): ResolvedStoreOptions {
  const { store, remote, remoteOptions = {}, prefix = 'loaderkit', now = Date.now, onError } = options;
  if (store !== undefined) checkMembers(subject, 'store', 'a LocalStore', store, LOCAL_STORE_MEMBERS);
  if (remote !== undefined) checkMembers(subject, 'remote', 'a RemoteStore', remote, REMOTE_STORE_MEMBERS);
  if (typeof remoteOptions !== 'object' || remoteOptions === null)
    throw new TypeError(
      `${subject}: option remoteOptions must be an object, but got: ${describe(remoteOptions)}.`,
    );
  let resilience: Required<ResilienceOptions>;
  try {
    resilience = resolveResilience(remoteOptions);
  } catch (error) {
    throw new TypeError(`${subject}: ${(error as Error).message}`);
  }
  if (typeof prefix !== 'string')
    throw new TypeError(`${subject}: option prefix must be a string, but got: ${describe(prefix)}.`);
  if (typeof now !== 'function') {
    throw new TypeError(
      `${subject}: option now must be a function returning epoch milliseconds, but got: ${describe(now)}.`,
    );
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new TypeError(
      `${subject}: option onError must be a function of the error, but got: ${describe(onError)}.`,
    );
  }
  return {
    store,
    remote,
    remoteOptions: resilience,
    prefix,
    now,
    onError: onError ?? ((error: Error) => console.warn(`loaderkit: ${error.message}`)),
  };
}

function checkMembers(
  subject: string,
  option: string,
  kind: string,
  store: unknown,
  methods: readonly string[],
): void {
  const members = (typeof store === 'object' || typeof store === 'function') && store !== null ? store : {};
  const raw = members as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof raw.name !== 'string') missing.push('name');
  for (const method of methods) if (typeof raw[method] !== 'function') missing.push(method);
  if (missing.length === 0) return;
  throw new TypeError(
    `${subject}: option ${option} is missing ${missing.join(', ')} (${kind} has a string name and the methods ${methods.slice(0, -1).join(', ')} and ${methods.at(-1)}), but got: ${describe(store)}.`,
  );
}
