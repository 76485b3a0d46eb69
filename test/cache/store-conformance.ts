/**
 * The `CacheStore` contract as one reusable suite. Every store runs it:
 *
 *   runStoreConformance('memory', ({ now }) => createMemoryStore({ now }));
 *
 * The suite installs vitest's fake timers and hands the store a clock (`now`) that reads them, so TTLs
 * move only when the suite advances time. A store that cannot follow a fake clock (a remote store whose
 * server keeps its own time) passes `advance`, which must let `ms` milliseconds pass for the store.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CacheEntry, CacheStore, CacheWrite } from '../../src/index.js';

export interface StoreFactoryContext {
  /** The clock the store must use for TTLs (epoch ms). */
  readonly now: () => number;
}

export interface StoreConformanceOptions {
  /** Lets `ms` milliseconds pass for the store. Default: advances vitest's fake timers. */
  advance?: (ms: number) => Promise<void>;
}

/** A small entry whose value names `tag`, so answers can be told apart. */
export function entry(tag: string, freshUntil = 1_000, staleUntil = freshUntil): CacheEntry {
  return { value: { tag, list: [1, 'two', null] }, sharing: 'frozen', freshUntil, staleUntil };
}

function write(key: string, tag: string, ttlMs = 60_000): CacheWrite {
  return { key, entry: entry(tag), ttlMs };
}

export function runStoreConformance(
  name: string,
  makeStore: (context: StoreFactoryContext) => CacheStore | Promise<CacheStore>,
  options: StoreConformanceOptions = {},
): void {
  describe(`CacheStore conformance: ${name}`, () => {
    let store: CacheStore;
    const advance =
      options.advance ?? ((ms: number) => vi.advanceTimersByTimeAsync(ms).then(() => undefined));

    beforeEach(async () => {
      vi.useFakeTimers({ now: 1_700_000_000_000 });
      store = await makeStore({ now: () => Date.now() });
    });

    afterEach(async () => {
      await store.close();
      vi.useRealTimers();
    });

    it('has a name', () => {
      expect(typeof store.name).toBe('string');
      expect(store.name.length).toBeGreaterThan(0);
    });

    it('getMany of nothing is an empty array, and of absent keys is undefined per key', async () => {
      expect(await store.getMany([])).toEqual([]);
      const got = await store.getMany(['a', 'b', 'c']);
      expect(got).toHaveLength(3);
      expect(got).toEqual([undefined, undefined, undefined]);
    });

    it('getMany answers aligned with its keys, undefined exactly where absent', async () => {
      await store.setMany([write('k1', 'one'), write('k3', 'three')]);
      const got = await store.getMany(['k0', 'k1', 'k2', 'k3', 'k1']);
      expect(got).toHaveLength(5);
      expect(got[0]).toBeUndefined();
      expect(got[1]).toEqual(entry('one'));
      expect(got[2]).toBeUndefined();
      expect(got[3]).toEqual(entry('three'));
      expect(got[4]).toEqual(entry('one'));
    });

    it('keeps every field of an entry (value, sharing, freshUntil, staleUntil)', async () => {
      const stored: CacheEntry = {
        value: { id: 7, name: 'Ann', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } },
        sharing: 'cloned',
        freshUntil: 1_700_000_001_000,
        staleUntil: 1_700_000_002_500,
      };
      await store.setMany([{ key: 'full', entry: stored, ttlMs: 5_000 }]);
      expect(await store.getMany(['full'])).toEqual([stored]);
      const negative: CacheEntry = { value: null, sharing: 'frozen', freshUntil: 5, staleUntil: 5 };
      await store.setMany([{ key: 'negative', entry: negative, ttlMs: 5_000 }]);
      expect(await store.getMany(['negative'])).toEqual([negative]);
    });

    it('keys are opaque strings: separators, quotes, unicode and near-duplicates stay distinct', async () => {
      const keys = ['a:b|c', 'a:b|c ', 'A:b|c', '3:abc1|"x"', '3:abc1|"x\\"', 'ünï©ødé', '', ' '];
      await store.setMany(keys.map((key, i) => write(key, `t${i}`)));
      expect(await store.getMany(keys)).toEqual(keys.map((_, i) => entry(`t${i}`)));
    });

    it('setMany overwrites an existing entry (the last write wins)', async () => {
      await store.setMany([write('k', 'old')]);
      await store.setMany([write('k', 'new')]);
      expect(await store.getMany(['k'])).toEqual([entry('new')]);
    });

    it('setMany keeps each entry for its own ttlMs, then getMany answers undefined', async () => {
      await store.setMany([write('short', 's', 100), write('long', 'l', 1_000)]);
      await advance(99);
      expect(await store.getMany(['short', 'long'])).toEqual([entry('s'), entry('l')]);
      await advance(2); // 101 ms: past the short TTL
      expect(await store.getMany(['short', 'long'])).toEqual([undefined, entry('l')]);
      await advance(898); // 999 ms
      expect(await store.getMany(['long'])).toEqual([entry('l')]);
      await advance(2); // 1001 ms
      expect(await store.getMany(['short', 'long'])).toEqual([undefined, undefined]);
    });

    it('an overwrite restarts the TTL from the new write', async () => {
      await store.setMany([write('k', 'first', 100)]);
      await advance(80);
      await store.setMany([write('k', 'second', 100)]);
      await advance(80); // 160 ms after the first write, 80 after the second
      expect(await store.getMany(['k'])).toEqual([entry('second')]);
      await advance(21);
      expect(await store.getMany(['k'])).toEqual([undefined]);
    });

    it('deleteMany drops exactly the named keys, and absent keys are fine', async () => {
      await store.setMany([write('a', 'a'), write('b', 'b'), write('c', 'c')]);
      await store.deleteMany(['a', 'c', 'never-written']);
      expect(await store.getMany(['a', 'b', 'c'])).toEqual([undefined, entry('b'), undefined]);
      await store.deleteMany([]);
      expect(await store.getMany(['b'])).toEqual([entry('b')]);
    });

    it('increment counts from 1 and getCounters answers aligned, 0 where absent', async () => {
      expect(await store.getCounters(['g1', 'g2'])).toEqual([0, 0]);
      expect(await store.increment('g1')).toBe(1);
      expect(await store.increment('g1')).toBe(2);
      expect(await store.increment('g2')).toBe(1);
      expect(await store.getCounters(['g2', 'nope', 'g1', 'g1'])).toEqual([1, 0, 2, 2]);
      expect(await store.getCounters([])).toEqual([]);
    });

    it('counters are separate from entries and never expire', async () => {
      await store.setMany([write('same', 'entry', 50)]);
      expect(await store.increment('same')).toBe(1);
      expect(await store.getMany(['same'])).toEqual([entry('entry')]);
      await store.deleteMany(['same']);
      expect(await store.getCounters(['same'])).toEqual([1]);
      await advance(24 * 60 * 60 * 1000);
      expect(await store.getCounters(['same'])).toEqual([1]);
      expect(await store.increment('same')).toBe(2);
    });

    it('concurrent increments are all counted', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.increment('race')));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await store.getCounters(['race'])).toEqual([50]);
    });

    it('stats(), where provided, reports evictions as a number >= 0', () => {
      if (store.stats === undefined) return;
      const stats = store.stats();
      expect(typeof stats.evictions).toBe('number');
      expect(stats.evictions).toBeGreaterThanOrEqual(0);
    });

    it('close is idempotent (a second and a concurrent close resolve)', async () => {
      await store.setMany([write('k', 'v')]);
      await expect(store.close()).resolves.toBeUndefined();
      await expect(Promise.all([store.close(), store.close()])).resolves.toEqual([undefined, undefined]);
    });
  });
}
