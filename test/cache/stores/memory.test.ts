import { describe, expect, it } from 'vitest';
import { estimateBytes } from '../../../src/cache/entry.js';
import type { LocalEntry } from '../../../src/index.js';
import { createMemoryStore } from '../../../src/index.js';

/** An entry of space `s` at `key` holding `value`, of `bytes` bytes. */
function entry(key: unknown, value: unknown = `v${String(key)}`, bytes = 64, space = 's'): LocalEntry {
  return { space, key, value, sharing: 'frozen', freshUntil: 1, staleUntil: 1, bytes, resolved: undefined };
}

describe('createMemoryStore', () => {
  it('is named memory', () => {
    expect(createMemoryStore().name).toBe('memory');
  });

  it('evicts the least recently used entry past maxEntries and counts it in stats().evictions', () => {
    const store = createMemoryStore({ maxEntries: 2 });
    store.set(entry('a'), 60_000);
    store.set(entry('b'), 60_000);
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 0 });
    // Reading `a` makes `b` the least recently used.
    store.get('s', 'a');
    store.set(entry('c'), 60_000);
    expect(['a', 'b', 'c'].map((k) => store.get('s', k)?.value)).toEqual(['va', undefined, 'vc']);
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 1 });
    store.set(entry('d'), 60_000);
    store.set(entry('e'), 60_000);
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 3 });
  });

  it('never returns an evicted entry again, even one read just before (issue #10)', () => {
    const store = createMemoryStore({ maxEntries: 3 });
    for (const key of [1, 2, 3]) store.set(entry(key), 60_000);
    expect(store.get('s', 1)?.value).toBe('v1');
    for (const key of [4, 5, 6]) store.set(entry(key), 60_000);
    expect([1, 2, 3].map((k) => store.get('s', k))).toEqual([undefined, undefined, undefined]);
    expect(store.stats()).toMatchObject({ entries: 3, evictions: 3 });
  });

  it('does not count deletes, overwrites or expiries as evictions', () => {
    let clock = 1_000;
    const store = createMemoryStore({ maxEntries: 10, now: () => clock });
    store.set(entry('a'), 10);
    store.set(entry('b'), 60_000);
    store.set(entry('b', 'b2'), 60_000);
    expect(store.get('s', 'b')?.value).toBe('b2');
    store.delete('s', 'b');
    clock += 1_000;
    expect([store.get('s', 'a'), store.get('s', 'b')]).toEqual([undefined, undefined]);
    expect(store.stats()).toMatchObject({ entries: 0, evictions: 0 });
  });

  it('a write with ttlMs 0 drops what was there and stores nothing', () => {
    const store = createMemoryStore();
    store.set(entry('k'), 60_000);
    store.set(entry('k', 'gone'), 0);
    expect(store.get('s', 'k')).toBeUndefined();
    expect(store.stats().entries).toBe(0);
  });

  it('honours expiry on its own clock at once, without real time passing', () => {
    let clock = 1_000;
    const store = createMemoryStore({ now: () => clock });
    store.set(entry('k'), 100);
    clock += 99;
    expect(store.get('s', 'k')?.value).toBe('vk');
    clock += 2;
    expect(store.get('s', 'k')).toBeUndefined();
  });

  it('keys are SameValueZero within a space, and spaces apart', () => {
    const store = createMemoryStore();
    store.set(entry(0, 'zero'), 60_000);
    store.set(entry(Number.NaN, 'nan'), 60_000);
    store.set(entry('0', 'string zero'), 60_000);
    store.set(entry(0, 'other space', 64, 't'), 60_000);
    expect(store.get('s', -0)?.value).toBe('zero');
    expect(store.get('s', Number.NaN)?.value).toBe('nan');
    expect(store.get('s', '0')?.value).toBe('string zero');
    expect(store.get('t', 0)?.value).toBe('other space');
    expect(store.get('u', 0)).toBeUndefined();
  });

  it('deleteSpaces drops exactly the spaces under a prefix and says how many entries went', () => {
    const store = createMemoryStore();
    for (const space of ['3:abcs', '3:abco', '3:abds', '4:abcds']) {
      store.set(entry(1, space, 64, space), 60_000);
      store.set(entry(2, space, 64, space), 60_000);
    }
    expect(store.deleteSpaces('3:abc')).toBe(4);
    expect(store.get('3:abcs', 1)).toBeUndefined();
    expect(store.get('3:abco', 2)).toBeUndefined();
    expect(store.get('3:abds', 1)?.value).toBe('3:abds');
    expect(store.get('4:abcds', 1)?.value).toBe('4:abcds');
    expect(store.stats().entries).toBe(4);
  });

  it('close empties it', () => {
    const store = createMemoryStore();
    store.set(entry('k'), 60_000);
    store.close();
    expect(store.get('s', 'k')).toBeUndefined();
    expect(store.stats().entries).toBe(0);
  });

  it('reports bytes only when bounded by maxBytes', () => {
    const unbounded = createMemoryStore();
    unbounded.set(entry('k'), 60_000);
    expect(unbounded.stats().bytes).toBeUndefined();
    const bounded = createMemoryStore({ maxBytes: 10_000 });
    expect(bounded.stats().bytes).toBe(0);
    bounded.set(entry('k', 'v', 300), 60_000);
    expect(bounded.stats().bytes).toBe(300);
    bounded.delete('s', 'k');
    expect(bounded.stats().bytes).toBe(0);
  });

  it('evicts by size: bigger entries push out more, bytes stay within maxBytes, an oversized entry is not kept', () => {
    const store = createMemoryStore({ maxEntries: 1_000, maxBytes: 4_000 });
    for (let i = 0; i < 10; i++) {
      store.set(entry(i, 'x', 1_800), 60_000);
      expect(store.stats().bytes).toBeLessThanOrEqual(4_000);
    }
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 8 });
    expect(store.get('s', 9)).toBeDefined();
    expect(store.get('s', 0)).toBeUndefined();
    store.set(entry('huge', 'x', 5_000), 60_000);
    expect(store.get('s', 'huge')).toBeUndefined();
    expect(store.stats().entries).toBe(2);
  });

  it('a million distinct small keys stay within maxBytes throughout', () => {
    const maxBytes = 8 * 1024 * 1024;
    const store = createMemoryStore({ maxEntries: 1_000_000, maxBytes });
    const total = 1_000_000;
    let maxSeen = 0;
    for (let n = 0; n < total; n++) {
      store.set(entry(n, { id: n }, 100), 3_600_000);
      if (n % 1_000 === 999) {
        const bytes = store.stats().bytes ?? Number.POSITIVE_INFINITY;
        if (bytes > maxSeen) maxSeen = bytes;
        if (bytes > maxBytes) throw new Error(`bytes ${bytes} > maxBytes ${maxBytes} after ${n + 1} keys`);
      }
    }
    const stats = store.stats();
    expect(stats.entries).toBe(Math.floor(maxBytes / 100));
    expect(stats.entries! + stats.evictions).toBe(total);
    expect(maxSeen).toBeGreaterThan(maxBytes * 0.9);
    expect(store.get('s', total - 1)?.value).toEqual({ id: total - 1 });
    expect(store.get('s', 0)).toBeUndefined();
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

  it('terminates on cycles, and counts an object shared by many parents once (linear on a DAG)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(Number.isFinite(estimateBytes(cyclic))).toBe(true);
    // 60 levels of { a: v, b: v }: 2^60 paths, 60 objects. A walk by paths would never end.
    let dag: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 60; i++) dag = { a: dag, b: dag };
    expect(estimateBytes(dag)).toBeLessThan(60 * 100);
  });
});
