import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore, estimateBytes } from '../../src/cache/memory-store.js';
import type { CacheWrite } from '../../src/index.js';
import { entry, runStoreConformance } from './store-conformance.js';

runStoreConformance('memory', ({ now }) => createMemoryStore({ now }));
runStoreConformance('memory (bounded by bytes)', ({ now }) =>
  createMemoryStore({ now, maxEntries: 100, maxBytes: 1_000_000 }),
);

function write(key: string, tag: string, ttlMs = 60_000): CacheWrite {
  return { key, entry: entry(tag), ttlMs };
}

describe('createMemoryStore', () => {
  it('is named memory', () => {
    expect(createMemoryStore().name).toBe('memory');
  });

  it('evicts the least recently used entry past maxEntries and counts it in stats().evictions', async () => {
    const store = createMemoryStore({ maxEntries: 2 });
    await store.setMany([write('a', 'a'), write('b', 'b')]);
    expect(store.stats?.()).toMatchObject({ entries: 2, evictions: 0 });
    // Reading `a` makes `b` the least recently used.
    await store.getMany(['a']);
    await store.setMany([write('c', 'c')]);
    expect(await store.getMany(['a', 'b', 'c'])).toEqual([entry('a'), undefined, entry('c')]);
    expect(store.stats?.()).toMatchObject({ entries: 2, evictions: 1 });
    await store.setMany([write('d', 'd'), write('e', 'e')]);
    expect(store.stats?.()).toMatchObject({ entries: 2, evictions: 3 });
    expect(await store.getMany(['d', 'e'])).toEqual([entry('d'), entry('e')]);
  });

  it('does not count deletes, overwrites or expiries as evictions', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const store = createMemoryStore({ maxEntries: 10, now: () => Date.now() });
      await store.setMany([write('a', 'a', 10), write('b', 'b')]);
      await store.setMany([write('b', 'b2')]);
      await store.deleteMany(['b']);
      vi.advanceTimersByTime(1_000);
      expect(await store.getMany(['a', 'b'])).toEqual([undefined, undefined]);
      expect(store.stats?.()).toMatchObject({ entries: 0, evictions: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a write with ttlMs 0 stores nothing', async () => {
    const store = createMemoryStore();
    await store.setMany([write('k', 'v')]);
    await store.setMany([{ key: 'k', entry: entry('gone'), ttlMs: 0 }]);
    expect(await store.getMany(['k'])).toEqual([undefined]);
  });

  it('honours expiry on its own clock at once, without real time passing', async () => {
    // A store given `now` must answer by that clock: an entry 1 ms past its TTL is absent, even if
    // the read comes in the same millisecond of real time as the write.
    let clock = 1_000;
    const store = createMemoryStore({ now: () => clock });
    await store.setMany([write('k', 'v', 100)]);
    clock += 99;
    expect(await store.getMany(['k'])).toEqual([entry('v')]);
    clock += 2;
    expect(await store.getMany(['k'])).toEqual([undefined]);
  });

  it('close empties entries and counters', async () => {
    const store = createMemoryStore();
    await store.setMany([write('k', 'v')]);
    await store.increment('g');
    await store.close();
    expect(await store.getMany(['k'])).toEqual([undefined]);
    expect(await store.getCounters(['g'])).toEqual([0]);
    expect(store.stats?.().entries).toBe(0);
  });

  it('reports bytes only when bounded by maxBytes', async () => {
    const unbounded = createMemoryStore();
    await unbounded.setMany([write('k', 'v')]);
    expect(unbounded.stats?.().bytes).toBeUndefined();
    const bounded = createMemoryStore({ maxBytes: 10_000 });
    expect(bounded.stats?.().bytes).toBe(0);
    await bounded.setMany([write('k', 'v')]);
    const bytes = bounded.stats?.().bytes ?? 0;
    expect(bytes).toBeGreaterThan(0);
    await bounded.deleteMany(['k']);
    expect(bounded.stats?.().bytes).toBe(0);
  });

  it('evicts by size: bigger entries push out more, and bytes stay within maxBytes', async () => {
    const store = createMemoryStore({ maxEntries: 1_000, maxBytes: 4_000 });
    const big = (key: string): CacheWrite => ({
      key,
      entry: { value: 'x'.repeat(900), sharing: 'frozen', freshUntil: 1, staleUntil: 1 },
      ttlMs: 60_000,
    });
    for (let i = 0; i < 10; i++) {
      await store.setMany([big(`big${i}`)]);
      expect(store.stats?.().bytes).toBeLessThanOrEqual(4_000);
    }
    const stats = store.stats?.();
    // 900 characters are ~1800 bytes, so at most two fit.
    expect(stats?.entries).toBeLessThanOrEqual(2);
    expect(stats?.evictions).toBeGreaterThanOrEqual(8);
    const got = await store.getMany(['big9', 'big0']);
    expect(got[0]).toBeDefined();
    expect(got[1]).toBeUndefined();
  });

  it('a million distinct small keys stay within maxBytes throughout', async () => {
    const maxBytes = 8 * 1024 * 1024;
    const store = createMemoryStore({ maxEntries: 1_000_000, maxBytes });
    const total = 1_000_000;
    const chunk = 1_000;
    let maxSeen = 0;
    for (let start = 0; start < total; start += chunk) {
      const writes = new Array<CacheWrite>(chunk);
      for (let i = 0; i < chunk; i++) {
        const n = start + i;
        writes[i] = {
          key: `loaderkit|users|1|global|0|${n}`,
          entry: { value: { id: n, name: `u${n}` }, sharing: 'frozen', freshUntil: 0, staleUntil: 0 },
          ttlMs: 3_600_000,
        };
      }
      await store.setMany(writes);
      const bytes = store.stats?.().bytes ?? Number.POSITIVE_INFINITY;
      if (bytes > maxSeen) maxSeen = bytes;
      if (bytes > maxBytes)
        throw new Error(`bytes ${bytes} > maxBytes ${maxBytes} after ${start + chunk} keys`);
    }
    const stats = store.stats!();
    expect(maxSeen).toBeLessThanOrEqual(maxBytes);
    // The bound is what limited the store (not maxEntries), and it was nearly used.
    expect(stats.entries).toBeLessThan(total);
    expect(stats.entries! + stats.evictions).toBe(total);
    expect(maxSeen).toBeGreaterThan(maxBytes * 0.9);
    // The newest keys are kept, the oldest went first.
    const [newest, oldest] = await store.getMany([
      `loaderkit|users|1|global|0|${total - 1}`,
      'loaderkit|users|1|global|0|0',
    ]);
    expect(newest?.value).toEqual({ id: total - 1, name: `u${total - 1}` });
    expect(oldest).toBeUndefined();
    await store.close();
  }, 30_000);

  describe('rejects bad options with a TypeError naming the option', () => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null])('maxEntries: %s', (bad) => {
      expect(() => createMemoryStore({ maxEntries: bad as never })).toThrow(TypeError);
      expect(() => createMemoryStore({ maxEntries: bad as never })).toThrow(/maxEntries/);
    });

    it.each([0, -5, 2.5, Number.NaN, '1024', true])('maxBytes: %s', (bad) => {
      expect(() => createMemoryStore({ maxBytes: bad as never })).toThrow(TypeError);
      expect(() => createMemoryStore({ maxBytes: bad as never })).toThrow(/maxBytes/);
    });

    it.each([42, 'now'])('now: %s', (bad) => {
      expect(() => createMemoryStore({ now: bad as never })).toThrow(TypeError);
      expect(() => createMemoryStore({ now: bad as never })).toThrow(/\bnow\b/);
    });
  });
});

describe('estimateBytes', () => {
  it('grows with the size of the value', () => {
    expect(estimateBytes('')).toBeLessThan(estimateBytes('abc'));
    expect(estimateBytes('abc')).toBe(estimateBytes('xyz'));
    expect(estimateBytes({ a: 1 })).toBeLessThan(estimateBytes({ a: 1, b: 'two' }));
    expect(estimateBytes([1, 2])).toBeLessThan(estimateBytes([1, 2, 3]));
    expect(estimateBytes(new Uint8Array(1_000))).toBeGreaterThanOrEqual(1_000);
    expect(estimateBytes(new Map([['k', 'x'.repeat(100)]]))).toBeGreaterThanOrEqual(200);
  });

  it('terminates on cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(Number.isFinite(estimateBytes(cyclic))).toBe(true);
  });
});
