/**
 * The in-process tier (a LocalStore) on lru-cache: bounded by entry count and optionally by the
 * entries' estimated bytes, each entry kept until its grace ends. Entries are the shared values
 * themselves (frozen, or cloned on read; see immutable.ts), so a hit is a lookup.
 *
 * Entries are indexed by space (loader, version, scope) and key, so a scalar key needs no string
 * built per hit. The index holds exactly what the LRU holds: an entry the LRU evicts, deletes or
 * replaces leaves the index in the same step, so nothing is kept beside the store's bounds and an
 * evicted entry is never returned again.
 */
import { LRUCache } from 'lru-cache';
import { describe } from '../../errors.js';
import { hotClock } from '../clock.js';
import type { LocalEntry, LocalStore, StoreStats } from '../store.js';

export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used go first. Default: `10_000`. */
  maxEntries?: number;
  /**
   * Most bytes kept, by an estimate of each entry's size (key and value, strings at 2 bytes per
   * character, plus a small overhead per object and property). Default: unbounded (only maxEntries).
   */
  maxBytes?: number;
  /** The clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
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

/** What the memory store's last looked-up space is before any lookup, and after its map is dropped. */
const NO_SPACE: unique symbol = Symbol('loaderkit.noSpace');

/** One kept entry with the time the store drops it. */
interface Slot {
  readonly entry: LocalEntry;
  readonly expiresAt: number;
  /** The store's write count when the slot was last moved to the front of the LRU. */
  touchedAt: number;
}

/** Creates the in-process store (the local tier of shared loaders). */
export function createMemoryStore(options: MemoryStoreOptions = {}): LocalStore {
  const maxEntries = positiveInteger(options.maxEntries, 'maxEntries') ?? 10_000;
  const maxBytes = positiveInteger(options.maxBytes, 'maxBytes');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new TypeError(`createMemoryStore option now must be a function, but got: ${describe(now)}.`);
  const clock = hotClock(now);
  let evictions = 0;
  /** Writes so far (the age of an entry is counted in them). */
  let writes = 0;
  /** Space → key → slot: exactly the slots the LRU holds. */
  const spaces = new Map<string, Map<unknown, Slot>>();
  /** The space looked up last and its map (NO_SPACE: none): a batch reads and writes one space in a row. */
  let lastSpace: string | typeof NO_SPACE = NO_SPACE;
  let lastKeys: Map<unknown, Slot> | undefined;
  const keysOf = (space: string): Map<unknown, Slot> | undefined => {
    if (space === lastSpace) return lastKeys;
    const keys = spaces.get(space);
    lastSpace = space;
    lastKeys = keys;
    return keys;
  };
  const unindex = (slot: Slot) => {
    const keys = keysOf(slot.entry.space);
    if (keys === undefined || keys.get(slot.entry.key) !== slot) return;
    keys.delete(slot.entry.key);
    if (keys.size === 0) {
      spaces.delete(slot.entry.space);
      lastSpace = NO_SPACE;
    }
  };
  // Expiry is checked here, on our clock, not by lru-cache's TTLs: cheaper per read, and exact under a
  // clock that jumps (lru-cache caches its clock for ttlResolution).
  const lru = new LRUCache<Slot, true>({
    max: maxEntries,
    ...(maxBytes === undefined
      ? {}
      : { maxSize: maxBytes, sizeCalculation: (_: true, slot: Slot) => Math.max(1, slot.entry.bytes) }),
    dispose: (_value, slot, reason) => {
      if (reason === 'evict') evictions++;
      unindex(slot);
    },
  });

  const store: LocalStore = {
    name: 'memory',
    get(space, key) {
      const slot = keysOf(space)?.get(key);
      if (slot === undefined) return undefined;
      if (clock() >= slot.expiresAt) {
        lru.delete(slot);
        return undefined;
      }
      // Recency is refreshed only once an entry has aged past a quarter of the store's size in writes:
      // a hot entry moves to the front of the LRU about once per size / 4 writes, not on every hit (that
      // move was a fifth of a hit's cost); an entry is evicted only after about `size` writes without
      // such a move. Small stores are exact LRU.
      if (writes - slot.touchedAt > lru.size >> 2) {
        slot.touchedAt = writes;
        lru.get(slot);
      }
      return slot.entry;
    },
    set(entry, ttlMs) {
      const previous = keysOf(entry.space)?.get(entry.key);
      if (previous !== undefined) lru.delete(previous);
      if (!(ttlMs > 0)) return;
      // The hit path's clock, which can only lag: an entry may expire that much early, never late.
      const slot: Slot = { entry, expiresAt: clock() + ttlMs, touchedAt: ++writes };
      lru.set(slot, true);
      // An entry larger than maxBytes is not kept (lru-cache refuses it): it is not indexed either.
      if (maxBytes !== undefined && !lru.has(slot)) return;
      // Looked up again: deleting the previous slot, or an eviction, may have dropped its space's map.
      let keys = keysOf(entry.space);
      if (keys === undefined) {
        keys = new Map();
        spaces.set(entry.space, keys);
        lastSpace = entry.space;
        lastKeys = keys;
      }
      keys.set(entry.key, slot);
    },
    delete(space, key) {
      const slot = keysOf(space)?.get(key);
      if (slot !== undefined) lru.delete(slot);
    },
    deleteSpaces(prefix) {
      let dropped = 0;
      for (const [space, keys] of [...spaces]) {
        if (!space.startsWith(prefix)) continue;
        for (const slot of [...keys.values()]) {
          lru.delete(slot);
          dropped++;
        }
      }
      return dropped;
    },
    stats(): StoreStats {
      return {
        entries: lru.size,
        bytes: maxBytes === undefined ? undefined : lru.calculatedSize,
        evictions,
      };
    },
    close() {
      lru.clear();
      spaces.clear();
    },
  };
  return store;
}
