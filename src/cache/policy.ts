/**
 * The `shared` policy of a loader spec: who may share an entry (scope), for how long (ttl, jitter,
 * negativeTtl, graceMs) and under which version. Validated once, when loaders are defined.
 */
import { describe } from '../errors.js';
import type { CacheStore } from './store.js';

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
  readonly version: string;
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
  return {
    scopeOf,
    ttlOf,
    jitter,
    negativeTtl: msOption(loader, raw, 'negativeTtl', 0),
    graceMs: msOption(loader, raw, 'graceMs', 0),
    version: String(version),
  };
}

/** The options `defineLoaders` and `cached` both take about where and how entries are kept. */
export interface StoreOptions {
  store?: CacheStore;
  prefix?: string;
  now?: () => number;
  onError?: (error: Error) => void;
}

/** `StoreOptions` checked, with their defaults (no store: the caller makes its own). */
export interface ResolvedStoreOptions {
  readonly store: CacheStore | undefined;
  readonly prefix: string;
  readonly now: () => number;
  readonly onError: (error: Error) => void;
}

/** The required members of a `CacheStore` (see store.ts), then the optional ones. */
const STORE_METHODS = ['getMany', 'setMany', 'deleteMany', 'increment', 'getCounters', 'close'] as const;
const OPTIONAL_STORE_METHODS = ['peek', 'peekCounter', 'stats'] as const;

/**
 * Checks store, prefix, now and onError once, up front; `subject` starts each message
 * (`defineLoaders`, `cached "rates"`). A store missing members fails here, naming them, not later as
 * `getCounters is not a function`.
 */
export function resolveStoreOptions(subject: string, options: StoreOptions): ResolvedStoreOptions {
  const { store, prefix = 'loaderkit', now = Date.now, onError } = options;
  if (store !== undefined) checkStore(subject, store);
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
    prefix,
    now,
    onError: onError ?? ((error: Error) => console.warn(`loaderkit: ${error.message}`)),
  };
}

function checkStore(subject: string, store: unknown): void {
  const members = (typeof store === 'object' || typeof store === 'function') && store !== null ? store : {};
  const raw = members as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof raw.name !== 'string') missing.push('name');
  for (const method of STORE_METHODS) if (typeof raw[method] !== 'function') missing.push(method);
  // Optional members that are there but are not what they must be: named apart from missing ones.
  const wrong: string[] = [];
  for (const method of OPTIONAL_STORE_METHODS)
    if (raw[method] !== undefined && typeof raw[method] !== 'function')
      wrong.push(`${method} (not a function)`);
  if (raw.version !== undefined && typeof raw.version !== 'number') wrong.push('version (not a number)');
  if (missing.length === 0 && wrong.length === 0) return;
  const problems = [
    ...(missing.length > 0 ? [`is missing ${missing.join(', ')}`] : []),
    ...(wrong.length > 0 ? [`has a wrong ${wrong.join(', ')}`] : []),
  ].join(' and ');
  throw new TypeError(
    `${subject}: option store ${problems} (a CacheStore has a string name and the methods ${STORE_METHODS.slice(0, -1).join(', ')} and ${STORE_METHODS.at(-1)}; ${OPTIONAL_STORE_METHODS.join(', ')} and a numeric version are optional), but got: ${describe(store)}.`,
  );
}
