import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  defineLoaders,
  type LoaderStats,
  type LoadersContext,
  loader,
  NotFoundError,
  RequestLoader,
  type SpecKey,
  type SpecValue,
} from '../src/index.js';

interface User {
  id: number;
  slug: string;
  name: string;
}
interface Post {
  id: string;
  title: string;
}
interface TenantCtx {
  tenant: string;
}
interface ViewerCtx {
  viewer: number;
}

const user = (id: number): User => ({ id, slug: `u${id}`, name: `User ${id}` });

describe('defineLoaders: types', () => {
  it('infers key and value types from each batch function, with no casts or generics', () => {
    const create = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.map(user) },
      posts: {
        batch: async (ids: readonly string[]) => ids.map((id): Post | Error => ({ id, title: id })),
      },
      compound: {
        batch: async (keys: readonly { org: string; n: number }[]) => keys.map((k) => `${k.org}${k.n}`),
      },
    });
    const loaders = create({});
    expectTypeOf(loaders.users).toEqualTypeOf<RequestLoader<number, User>>();
    expectTypeOf(loaders.users.load).parameter(0).toEqualTypeOf<number>();
    expectTypeOf(loaders.users.load(1)).toEqualTypeOf<Promise<User>>();
    // Error members of the result are rejections, not values.
    expectTypeOf(loaders.posts.load('p')).toEqualTypeOf<Promise<Post>>();
    expectTypeOf(loaders.posts.loadMany(['p'])).toEqualTypeOf<Promise<Array<Post | Error>>>();
    expectTypeOf(loaders.compound.load).parameter(0).toEqualTypeOf<{ org: string; n: number }>();
    expectTypeOf(loaders.compound.load({ org: 'a', n: 1 })).toEqualTypeOf<Promise<string>>();
    // @ts-expect-error: users take number keys
    void loaders.users.load('1').catch(() => {});
  });

  it('adds | null to the value of a batch that answers with a Map', () => {
    const create = defineLoaders({
      byId: {
        batch: async (ids: readonly number[]) => new Map(ids.map((id) => [id, user(id)] as const)),
      },
    });
    expectTypeOf(create({}).byId.load(1)).toEqualTypeOf<Promise<User | null>>();
    type Spec = { batch: (keys: readonly number[]) => Promise<Map<number, User>> };
    expectTypeOf<SpecKey<Spec>>().toEqualTypeOf<number>();
    expectTypeOf<SpecValue<Spec>>().toEqualTypeOf<User | null>();
  });

  it("types createLoaders' context as what the batch functions take", () => {
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[], ctx: TenantCtx) => ids.map((id) => `${ctx.tenant}${id}`),
      },
      feed: { batch: async (ids: readonly number[], ctx: ViewerCtx) => ids.map((id) => id + ctx.viewer) },
      plain: { batch: async (ids: readonly number[]) => ids },
    });
    expectTypeOf(create).parameter(0).toEqualTypeOf<TenantCtx & ViewerCtx>();
    expectTypeOf<
      LoadersContext<{ a: { batch: (k: readonly number[], c: TenantCtx) => Promise<number[]> } }>
    >().toEqualTypeOf<TenantCtx>();
    // @ts-expect-error: the viewer is missing
    void create({ tenant: 't' });
    void create({ tenant: 't', viewer: 1 });

    const contextFree = defineLoaders({ plain: { batch: async (ids: readonly number[]) => ids } });
    expectTypeOf(contextFree).parameter(0).toEqualTypeOf<unknown>();
    expectTypeOf(contextFree({}).plain.load(1)).toEqualTypeOf<Promise<number>>();
  });

  it('accepts a scope function of the context and keeps the shared loader typed', () => {
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[], ctx: TenantCtx) => ids.map((id) => `${ctx.tenant}${id}`),
        shared: { scope: (ctx: TenantCtx) => ctx.tenant, ttl: 1_000 },
      },
    });
    expectTypeOf(create).parameter(0).toEqualTypeOf<TenantCtx>();
    expectTypeOf(create({ tenant: 't' }).users.load(1)).toEqualTypeOf<Promise<string>>();
    expectTypeOf(create.invalidate<'users'>)
      .parameter(1)
      .toEqualTypeOf<readonly number[]>();
  });

  it('a shared policy without scope is a type error and a runtime TypeError naming the loader', () => {
    expect(() =>
      defineLoaders({
        accounts: {
          batch: async (ids: readonly number[]) => ids,
          // @ts-expect-error: shared.scope is required
          shared: { ttl: 1_000 },
        },
      }),
    ).toThrow(TypeError);
    expect(() =>
      defineLoaders({
        accounts: {
          batch: async (ids: readonly number[]) => ids,
          // @ts-expect-error: shared.scope is required
          shared: { ttl: 1_000 },
        },
      }),
    ).toThrow(/Loader "accounts".*shared\.scope is required/);
  });

  it('rejects bad shared policies at definition, naming the loader and the option', () => {
    const batch = async (ids: readonly number[]) => ids;
    const cases: Array<[unknown, RegExp]> = [
      [{ scope: 'tenant', ttl: 1 }, /shared\.scope/],
      [{ scope: 'global' }, /shared\.ttl/],
      [{ scope: 'global', ttl: -1 }, /shared\.ttl/],
      [
        { scope: 'global', ttl: 1, jitter: 2 },
        /shared\.jitter is a fraction of the TTL between 0 and 1, but got: 2/,
      ],
      [{ scope: 'global', ttl: 1, jitter: -0.1 }, /shared\.jitter is a fraction/],
      [{ scope: 'global', ttl: 1, jitter: null }, /shared\.jitter is a fraction.*null/],
      [{ scope: 'global', ttl: 1, version: null }, /shared\.version must be/],
      [{ scope: 'global', ttl: 1, jitter: '0.1' }, /shared\.jitter is a fraction.*"0\.1"/],
      [
        { scope: 'global', ttl: 1, version: Number.NaN },
        /shared\.version must be a non-empty string or a finite number/,
      ],
      [{ scope: 'global', ttl: 1, negativeTtl: Number.NaN }, /shared\.negativeTtl/],
      [{ scope: 'global', ttl: 1, graceMs: -5 }, /shared\.graceMs/],
      [{ scope: 'global', ttl: 1, version: '' }, /shared\.version/],
      [{ scope: 'global', ttl: 1, ttlMs: 5 }, /unknown shared option "ttlMs"/],
      ['global', /shared must be an object/],
    ];
    for (const [shared, message] of cases) {
      expect(() => defineLoaders({ things: { batch, shared: shared as never } })).toThrow(TypeError);
      expect(() => defineLoaders({ things: { batch, shared: shared as never } })).toThrow(/Loader "things"/);
      expect(() => defineLoaders({ things: { batch, shared: shared as never } })).toThrow(message);
    }
  });
});

describe('defineLoaders: validation at definition', () => {
  const batch = async (ids: readonly number[]) => ids;

  it('throws on unknown spec options, naming the loader and the option', () => {
    expect(() => defineLoaders({ users: { batch, ttl: 5 } as never })).toThrow(TypeError);
    expect(() => defineLoaders({ users: { batch, ttl: 5 } as never })).toThrow(
      /Loader "users": unknown option "ttl"/,
    );
    expect(() => defineLoaders({ users: { batch, cacheKeyFn: (k: number) => k } as never })).toThrow(
      /unknown option "cacheKeyFn"/,
    );
  });

  it('throws on a batch that is not a function', () => {
    expect(() => defineLoaders({ users: { batch: 'SELECT *' } as never })).toThrow(TypeError);
    expect(() => defineLoaders({ users: { batch: 'SELECT *' } as never })).toThrow(
      /Loader "users": batch must be a function/,
    );
    expect(() => defineLoaders({ users: {} as never })).toThrow(/batch must be a function/);
    expect(() => defineLoaders({ users: null as never })).toThrow(/Loader "users"/);
  });

  it('throws on primes naming an unknown loader, listing the defined ones', () => {
    expect(() =>
      defineLoaders({
        bySlug: {
          batch: async (slugs: readonly string[]) => slugs.map(() => user(1)),
          primes: { usersById: (u) => u.id },
        },
        byId: { batch: async (ids: readonly number[]) => ids.map(user) },
      }),
    ).toThrow(/Loader "bySlug": primes names "usersById", which is not a loader \(defined: bySlug, byId\)/);
    expect(() =>
      defineLoaders({
        a: { batch, primes: { a: 'id' } as never },
      }),
    ).toThrow(/primes\.a must be a function/);
  });

  it('throws on a non-function cacheKey and a non-object specs argument', () => {
    expect(() => defineLoaders({ users: { batch, cacheKey: 'id' as never } })).toThrow(
      /cacheKey must be a function/,
    );
    expect(() => defineLoaders(null as never)).toThrow(TypeError);
    expect(() => defineLoaders({ users: { batch } }, { prefix: 5 as never })).toThrow(/prefix/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'maxBatchSize',
      { maxBatchSize: '10' },
      'option maxBatchSize must be a positive integer or Infinity, but got: "10".',
    ],
    [
      'maxBatchSize',
      { maxBatchSize: 0 },
      'option maxBatchSize must be a positive integer or Infinity, but got: 0.',
    ],
    [
      'batchWindowMs',
      { batchWindowMs: -3 },
      'option batchWindowMs must be a finite number of milliseconds >= 0, but got: -3.',
    ],
    ['adaptive', { adaptive: 'yes' }, 'option adaptive must be a boolean, but got: "yes".'],
    ['maxBatchWaitMs', { maxBatchWaitMs: 5 }, 'option maxBatchWaitMs (5) only applies with adaptive: true.'],
    ['cacheErrors', { cacheErrors: 'no' }, 'option cacheErrors must be a boolean, but got: "no".'],
    [
      'maxCacheEntries',
      { maxCacheEntries: -1 },
      'option maxCacheEntries must be a positive integer, but got: -1.',
    ],
    [
      'immediateCacheHits',
      { immediateCacheHits: 1 },
      'option immediateCacheHits must be a boolean, but got: 1.',
    ],
    ['onMissing', { onMissing: 'throw' }, "option onMissing must be 'null' or 'error', but got: \"throw\"."],
    [
      'batchWindowMs + adaptive',
      { batchWindowMs: 5, adaptive: true },
      'options batchWindowMs and adaptive are two schedules',
    ],
  ])(
    'throws on a bad %s when loaders are defined, naming the loader and the option',
    (_label, options, message) => {
      let error: unknown;
      try {
        defineLoaders({ ok: { batch }, users: { batch, ...options } });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toContain(`Loader "users": ${message}`);
      expect((error as TypeError).cause).toBeInstanceOf(TypeError);
    },
  );

  it('accepts and passes on immediateCacheHits', async () => {
    const calls: number[][] = [];
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[]) => {
          calls.push([...ids]);
          return ids.map(user);
        },
        immediateCacheHits: false,
      },
    });
    const loaders = create({});
    await loaders.users.load(1);
    // dataloader's timing: a hit waits for the batch pending when it was made.
    const order: string[] = [];
    const miss = loaders.users.load(2).then(() => order.push('miss'));
    const hit = loaders.users.load(1).then(() => order.push('hit'));
    await Promise.all([miss, hit]);
    expect(order).toEqual(['miss', 'hit']);
    const eager = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.map(user), immediateCacheHits: true },
    })({});
    await eager.users.load(1);
    const eagerOrder: string[] = [];
    await Promise.all([
      eager.users.load(2).then(() => eagerOrder.push('miss')),
      eager.users.load(1).then(() => eagerOrder.push('hit')),
    ]);
    expect(eagerOrder).toEqual(['hit', 'miss']);
  });

  it('lists the valid names with an unknown spec option', () => {
    expect(() => defineLoaders({ users: { batch, maxBatchSise: 5 } as never })).toThrow(
      'Loader "users": unknown option "maxBatchSise"; valid options: batch, cacheKey, shared, primes, maxBatchSize, batchWindowMs, adaptive, maxBatchWaitMs, cacheErrors, maxCacheEntries, immediateCacheHits, onMissing.',
    );
  });

  it('throws on an unknown defineLoaders option, listing the valid ones', () => {
    expect(() => defineLoaders({ users: { batch } }, { prefx: 'app' } as never)).toThrow(
      'defineLoaders: unknown option "prefx"; valid options: store, remote, remoteOptions, prefix, now, onError.',
    );
    expect(() => defineLoaders({ users: { batch } }, 'app' as never)).toThrow(
      'defineLoaders(specs, options): options must be an object, but got: "app".',
    );
  });

  it('throws on an unknown shared option, listing the valid ones', () => {
    expect(() =>
      defineLoaders({ users: { batch, shared: { scope: 'global', ttl: 1, ttll: 2 } as never } }),
    ).toThrow(
      'Loader "users": unknown shared option "ttll"; valid shared options: scope, ttl, jitter, negativeTtl, graceMs, version, refreshContext, l1Ttl, lock.',
    );
  });

  it('throws on a store or remote without their methods, naming the missing ones', () => {
    const shared = { batch, shared: { scope: 'global' as const, ttl: 1 } };
    expect(() => defineLoaders({ users: shared }, { store: {} as never })).toThrow(
      'defineLoaders: option store is missing name, get, set, delete, deleteSpaces, stats, close (a LocalStore has a string name and the methods get, set, delete, deleteSpaces, stats and close), but got: {}.',
    );
    const partial = { name: 'redis', getMany() {}, setMany() {}, close() {} };
    expect(() => defineLoaders({ users: shared }, { remote: partial as never })).toThrow(
      /option remote is missing deleteMany \(a RemoteStore has a string name and the methods getMany, setMany, deleteMany and close\)/,
    );
    expect(() => defineLoaders({ users: shared }, { store: null as never })).toThrow(
      /option store is missing/,
    );
    expect(() => defineLoaders({ users: shared }, { remoteOptions: 5 as never })).toThrow(
      'defineLoaders: option remoteOptions must be an object, but got: 5.',
    );
    expect(() =>
      defineLoaders(
        { users: shared },
        { remoteOptions: { timeoutMs: 0 }, remote: { ...partial, deleteMany() {} } as never },
      ),
    ).toThrow('defineLoaders: remote option timeoutMs must be an integer >= 1, but got: 0.');
    // A complete remote store is accepted.
    expect(() =>
      defineLoaders({ users: shared }, { remote: { ...partial, deleteMany() {} } as never }),
    ).not.toThrow();
  });

  it('throws on a now or onError that is not a function', () => {
    expect(() => defineLoaders({ users: { batch } }, { now: 5 as never })).toThrow(
      'defineLoaders: option now must be a function returning epoch milliseconds, but got: 5.',
    );
    expect(() => defineLoaders({ users: { batch } }, { onError: 'log' as never })).toThrow(
      'defineLoaders: option onError must be a function of the error, but got: "log".',
    );
  });
});

describe('createLoaders: per-request loaders', () => {
  it('creates each loader lazily, on first use, once per request', () => {
    const create = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.map(user) },
      posts: { batch: async (ids: readonly string[]) => ids },
    });
    const loaders = create({});
    expect(Object.hasOwn(loaders, 'users')).toBe(false);
    expect(Object.hasOwn(loaders, 'posts')).toBe(false);
    const users = loaders.users;
    expect(users).toBeInstanceOf(RequestLoader);
    expect(users.name).toBe('users');
    expect(Object.hasOwn(loaders, 'users')).toBe(true);
    expect(Object.hasOwn(loaders, 'posts')).toBe(false);
    expect(loaders.users).toBe(users);
  });

  it('gives every request its own loaders, memo and context', async () => {
    const calls: Array<{ keys: number[]; ctx: TenantCtx }> = [];
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[], ctx: TenantCtx) => {
          calls.push({ keys: [...ids], ctx });
          return ids.map((id) => `${ctx.tenant}:${id}`);
        },
      },
    });
    const ctxA = { tenant: 'a' };
    const ctxB = { tenant: 'b' };
    const a = create(ctxA);
    const b = create(ctxB);
    expect(a.users).not.toBe(b.users);
    expect(await Promise.all([a.users.load(1), b.users.load(1), a.users.load(2)])).toEqual([
      'a:1',
      'b:1',
      'a:2',
    ]);
    expect(await a.users.load(1)).toBe('a:1');
    expect(calls).toEqual([
      { keys: [1, 2], ctx: ctxA },
      { keys: [1], ctx: ctxB },
    ]);
    expect(calls[0]!.ctx).toBe(ctxA);
    // A third request starts with an empty memo (no shared tier: the source is called again).
    expect(await create(ctxA).users.load(1)).toBe('a:1');
    expect(calls).toHaveLength(3);
  });

  it('passes the batch function an abort signal', async () => {
    let seen: AbortSignal | undefined;
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[], _ctx: unknown, info) => {
          seen = info.signal;
          return ids;
        },
      },
    });
    await create({}).users.load(1);
    expect(seen).toBeInstanceOf(AbortSignal);
  });

  it('refuses a request signal that is not an AbortSignal, naming it', () => {
    const create = defineLoaders({ users: { batch: async (ids: readonly number[]) => ids } });
    expect(() => create({}, { signal: { aborted: false } as never })).toThrow(
      'createLoaders(context, { signal }) takes an AbortSignal, but got: {"aborted":false}.',
    );
  });

  it('a huge maxCacheEntries bound allocates nothing up front, per request either', async () => {
    const create = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.map((id) => id * 2), maxCacheEntries: 1e9 },
    });
    // lru-cache with `max: 1e9` would preallocate its arrays and exhaust the heap here.
    for (let i = 0; i < 3; i++) expect(await create({}).users.load(21)).toBe(42);
  });

  it('a request whose signal aborted rejects a shared hit without counting it', async () => {
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[]) => ids.map((id) => ({ id, slug: `u${id}` })),
        shared: { scope: 'global', ttl: 60_000 },
        primes: { bySlug: (user) => user.slug },
      },
      bySlug: { batch: async (slugs: readonly string[]) => slugs.map(() => null) },
    });
    await create({}).users.load(1);
    const controller = new AbortController();
    const loaders = create({}, { signal: controller.signal });
    controller.abort(new Error('gone'));
    await expect(loaders.users.load(1)).rejects.toThrow('gone');
    expect(loaders.users.stats()).toEqual(expect.objectContaining({ sharedHits: 0, sharedHitRate: 0 }));
    expect(create.stats().loaders.users).toEqual(expect.objectContaining({ sharedHits: 0, misses: 1 }));
    await create.close();
  });
});

describe('request loaders keep the dataloader API', () => {
  function setup(options: { maxBatchSize?: number; cacheErrors?: boolean } = {}) {
    const calls: number[][] = [];
    const create = defineLoaders({
      users: {
        ...options,
        batch: async (ids: readonly number[]) => {
          calls.push([...ids]);
          return ids.map((id) => (id < 0 ? new Error(`no user ${id}`) : user(id)));
        },
      },
    });
    return { loaders: create({}), calls };
  }

  it('load batches a tick, dedupes keys and splits by maxBatchSize: [[1, 2], [3]]', async () => {
    const { loaders, calls } = setup({ maxBatchSize: 2 });
    const values = await Promise.all([1, 2, 1, 3].map((id) => loaders.users.load(id)));
    expect(values.map((u) => u.id)).toEqual([1, 2, 1, 3]);
    expect(calls).toEqual([[1, 2], [3]]);
    expect(values[0]).toBe(values[2]);
  });

  it('loadMany answers per key, with an Error where a key failed', async () => {
    const { loaders, calls } = setup();
    const values = await loaders.users.loadMany([1, -1, 2]);
    expect(values[0]).toEqual(user(1));
    expect(values[1]).toBeInstanceOf(Error);
    expect((values[1] as Error).message).toBe('no user -1');
    expect(values[2]).toEqual(user(2));
    expect(calls).toEqual([[1, -1, 2]]);
    await expect(loaders.users.load(-1)).rejects.toThrow('no user -1');
    expect(calls).toHaveLength(1);
  });

  it('prime fills the memo without overwriting, clear and clearAll drop keys; all chain', async () => {
    const { loaders, calls } = setup();
    const primed = { id: 1, slug: 'primed', name: 'Primed' };
    expect(loaders.users.prime(1, primed)).toBe(loaders.users);
    expect(loaders.users.prime(1, user(1))).toBe(loaders.users);
    expect(await loaders.users.load(1)).toBe(primed);
    expect(calls).toEqual([]);
    expect(loaders.users.clear(1)).toBe(loaders.users);
    expect(await loaders.users.load(1)).toEqual(user(1));
    expect(calls).toEqual([[1]]);
    await loaders.users.load(2);
    expect(loaders.users.clearAll()).toBe(loaders.users);
    await Promise.all([loaders.users.load(1), loaders.users.load(2)]);
    expect(calls).toEqual([[1], [2], [1, 2]]);
    loaders.users.prime(9, new Error('primed error'));
    await expect(loaders.users.load(9)).rejects.toThrow('primed error');
  });

  it('cacheErrors: false retries a failed key on the next load', async () => {
    const { loaders, calls } = setup({ cacheErrors: false });
    await expect(loaders.users.load(-1)).rejects.toThrow();
    await expect(loaders.users.load(-1)).rejects.toThrow();
    expect(calls).toEqual([[-1], [-1]]);
  });

  it('Map results: absent keys resolve to null, or reject with NotFoundError under onMissing: "error"', async () => {
    const create = defineLoaders({
      lenient: { batch: async (_ids: readonly number[]) => new Map([[1, user(1)]]) },
      strict: { batch: async (_ids: readonly number[]) => new Map([[1, user(1)]]), onMissing: 'error' },
    });
    const loaders = create({});
    expect(await loaders.lenient.loadMany([1, 2])).toEqual([user(1), null]);
    const [found, missing] = await loaders.strict.loadMany([1, 2]);
    expect(found).toEqual(user(1));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).key).toBe(2);
    expect((missing as NotFoundError).loader).toBe('strict');
  });

  it('cacheKey lets object keys share a memo entry', async () => {
    const calls: Array<Array<{ id: number }>> = [];
    const create = defineLoaders({
      users: {
        batch: async (keys: readonly { id: number }[]) => {
          calls.push([...keys]);
          return keys.map((k) => user(k.id));
        },
        cacheKey: (key) => key.id,
      },
    });
    const loaders = create({});
    const [a, b] = await Promise.all([loaders.users.load({ id: 1 }), loaders.users.load({ id: 1 })]);
    expect(a).toBe(b);
    expect(calls).toEqual([[{ id: 1 }]]);
  });
});

describe('cross-loader primes', () => {
  function setup() {
    const byIdCalls: number[][] = [];
    const bySlugCalls: string[][] = [];
    const create = defineLoaders({
      byId: {
        batch: async (ids: readonly number[]) => {
          byIdCalls.push([...ids]);
          return ids.map(user);
        },
      },
      bySlug: {
        batch: async (slugs: readonly string[]) => {
          bySlugCalls.push([...slugs]);
          return slugs.map((slug) => (slug === 'nobody' ? null : user(Number(slug.slice(1)))));
        },
        primes: { byId: (u) => u?.id },
      },
    });
    return { create, byIdCalls, bySlugCalls };
  }

  it("fill another loader's memo: the primed loader is never called", async () => {
    const { create, byIdCalls, bySlugCalls } = setup();
    const loaders = create({});
    const [ann, bob] = await Promise.all([loaders.bySlug.load('u1'), loaders.bySlug.load('u2')]);
    expect(await loaders.byId.load(1)).toBe(ann);
    expect(await loaders.byId.loadMany([2, 1])).toEqual([bob, ann]);
    expect(bySlugCalls).toEqual([['u1', 'u2']]);
    expect(byIdCalls).toEqual([]);
    // Keys that were not primed still go to the source.
    await loaders.byId.load(3);
    expect(byIdCalls).toEqual([[3]]);
  });

  it('do not overwrite what the other loader already holds, and skip null values', async () => {
    const { create, byIdCalls } = setup();
    const loaders = create({});
    const own = await loaders.byId.load(1);
    await loaders.bySlug.loadMany(['u1', 'nobody']);
    expect(await loaders.byId.load(1)).toBe(own);
    expect(byIdCalls).toEqual([[1]]);
  });

  it('stay within the request', async () => {
    const { create, byIdCalls } = setup();
    await create({}).bySlug.load('u1');
    await create({}).byId.load(1);
    expect(byIdCalls).toEqual([[1]]);
  });
});

describe('stats', () => {
  it('counts loads, memo hits, batches and source calls per loader, per request and process-wide', async () => {
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[]) => ids.map((id) => (id < 0 ? new Error('bad') : user(id))),
        maxBatchSize: 2,
      },
      idle: { batch: async (ids: readonly number[]) => ids },
    });
    const a = create({});
    await Promise.all([a.users.load(1), a.users.load(2), a.users.load(3), a.users.load(1)]);
    await a.users.load(2);
    await a.users.loadMany([-1, 1]);
    // loads: 4 + 1 + 2 = 7; batch keys: [1,2], [3], [-1] = 4; memo hits: 3.
    const request = a.users.stats();
    expect(request).toMatchObject({
      loads: 7,
      memoHits: 3,
      batches: 3,
      keysPerBatch: 4 / 3,
      maxBatch: 2,
      sourceCalls: 3,
      misses: 4,
      errors: 1,
      sharedHits: 0,
      joins: 0,
      writes: 0,
      sharedHitRate: 0,
    });
    expect(request.memoHitRate).toBeCloseTo(3 / 7, 10);

    const b = create({});
    await b.users.load(1);
    const total = create.stats();
    expect(total.loaders.users).toMatchObject({
      loads: 8,
      memoHits: 3,
      batches: 4,
      sourceCalls: 4,
      misses: 5,
    });
    expect(total.loaders.idle).toMatchObject({ loads: 0, memoHitRate: 0, keysPerBatch: 0, sharedHitRate: 0 });
    expect(b.users.stats()).toMatchObject({ loads: 1, batches: 1, memoHits: 0 });
    // No shared loader: defineLoaders made no store.
    expect(total.store).toBeUndefined();
    expectTypeOf(total.loaders.users).toEqualTypeOf<LoaderStats>();
  });

  it('returns snapshots that later loads do not change', async () => {
    const create = defineLoaders({ users: { batch: async (ids: readonly number[]) => ids } });
    const loaders = create({});
    await loaders.users.load(1);
    const before = loaders.users.stats();
    const beforeTotal = create.stats();
    await loaders.users.load(2);
    expect(before.loads).toBe(1);
    expect(beforeTotal.loaders.users.loads).toBe(1);
    expect(loaders.users.stats().loads).toBe(2);
  });

  it('reports shared hit rates and the store figures for shared loaders', async () => {
    const create = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[]) => ids.map(user),
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { now: () => 1_000_000 },
    );
    await create({}).users.loadMany([1, 2]);
    await create({}).users.loadMany([1, 2, 3]);
    const stats = create.stats();
    // Lookups: 2 misses, then 2 hits and 1 miss.
    expect(stats.loaders.users).toMatchObject({
      loads: 5,
      sharedHits: 2,
      misses: 3,
      sourceCalls: 2,
      writes: 3,
    });
    expect(stats.loaders.users.sharedHitRate).toBeCloseTo(2 / 5, 10);
    expect(stats.store).toMatchObject({ entries: 3, evictions: 0 });
    await create.close();
    await create.close();
  });
});

describe('loader(spec): one spec typed on its own', () => {
  interface TenantCtx {
    tenant: string;
  }

  it('types the shared scope and ttl functions from the batch function, and keeps the value type', async () => {
    const seen: string[] = [];
    const create = defineLoaders({
      users: loader({
        batch: async (ids: readonly number[], ctx: TenantCtx) =>
          ids.map((id) => ({ id, tenant: ctx.tenant })),
        shared: {
          scope: (ctx) => {
            expectTypeOf(ctx).toEqualTypeOf<TenantCtx>();
            seen.push(ctx.tenant);
            return ctx.tenant;
          },
          ttl: (value) => {
            expectTypeOf(value).toEqualTypeOf<{ id: number; tenant: string }>();
            return value.id * 1000;
          },
        },
      }),
    });
    const loaders = create({ tenant: 'acme' });
    // A shared loader's values are deep-frozen, and typed readonly.
    expectTypeOf(loaders.users.load(1)).toEqualTypeOf<
      Promise<{ readonly id: number; readonly tenant: string }>
    >();
    expect(await loaders.users.load(1)).toEqual({ id: 1, tenant: 'acme' });
    expect(seen).toContain('acme');
    // A scope function that reads a property the context does not have is a type error.
    loader({
      batch: async (ids: readonly number[], _ctx: TenantCtx) => ids,
      // @ts-expect-error TenantCtx has no viewer
      shared: { scope: (ctx) => ctx.viewer, ttl: 1 },
    });
    await create.close();
  });
});

describe('batch contract violations of a spec', () => {
  it('a wrong-length answer names the loader, states the contract and previews keys and values', async () => {
    const create = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.slice(1).map(user) },
    });
    const loaders = create({});
    const error = await Promise.all([1, 2, 3].map((id) => loaders.users.load(id))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as TypeError).message;
    expect(message.split('\n')[0]).toBe(
      'Loader "users": the batch function must resolve with one value per key, in key order (an array of 3), or a Map; it resolved with an array of 2.',
    );
    expect(message).toContain('\nKeys (3): [1,2,3]\nValues (2): [{"id":2,');
  });

  it('a 64 MB Buffer answer rejects with a short message naming the loader', async () => {
    const create = defineLoaders({
      bytes: { batch: async (_ids: readonly number[]) => Buffer.alloc(64 * 1024 * 1024) },
      shared: {
        batch: async (_ids: readonly number[]) => ({ length: 2 ** 32 - 1, 0: 1, [2 ** 32 - 2]: 2 }),
        shared: { scope: 'global', ttl: 1_000 },
      },
    });
    const loaders = create({});
    const bytes = (await loaders.bytes.load(1).catch((e: unknown) => e)) as TypeError;
    expect(bytes.message).toMatch(
      /^Loader "bytes": the batch function must resolve with one value per key, in key order \(an array of 1\), or a Map; it resolved with a Buffer of length 67108864\./,
    );
    expect(bytes.message.length).toBeLessThan(1_000);
    const huge = (await loaders.shared.load(1).catch((e: unknown) => e)) as TypeError;
    expect(huge.message).toContain('Loader "shared"');
    expect(huge.message).toContain('it resolved with an array-like object of length 4294967295.');
    expect(huge.message.length).toBeLessThan(1_000);
    await create.close();
  });

  it('an answer that is neither an array nor a Map names the loader and shows the keys', async () => {
    const create = defineLoaders({ users: { batch: async (_ids: readonly number[]) => 'v1,v2' as never } });
    await expect(create({}).users.load(1)).rejects.toThrow(
      'Loader "users": the batch function must resolve with one value per key, in key order (an array of 1), or a Map; it resolved with: "v1,v2".\n\nKeys (1): [1]',
    );
  });

  it('a sparse array of the wrong length is reported as an array of that length', async () => {
    const create = defineLoaders({ users: { batch: async (_ids: readonly number[]) => new Array<User>(3) } });
    const error = (await create({})
      .users.load(1)
      .catch((e: unknown) => e)) as TypeError;
    expect(error.message.split('\n')[0]).toBe(
      'Loader "users": the batch function must resolve with one value per key, in key order (an array of 1), or a Map; it resolved with an array of 3.',
    );
  });

  it("a batch function that throws synchronously rejects every key with the user's own error", async () => {
    const cause = new Error('bad SQL');
    const create = defineLoaders({
      users: {
        batch: (_ids: readonly number[]): Promise<User[]> => {
          throw cause;
        },
      },
      sharedUsers: {
        batch: (_ids: readonly number[]): Promise<User[]> => {
          throw cause;
        },
        shared: { scope: 'global', ttl: 1_000 },
      },
    });
    const loaders = create({});
    const results = await Promise.allSettled([loaders.users.load(1), loaders.users.load(2)]);
    expect(results).toEqual([
      { status: 'rejected', reason: cause },
      { status: 'rejected', reason: cause },
    ]);
    expect((results[0] as PromiseRejectedResult).reason).toBe(cause);
    await expect(loaders.sharedUsers.load(1)).rejects.toBe(cause);
    await create.close();
  });

  describe('a batch function that sorts its keys in place (issue #10)', () => {
    // Answers a Map after sorting `keys` in place, as `keys.sort()` before a query would.
    const sorting = async (keys: readonly string[], ctx: TenantCtx) => {
      (keys as string[]).sort();
      return new Map(keys.map((key) => [key, `${key}@${ctx.tenant}`]));
    };

    it('gets its own copy of the keys: values still reach their keys (not shared)', async () => {
      const create = defineLoaders({ people: { batch: sorting } });
      const loaders = create({ tenant: 'acme' });
      expect(await loaders.people.loadMany(['bob', 'alice'])).toEqual(['bob@acme', 'alice@acme']);
    });

    it('gets its own copy of the keys: the shared cache stores each value under its key', async () => {
      const create = defineLoaders({
        people: { batch: sorting, shared: { scope: (ctx: TenantCtx) => ctx.tenant, ttl: 60_000 } },
      });
      expect(await create({ tenant: 'acme' }).people.loadMany(['bob', 'alice'])).toEqual([
        'bob@acme',
        'alice@acme',
      ]);
      // A later request of the scope reads the entries written above.
      expect(await create({ tenant: 'acme' }).people.load('bob')).toBe('bob@acme');
      expect(await create({ tenant: 'acme' }).people.load('alice')).toBe('alice@acme');
      await create.close();
    });
  });

  describe('onMissing: "error" is one not-found rule for arrays and Maps, shared or not (issue #10)', () => {
    // 1 is found; 2 and 3 are not (null and undefined in an array, absent from a Map).
    const answer = (id: number) => (id === 1 ? user(1) : id === 2 ? null : undefined);
    const kinds = {
      array: async (ids: readonly number[]) => ids.map(answer),
      map: async (ids: readonly number[]) =>
        new Map(ids.filter((id) => id === 1).map((id) => [id, user(id)])),
    };
    const cases = [
      ['array', 'not shared'],
      ['array', 'shared'],
      ['map', 'not shared'],
      ['map', 'shared'],
    ] as const;
    for (const [kind, sharing] of cases) {
      it(`${kind} result, ${sharing}: a not-found key rejects with NotFoundError`, async () => {
        const create = defineLoaders({
          users: {
            batch: kinds[kind],
            onMissing: 'error',
            ...(sharing === 'shared'
              ? { shared: { scope: 'global', ttl: 60_000, negativeTtl: 60_000 } }
              : {}),
          },
        });
        for (let round = 0; round < 2; round++) {
          // Round 2 of the shared loader reads the negative entries round 1 wrote.
          const [found, ...missing] = await create({}).users.loadMany([1, 2, 3]);
          expect(found).toEqual(user(1));
          for (const [i, error] of missing.entries()) {
            expect(error).toBeInstanceOf(NotFoundError);
            expect(error).toMatchObject({ key: i + 2, loader: 'users' });
            const message = (error as Error).message;
            expect(message).toContain(`no value for key ${i + 2}`);
            if (kind === 'array' || (sharing === 'shared' && round === 1)) expect(message).not.toMatch(/Map/);
          }
        }
        await create.close();
      });
    }
  });
});

describe('one counting rule for every path (issue #10)', () => {
  it('a not-found is not an error, with or without shared; per-key errors and failed calls are', async () => {
    const batch = async (ids: readonly number[]) =>
      ids.map((id) => (id === 0 ? null : id === 1 ? new Error('bad') : id));
    const create = defineLoaders({
      plain: { batch, onMissing: 'error' },
      shared: { batch, onMissing: 'error', shared: { scope: 'global', ttl: 1_000 } },
    });
    const loaders = create({});
    await Promise.allSettled([0, 1, 2].map((id) => loaders.plain.load(id)));
    await Promise.allSettled([0, 1, 2].map((id) => loaders.shared.load(id)));
    const { plain, shared } = create.stats().loaders;
    for (const stats of [plain, shared])
      expect(stats).toMatchObject({ sourceCalls: 1, misses: 3, errors: 1 });
  });
});
