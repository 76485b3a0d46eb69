/**
 * The in-process store, on lru-cache: bounded by entry count and optionally by approximate bytes,
 * each entry kept until its grace ends. Values are stored as the shared objects themselves (frozen
 * or cloned on read, see immutable.ts), so a hit costs a map lookup.
 */
import { LRUCache } from 'lru-cache';
import { describe } from '../errors.js';
import { hotClock } from './clock.js';
import type { CacheEntry, CacheStore, CacheWrite, StoreStats } from './store.js';

export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used go first. Default: `10_000`. */
  maxEntries?: number;
  /**
   * Most bytes kept, by an estimate of each entry's size (keys and values, strings at 2 bytes per
   * character, plus a small overhead per object and property). Default: unbounded (only maxEntries).
   */
  maxBytes?: number;
  /** The clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

const PER_OBJECT = 16;
const PER_PROPERTY = 8;

/** An estimate of the bytes a value holds; good enough to bound memory, cheap enough per write. */
export function estimateBytes(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return 2 * value.length + PER_PROPERTY;
    case 'number':
    case 'boolean':
    case 'undefined':
      return PER_PROPERTY;
    case 'bigint':
      return 16;
    case 'object': {
      if (value === null) return PER_PROPERTY;
      if (depth > 64) return PER_OBJECT;
      if (value instanceof Date) return 24;
      if (ArrayBuffer.isView(value)) return value.byteLength + PER_OBJECT;
      let total = PER_OBJECT;
      if (value instanceof Map) {
        for (const [k, v] of value) total += estimateBytes(k, depth + 1) + estimateBytes(v, depth + 1);
        return total;
      }
      if (value instanceof Set) {
        for (const v of value) total += estimateBytes(v, depth + 1);
        return total;
      }
      if (Array.isArray(value)) {
        for (const item of value) total += estimateBytes(item, depth + 1);
        return total;
      }
      for (const [k, v] of Object.entries(value)) total += 2 * k.length + estimateBytes(v, depth + 1);
      return total;
    }
    default:
      return PER_PROPERTY;
  }
}

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `createMemoryStore option ${name} must be a positive integer, but got: ${describe(value)}.`,
    );
  }
  return value;
}

/** An entry with the time the store drops it. */
interface Stored {
  readonly entry: CacheEntry;
  readonly expiresAt: number;
}

/** Creates the in-process `CacheStore`. */
export function createMemoryStore(options: MemoryStoreOptions = {}): CacheStore {
  const maxEntries = positiveInteger(options.maxEntries, 'maxEntries') ?? 10_000;
  const maxBytes = positiveInteger(options.maxBytes, 'maxBytes');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new TypeError(`createMemoryStore option now must be a function, but got: ${describe(now)}.`);
  const clock = hotClock(now);
  let evictions = 0;
  // Expiry is checked here, on our clock, not by lru-cache's TTLs: cheaper per read, and exact under a
  // clock that jumps (lru-cache caches its clock for ttlResolution).
  const entries = new LRUCache<string, Stored>({
    max: maxEntries,
    ...(maxBytes === undefined
      ? {}
      : {
          maxSize: maxBytes,
          sizeCalculation: (stored: Stored, key: string) =>
            Math.max(1, 2 * key.length + estimateBytes(stored.entry.value) + 56),
        }),
    dispose: (_value, _key, reason) => {
      if (reason === 'evict') evictions++;
      else store.version++;
    },
  });
  const counters = new Map<string, number>();
  const read = (key: string): CacheEntry | undefined => {
    const stored = entries.get(key);
    if (stored === undefined) return undefined;
    if (clock() < stored.expiresAt) return stored.entry;
    entries.delete(key);
    return undefined;
  };

  const store: CacheStore & { version: number } = {
    name: 'memory',
    version: 0,
    async getMany(keys) {
      const out = new Array<CacheEntry | undefined>(keys.length);
      for (let i = 0; i < keys.length; i++) out[i] = read(keys[i]!);
      return out;
    },
    async setMany(writes: readonly CacheWrite[]) {
      for (const write of writes) {
        if (write.ttlMs > 0) entries.set(write.key, { entry: write.entry, expiresAt: now() + write.ttlMs });
        else entries.delete(write.key);
      }
    },
    async deleteMany(keys) {
      for (const key of keys) entries.delete(key);
    },
    async increment(key) {
      const next = (counters.get(key) ?? 0) + 1;
      counters.set(key, next);
      store.version++;
      return next;
    },
    async getCounters(keys) {
      return keys.map((key) => counters.get(key) ?? 0);
    },
    peek: read,
    peekCounter(key) {
      return counters.get(key) ?? 0;
    },
    async close() {
      entries.clear();
      counters.clear();
    },
    stats(): StoreStats {
      return {
        entries: entries.size,
        bytes: maxBytes === undefined ? undefined : entries.calculatedSize,
        evictions,
      };
    },
  };
  return store;
}
