/**
 * User code around a load (onError, observers, primes functions) and a store failing on every call:
 * isolated and reported, never thrown into a load (issue #10, §3).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cached, createMemoryStore, defineLoaders, type LocalStore } from '../src/index.js';

interface User {
  id: number;
  slug: string;
}

/** A real memory store, with the methods named in `broken` throwing on every call. */
function breakStore(
  store: LocalStore,
  broken: ReadonlyArray<'get' | 'set' | 'delete' | 'deleteSpaces'>,
): { store: LocalStore; failures: () => number } {
  let failures = 0;
  const guard =
    <A extends unknown[], R>(method: 'get' | 'set' | 'delete' | 'deleteSpaces', call: (...args: A) => R) =>
    (...args: A): R => {
      if (broken.includes(method)) {
        failures++;
        throw new Error(`store ${method} is down`);
      }
      return call(...args);
    };
  const wrapped: LocalStore = {
    name: 'broken',
    get: guard('get', (space: string, key: unknown) => store.get(space, key)),
    set: guard('set', (entry: Parameters<LocalStore['set']>[0], ttlMs: number) => store.set(entry, ttlMs)),
    delete: guard('delete', (space: string, key: unknown) => store.delete(space, key)),
    deleteSpaces: guard('deleteSpaces', (prefix: string) => store.deleteSpaces(prefix)),
    stats: () => store.stats(),
    close: () => store.close(),
  };
  return { store: wrapped, failures: () => failures };
}

const users = (ids: readonly number[]) => Promise.resolve(ids.map((id) => ({ id, slug: `u${id}` })));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a throwing onError', () => {
  it('never fails a load of defineLoaders; it falls back to console.warn once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { store } = breakStore(createMemoryStore(), ['get', 'set']);
    let told = 0;
    const createLoaders = defineLoaders(
      {
        users: { batch: users, shared: { scope: 'global', ttl: 60_000 } },
        // A value holding a function is served but never shared, and onError is told.
        withFn: {
          batch: async (ids: readonly number[]) => ids.map((id) => ({ id, f: () => id })),
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      {
        store,
        onError: () => {
          told++;
          throw new Error('onError is broken');
        },
      },
    );
    const loaders = createLoaders({});
    await expect(loaders.users.load(1)).resolves.toEqual({ id: 1, slug: 'u1' });
    await expect(createLoaders({}).users.load(2)).resolves.toEqual({ id: 2, slug: 'u2' });
    const { store: healthy } = breakStore(createMemoryStore(), []);
    const other = defineLoaders(
      {
        withFn: {
          batch: async (ids: readonly number[]) => ids.map((id) => ({ id, f: () => id })),
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      {
        store: healthy,
        onError: () => {
          throw new Error('onError is broken');
        },
      },
    );
    await expect(other({}).withFn.load(3)).resolves.toMatchObject({ id: 3 });
    expect(told).toBeGreaterThan(0);
    // One fallback warning per onError that threw (two definitions here), not one per failure.
    expect(warn.mock.calls.filter((call) => String(call[0]).includes('onError'))).toHaveLength(2);
  });

  it('never fails a call of cached, nor escapes as a rejection when onError is async', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { store } = breakStore(createMemoryStore(), ['get', 'set']);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fn = cached(async (x: number) => x * 2, {
        name: 'double',
        scope: 'global',
        ttl: 60_000,
        store,
        onError: () => {
          throw new Error('onError is broken');
        },
      });
      await expect(fn(2)).resolves.toBe(4);
      await expect(fn(3)).resolves.toBe(6);
      const asyncFn = cached(async (x: number) => x + 1, {
        name: 'inc',
        scope: 'global',
        ttl: 60_000,
        store,
        onError: (async () => {
          throw new Error('async onError is broken');
        }) as never,
      });
      await expect(asyncFn(1)).resolves.toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      expect(warn.mock.calls.filter((call) => String(call[0]).includes('onError'))).toHaveLength(2);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('a throwing observer', () => {
  for (const kind of ['batch', 'finisher', 'source'] as const) {
    it(`its ${kind} never fails a load or changes its value; onError is told once`, async () => {
      const errors: Error[] = [];
      for (const shared of [false, true]) {
        errors.length = 0;
        const createLoaders = defineLoaders(
          { users: { batch: users, ...(shared ? { shared: { scope: 'global', ttl: 60_000 } } : {}) } },
          { onError: (error) => errors.push(error) },
        );
        const boom = () => {
          throw new Error(`${kind} observer is broken`);
        };
        createLoaders.observe(
          kind === 'batch' ? { batch: boom } : kind === 'finisher' ? { batch: () => boom } : { source: boom },
        );
        await expect(createLoaders({}).users.load(1)).resolves.toEqual({ id: 1, slug: 'u1' });
        await expect(createLoaders({}).users.loadMany([2, 3])).resolves.toEqual([
          { id: 2, slug: 'u2' },
          { id: 3, slug: 'u3' },
        ]);
        expect(errors).toHaveLength(1);
        expect(errors[0]!.message).toContain(`${kind} observer is broken`);
        expect(createLoaders.stats().loaders.users.errors).toBe(0);
        await createLoaders.close();
      }
    });
  }
});

describe('a throwing primes function', () => {
  it('never fails the load that produced the value; the sibling is not primed; told once per loader', async () => {
    const errors: Error[] = [];
    const byIdCalls: number[][] = [];
    const createLoaders = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[]) => {
            byIdCalls.push([...ids]);
            return ids.map((id) => ({ id, slug: `u${id}` }));
          },
        },
        bySlug: {
          batch: async (slugs: readonly string[]) =>
            slugs.map((slug) => ({ id: Number(slug.slice(1)), slug })),
          primes: {
            users: (user: User) => {
              if (user.id % 2 === 1) throw new Error(`cannot key ${user.slug}`);
              return user.id;
            },
          },
        },
      },
      { onError: (error) => errors.push(error) },
    );
    const loaders = createLoaders({});
    await expect(loaders.bySlug.loadMany(['u1', 'u2', 'u3'])).resolves.toEqual([
      { id: 1, slug: 'u1' },
      { id: 2, slug: 'u2' },
      { id: 3, slug: 'u3' },
    ]);
    await expect(createLoaders({}).bySlug.load('u5')).resolves.toEqual({ id: 5, slug: 'u5' });
    // u2 was primed; u1 and u3 were not, so they are loaded by id.
    await expect(loaders.users.loadMany([1, 2, 3])).resolves.toHaveLength(3);
    expect(byIdCalls).toEqual([[1, 3]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('cannot key u1');
  });
});

describe('a store failing on every call', () => {
  it('reports at most 5 failures per loader per second of its clock; stats().errors counts every failure', async () => {
    let time = 1_000_000;
    const now = () => time;
    const { store, failures } = breakStore(createMemoryStore({ now }), ['get']);
    const errors: Error[] = [];
    const createLoaders = defineLoaders(
      { users: { batch: users, shared: { scope: 'global', ttl: 60_000 } } },
      { store, now, onError: (error) => errors.push(error) },
    );
    const loads = [];
    for (let i = 0; i < 1000; i++) loads.push(createLoaders({}).users.load(i));
    await Promise.all(loads);
    expect(failures()).toBeGreaterThanOrEqual(1000);
    expect(createLoaders.stats().loaders.users.errors).toBe(failures());
    expect(errors).toHaveLength(5);
    expect(errors.every((error) => error.message === 'store get is down')).toBe(true);

    time += 999; // still the same window
    await createLoaders({}).users.load(5000);
    expect(errors).toHaveLength(5);
    time += 1; // a new window: its first failures are reported again
    await createLoaders({}).users.load(5001);
    expect(errors).toHaveLength(6); // the load reads the local tier once (its batch does not again)
    expect(createLoaders.stats().loaders.users.errors).toBe(failures());
  });
});
