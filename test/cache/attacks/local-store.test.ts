import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders, type LocalEntry, type LocalStore } from '../../../src/index.js';
import { db } from '../harness.js';

interface Ctx {
  tenant: string;
}

/**
 * Loaders over `store`; `sourceCalls.n` counts the calls of the source. `immediateCacheHits`: memo hits
 * return the memoized promise itself (the shared one, for a shared hit).
 */
function withStore(
  store: LocalStore,
  data: ReturnType<typeof db>,
  sourceCalls = { n: 0 },
  immediateCacheHits = false,
) {
  return defineLoaders(
    {
      items: {
        batch: async (ids: readonly number[], _ctx: Ctx) => {
          sourceCalls.n++;
          return ids.map((id) => ({ id, v: data.get(id) }));
        },
        shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
        immediateCacheHits,
      },
    },
    { store, onError: () => {} },
  );
}

describe('attack: a failing local store and invalidation', () => {
  it('invalidate() whose local delete throws must not resolve while the old entry keeps being served', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'flaky',
      delete() {
        throw new Error('local delete failed');
      },
    };
    const data = db();
    const createLoaders = withStore(store, data);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    data.set(1, 2);
    const outcome = await createLoaders({ tenant: 'a' })
      .items.invalidate(1)
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const after = await createLoaders({ tenant: 'a' }).items.load(1);
    // either the invalidation says it failed, or the old value is never served again
    expect(outcome === 'rejected' || after.v === 2).toBe(true);
  });

  it('invalidateScope() whose deleteSpaces throws must not resolve while the old entries keep being served', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'flaky',
      deleteSpaces() {
        throw new Error('local deleteSpaces failed');
      },
    };
    const data = db();
    const createLoaders = withStore(store, data);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    data.set(1, 2);
    const outcome = await createLoaders({ tenant: 'a' })
      .items.invalidateScope()
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const after = await createLoaders({ tenant: 'a' }).items.load(1);
    expect(outcome === 'rejected' || after.v === 2).toBe(true);
  });
});

describe('attack: a local store that freezes or copies the entries it keeps', () => {
  it('a store that freezes its entries: hits still answer, with one source call', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'freezing',
      set: (entry, ttl) => inner.set(Object.freeze(entry), ttl),
    };
    const calls = { n: 0 };
    const createLoaders = withStore(store, db(), calls);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    const again = createLoaders({ tenant: 'a' }).items.load(1);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual({ id: 1, v: 1 });
    expect(calls.n).toBe(1);
  });

  it.each([
    ['structured clones', (entry: LocalEntry) => structuredClone(entry)],
    ['JSON copies', (entry: LocalEntry) => JSON.parse(JSON.stringify(entry)) as LocalEntry],
  ])(
    'a store that keeps %s: its copies are frozen before any request receives one, and hit',
    async (_, copy) => {
      const inner = createMemoryStore();
      const store: LocalStore = {
        ...inner,
        name: 'copying',
        set: (entry, ttl) => inner.set(copy(entry), ttl),
      };
      const calls = { n: 0 };
      const createLoaders = withStore(store, db(), calls);
      const first = await createLoaders({ tenant: 'a' }).items.load(1);
      expect(Object.isFrozen(first)).toBe(true);
      // Served from the store's copy (one source call), frozen like the value it copies.
      const second = await createLoaders({ tenant: 'a' }).items.load(1);
      expect(Object.isFrozen(second)).toBe(true);
      expect(() => {
        (second as { v: number }).v = 99;
      }).toThrow(TypeError);
      expect((await createLoaders({ tenant: 'a' }).items.load(1)).v).toBe(1);
      expect(calls.n).toBe(1);
    },
  );
});

describe('a cached not-found in a store that copies entries', () => {
  it.each([
    ['structured clones', (entry: LocalEntry) => structuredClone(entry)],
    ['JSON copies', (entry: LocalEntry) => JSON.parse(JSON.stringify(entry)) as LocalEntry],
  ])('%s: hits answer null (never a shared object), with one source call', async (_, copy) => {
    const inner = createMemoryStore();
    const store: LocalStore = { ...inner, name: 'copying', set: (entry, ttl) => inner.set(copy(entry), ttl) };
    const calls = { n: 0 };
    const errors: unknown[] = [];
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], _ctx: Ctx) => {
            calls.n++;
            return ids.map(() => null);
          },
          shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, negativeTtl: 60_000 },
        },
      },
      { store, onError: (error) => errors.push(error) },
    );
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toBeNull();
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toBeNull();
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toBeNull();
    expect(calls.n).toBe(1);
    expect(errors).toEqual([]);
  });
});

describe('the promise of a shared hit', () => {
  const immediate = (store: LocalStore, calls = { n: 0 }) => withStore(store, db(), calls, true);

  it('is made once per entry, on the first hit, frozen, and every later hit of any request returns it', async () => {
    const calls = { n: 0 };
    const createLoaders = immediate(createMemoryStore(), calls);
    await createLoaders({ tenant: 'a' }).items.load(1);
    const hit = createLoaders({ tenant: 'a' }).items.load(1);
    expect(Object.isFrozen(hit)).toBe(true);
    expect(createLoaders({ tenant: 'a' }).items.load(1)).toBe(hit);
    expect(createLoaders({ tenant: 'a' }).items.load(1)).toBe(hit);
    // Another key's entry has its own.
    await createLoaders({ tenant: 'a' }).items.load(2);
    expect(createLoaders({ tenant: 'a' }).items.load(2)).not.toBe(hit);
    expect(calls.n).toBe(2);
  });

  it('is not made for an entry until its first hit (an entry filled and never hit makes none)', async () => {
    const inner = createMemoryStore();
    const kept: LocalEntry[] = [];
    const store: LocalStore = {
      ...inner,
      name: 'spying',
      set: (entry, ttl) => {
        kept.push(entry);
        inner.set(entry, ttl);
      },
    };
    const createLoaders = immediate(store);
    await createLoaders({ tenant: 'a' }).items.loadMany([1, 2]);
    expect(kept.map((entry) => entry.resolved)).toEqual([undefined, undefined]);
    const hit = createLoaders({ tenant: 'a' }).items.load(1);
    expect(kept[0]!.resolved).toBe(hit);
    expect(kept[1]!.resolved).toBeUndefined();
  });

  it('kept on an entry the store copies later (JSON, after the first hit): hits still answer the value', async () => {
    const inner = createMemoryStore();
    let copying = false;
    const store: LocalStore = {
      ...inner,
      name: 'copying-later',
      get: (space, key) => {
        const entry = inner.get(space, key);
        return copying && entry !== undefined ? (JSON.parse(JSON.stringify(entry)) as LocalEntry) : entry;
      },
    };
    const calls = { n: 0 };
    const createLoaders = immediate(store, calls);
    await createLoaders({ tenant: 'a' }).items.load(1);
    await createLoaders({ tenant: 'a' }).items.load(1); // the first hit keeps its promise on the entry
    copying = true;
    const later = await createLoaders({ tenant: 'a' }).items.load(1);
    expect(later).toEqual({ id: 1, v: 1 });
    expect(Object.isFrozen(later)).toBe(true);
    expect(calls.n).toBe(1);
  });

  it('of an entry the store froze is a new frozen one per hit, of the same frozen value', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'freezing',
      set: (entry, ttl) => inner.set(Object.freeze(entry), ttl),
    };
    const createLoaders = immediate(store);
    const first = await createLoaders({ tenant: 'a' }).items.load(1);
    const a = createLoaders({ tenant: 'a' }).items.load(1);
    const b = createLoaders({ tenant: 'a' }).items.load(1);
    expect(a).not.toBe(b);
    expect(Object.isFrozen(a) && Object.isFrozen(b)).toBe(true);
    expect(await a).toBe(first);
    expect(await b).toBe(first);
  });
});
