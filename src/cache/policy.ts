/**
 * The `shared` policy of a loader spec: who may share an entry (scope), for how long (ttl, jitter,
 * negativeTtl, graceMs) and under which version. Validated once, when loaders are defined.
 */
import { describe } from '../errors.js';

export interface SharedPolicy<K, V, Ctx> {
  /**
   * Required. Who may share entries: `'global'` for public data, or a function of the request
   * context returning a non-empty string or a finite number (tenant id, viewer id). The result is
   * part of every shared key and single-flight key. No default: a shared loader without a scope is a
   * type error and a runtime error.
   */
  scope: 'global' | ((context: Ctx) => string | number);
  /** Milliseconds an entry stays fresh: a number, or a function of value and key (0 = do not cache). */
  ttl: number | ((value: V, key: K) => number);
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
  readonly ttlOf: (value: V, key: K) => number;
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

/** Validates a spec's `shared` policy; every message names the loader and the option. */
export function resolvePolicy<K, V, Ctx>(
  loader: string,
  policy: SharedPolicy<K, V, Ctx>,
): ResolvedPolicy<K, V, Ctx> {
  if (typeof policy !== 'object' || policy === null) {
    fail(loader, `shared must be an object with scope and ttl, but got: ${describe(policy)}.`);
  }
  const raw = policy as unknown as Record<string, unknown>;
  const known = new Set(['scope', 'ttl', 'jitter', 'negativeTtl', 'graceMs', 'version']);
  for (const name of Object.keys(raw))
    if (!known.has(name)) fail(loader, `unknown shared option ${JSON.stringify(name)}.`);

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
  let ttlOf: (value: V, key: K) => number;
  if (typeof ttl === 'number') {
    if (!Number.isFinite(ttl) || ttl < 0)
      fail(loader, `shared.ttl must be a finite number of milliseconds >= 0, but got: ${describe(ttl)}.`);
    ttlOf = () => ttl;
  } else if (typeof ttl === 'function') {
    ttlOf = (value, key) => {
      const ms: unknown = ttl(value, key);
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new TypeError(
          `Loader ${JSON.stringify(loader)}: shared.ttl(value, key) must return milliseconds >= 0, but got: ${describe(ms)}.`,
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

  const jitter = msOption(loader, raw, 'jitter', 0.1);
  if (jitter > 1) fail(loader, `shared.jitter is a fraction of the TTL between 0 and 1, but got: ${jitter}.`);
  const version = raw.version ?? 1;
  if ((typeof version !== 'string' && typeof version !== 'number') || version === '') {
    fail(loader, `shared.version must be a non-empty string or a number, but got: ${describe(version)}.`);
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
