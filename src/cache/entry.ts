/**
 * Entries: what a loaded value becomes in the shared tier and what a hit hands back. One place for
 * lifetimes (ttl, jitter, grace, negative entries), sharing (frozen, cloned, or served unshared) and
 * the not-found rule of hits. Total: nothing here throws into a load; a ttl function or value that
 * cannot be kept is reported once per loader and the value is served uncached.
 */
import { NotFoundError } from '../errors.js';
import { deepFreeze, fromShared, toShared } from './immutable.js';
import type { ResolvedPolicy } from './policy.js';
import type { LocalEntry } from './store.js';

const PER_OBJECT = 16;
const PER_PROPERTY = 8;
/** Objects an estimate visits at most; past it the rest is charged as one object each. */
const MAX_ESTIMATED_OBJECTS = 100_000;

/**
 * An estimate of the bytes a value holds; good enough to bound memory, cheap enough per write, and
 * linear: an object reachable along several paths (a DAG) is counted once.
 */
export function estimateBytes(value: unknown): number {
  const seen = new Set<object>();
  const walk = (item: unknown): number => {
    switch (typeof item) {
      case 'string':
        return 2 * item.length + PER_PROPERTY;
      case 'bigint':
        return 16;
      case 'object': {
        if (item === null) return PER_PROPERTY;
        if (seen.has(item) || seen.size >= MAX_ESTIMATED_OBJECTS) return PER_OBJECT;
        seen.add(item);
        if (item instanceof Date) return 24;
        if (ArrayBuffer.isView(item)) return item.byteLength + PER_OBJECT;
        if (item instanceof ArrayBuffer) return item.byteLength + PER_OBJECT;
        let total = PER_OBJECT;
        if (item instanceof Map) {
          for (const [k, v] of item) total += walk(k) + walk(v);
        } else if (item instanceof Set) {
          for (const v of item) total += walk(v);
        } else if (Array.isArray(item)) {
          for (let i = 0; i < item.length; i++) total += walk(item[i]);
        } else {
          for (const k of Object.keys(item))
            total += 2 * k.length + walk((item as Record<string, unknown>)[k]);
        }
        return total;
      }
      default:
        return PER_PROPERTY;
    }
  };
  return walk(value);
}

/** The bytes a key takes in an entry: its encoding's characters, or a number's slot. */
function keyBytes(key: unknown): number {
  return typeof key === 'string' ? 2 * key.length + PER_PROPERTY : PER_PROPERTY;
}

/**
 * A loaded value made shareable, as an entry, with how long to keep it (0: not kept — a TTL of 0 or no
 * usable lifetime — but still shareable with the loads that joined it); or null when it cannot be shared
 * (then it is served to its own request as it is).
 */
export type Kept = { readonly entry: LocalEntry; readonly keepMs: number } | null;

export class EntryRules<K, V> {
  private warnedUnshareable = false;
  private warnedBadTtl = false;

  constructor(
    private readonly loader: string,
    private readonly policy: ResolvedPolicy<K, V, unknown>,
    /** Not-found keys reject with NotFoundError instead of resolving to null. */
    readonly missingAsError: boolean,
    /** Isolated: never throws. */
    private readonly report: (error: Error) => void,
  ) {}

  /**
   * The entry to keep for a value the source loaded (`null`: a not-found), or null when it is not kept:
   * a TTL of 0, a value that cannot be shared, or a ttl function without a usable lifetime.
   */
  forLoaded(space: string, localKey: unknown, key: K, value: V | null, now: number): Kept {
    const policy = this.policy;
    if (value === null) {
      const ttl = policy.negativeTtl;
      if (!(ttl > 0)) return null;
      return { entry: negativeEntry(space, localKey, now + ttl, now + ttl), keepMs: ttl };
    }
    const shared = this.share(value);
    if (shared === null) return null;
    const lifetime = policy.ttlOf(shared.value, key);
    if (typeof lifetime !== 'number') {
      this.warnOnce('ttl', lifetime);
      return { entry: this.entryOf(space, localKey, shared, now, now), keepMs: 0 };
    }
    let ttl = lifetime;
    // Jitter only ever shortens: whole milliseconds rounded down, at least 1 ms, never past the TTL
    // itself (a TTL under 1 ms, or of 10.6 ms drawn without jitter, is kept as it is, not rounded up).
    if (ttl > 0 && policy.jitter > 0)
      ttl = Math.min(ttl, Math.max(1, Math.floor(ttl * (1 - policy.jitter * Math.random()))));
    if (!(ttl > 0)) return { entry: this.entryOf(space, localKey, shared, now, now), keepMs: 0 };
    const freshUntil = now + ttl;
    return {
      entry: this.entryOf(space, localKey, shared, freshUntil, freshUntil + policy.graceMs),
      keepMs: ttl + policy.graceMs,
    };
  }

  /**
   * The entry for a value read from a remote store (decoded, so of plain parts), with the lifetimes it
   * was written with: never a fresh full TTL (it is kept for `staleUntil - now`). Null if it cannot be
   * shared or has no time left.
   */
  forRemote(
    space: string,
    localKey: unknown,
    value: unknown,
    freshUntil: number,
    staleUntil: number,
    now: number,
    /** The decoder deep-froze it and it is plain JSON data: shared as it is, without another walk. */
    frozen = false,
    /**
     * The length of the text it was decoded from: its size is charged from that (two bytes a unit)
     * instead of walking the value again.
     */
    textLength?: number,
  ): LocalEntry | null {
    if (!(staleUntil > now)) return null;
    if (value === null) return negativeEntry(space, localKey, freshUntil, staleUntil);
    const shared = frozen ? { value: value as V, sharing: 'frozen' as const } : this.share(value as V);
    if (shared === null) return null;
    return this.entryOf(space, localKey, shared, freshUntil, staleUntil, textLength);
  }

  /**
   * Whether a hit on `entry` can be answered synchronously at `now` (memoized at load() time): it is
   * fresh, and not a not-found that must reject (those take the batched way, which rejects them).
   */
  answersSync(entry: LocalEntry, now: number): boolean {
    return now < entry.freshUntil && !(entry.value === null && this.missingAsError);
  }

  /** A hit's value: the frozen shared object, a fresh clone, or a NotFoundError for a negative entry. */
  answer(entry: LocalEntry, key: K): V | NotFoundError {
    if (entry.value === null)
      return this.missingAsError
        ? new NotFoundError(key, this.loader, 'a cached not-found result')
        : (null as V);
    if (entry.sharing !== 'frozen') return fromShared({ value: entry.value as V, sharing: entry.sharing });
    const value = entry.value;
    // Shared as it is: deep-frozen plain data, unless the store handed back a copy (a store that keeps
    // structured clones or JSON): a copy is not frozen, so it is frozen before anyone receives it.
    if (typeof value !== 'object' || Object.isFrozen(value)) return value as V;
    return refrozen(value) as V;
  }

  /**
   * The promise a hit on `entry` returns. A shared value's promise is made, frozen, on the first hit that
   * needs one and kept on the entry for the next (where the store lets it: a frozen entry gets a new one
   * per hit); a clone per read gets a promise of its own.
   */
  promiseOf(entry: LocalEntry, key: K): Promise<V> {
    const kept = entry.resolved as Promise<V> | undefined;
    // Only a promise: a store that copied an entry after its first hit (JSON) holds `{}` there.
    if (kept instanceof Promise) return kept;
    if (entry.value === null && !this.missingAsError) return NULL_PROMISE as Promise<V>;
    const value = this.answer(entry, key);
    const promise = Promise.resolve(value as V);
    if (entry.sharing !== 'frozen' || value !== entry.value) return promise;
    Object.freeze(promise);
    try {
      (entry as { resolved: Promise<unknown> | undefined }).resolved = promise;
    } catch {
      // A store that froze the entry: every hit makes its own (frozen) promise.
    }
    return promise;
  }

  private entryOf(
    space: string,
    localKey: unknown,
    shared: { value: unknown; sharing: 'frozen' | 'cloned' },
    freshUntil: number,
    staleUntil: number,
    textLength?: number,
  ): LocalEntry {
    const valueBytes = textLength === undefined ? estimateBytes(shared.value) : 2 * textLength;
    return {
      space,
      key: localKey,
      value: shared.value,
      sharing: shared.sharing,
      freshUntil,
      staleUntil,
      bytes: keyBytes(localKey) + valueBytes + 2 * PER_OBJECT,
      resolved: undefined,
    };
  }

  /** The value made shareable, or null (reported once per loader) when it cannot be. */
  private share(value: V): { value: V; sharing: 'frozen' | 'cloned' } | null {
    const shared = toShared(value);
    if ('reason' in shared) {
      this.warnOnce(
        'unshareable',
        new TypeError(
          `Loader ${JSON.stringify(this.loader)}: a value is served to its own request but never shared: ${shared.reason}. Return plain data (objects, arrays, strings, numbers, Dates, Maps, Sets, typed arrays) to cache it. Reported once.`,
        ),
      );
      return null;
    }
    return shared;
  }

  private warnOnce(kind: 'ttl' | 'unshareable', error: Error): void {
    if (kind === 'ttl') {
      if (this.warnedBadTtl) return;
      this.warnedBadTtl = true;
    } else {
      if (this.warnedUnshareable) return;
      this.warnedUnshareable = true;
    }
    this.report(error);
  }
}

const NULL_PROMISE = Object.freeze(Promise.resolve(null));

/**
 * A copy a store made of a shared value (not frozen, as every value of a 'frozen' entry is), frozen
 * in place like the value it copies; a frozen clone of it where it cannot be frozen. (Only the top
 * level is checked: a store that froze its copy's top level but not the rest would not be caught.)
 */
function refrozen(value: object): unknown {
  try {
    return deepFreeze(value);
  } catch {
    return deepFreeze(structuredClone(value));
  }
}

function negativeEntry(space: string, key: unknown, freshUntil: number, staleUntil: number): LocalEntry {
  return {
    space,
    key,
    value: null,
    sharing: 'frozen',
    freshUntil,
    staleUntil,
    bytes: keyBytes(key) + 2 * PER_OBJECT,
    // Not NULL_PROMISE itself: a store that copies entries (JSON) would turn it into a shared `{}`.
    resolved: undefined,
  };
}
