import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMemoryStore,
  defineLoaders,
  type LocalEntry,
  type LocalStore,
  NotFoundError,
} from '../../src/index.js';
import { type Ctx, flush, harness, type Item, stateAfterFlush, track, watchedStore } from './harness.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const item = (id: number, call: number, tenant = 'acme'): Item => ({ id, tenant, call });

describe('read path: memo → shared store → source for misses only → write-back', () => {
  it('sends only the keys the shared store lacks to the source, and writes them back', async () => {
    const h = harness();
    const first = h.request();
    expect(await first.items.loadMany([1, 2])).toEqual([item(1, 1), item(2, 1)]);
    expect(h.keys()).toEqual([[1, 2]]);

    const second = h.request();
    expect(await second.items.loadMany([1, 2, 3])).toEqual([item(1, 1), item(2, 1), item(3, 2)]);
    expect(h.keys()).toEqual([[1, 2], [3]]);

    // The request memo answers repeats without the shared tier.
    expect(await second.items.load(3)).toEqual(item(3, 2));
    expect(await h.request().items.loadMany([3, 2, 1])).toEqual([item(3, 2), item(2, 1), item(1, 1)]);
    expect(h.keys()).toEqual([[1, 2], [3]]);
    expect(h.create.stats().loaders.items).toMatchObject({
      loads: 9,
      sharedHits: 5,
      misses: 3,
      sourceCalls: 2,
      writes: 3,
    });
  });

  it('hands the loading request and later requests the same shared object', async () => {
    const h = harness();
    const loaded = await h.request().items.load(1);
    expect(await h.request().items.load(1)).toBe(loaded);
    expect(await h.request().items.load(1)).toBe(loaded);
  });

  it('batches the misses of one request into one source call', async () => {
    const h = harness({ maxBatchSize: 2 });
    await h.request().items.load(2);
    const loaders = h.request();
    await Promise.all([1, 2, 3, 4].map((id) => loaders.items.load(id)));
    // 2 comes from the shared store; the rest form batches of at most two misses.
    expect(h.keys().flat().sort()).toEqual([1, 2, 3, 4]);
    expect(h.keys()[0]).toEqual([2]);
    expect(
      h
        .keys()
        .slice(1)
        .every((keys) => keys.length <= 2),
    ).toBe(true);
  });

  it('never writes errors back: a failed key or call goes to the source again next time', async () => {
    let failKey2 = true;
    const h = harness({
      answer: (id, ctx, call) =>
        id === 2 && failKey2 ? new Error('key 2 failed') : item(id, call, ctx.tenant),
    });
    const values = await h.request().items.loadMany([1, 2]);
    expect(values[0]).toEqual(item(1, 1));
    expect(values[1]).toBeInstanceOf(Error);
    failKey2 = false;
    expect(await h.request().items.loadMany([1, 2])).toEqual([item(1, 1), item(2, 2)]);
    expect(h.keys()).toEqual([[1, 2], [2]]);

    const m = harness({ manual: true });
    const failing = track(m.request().items.load(5));
    await flush();
    m.calls[0]!.reject(new Error('db down'));
    await flush();
    expect(failing.state).toMatchObject({ status: 'rejected', reason: { message: 'db down' } });
    const retry = track(m.request().items.load(5));
    await flush();
    expect(m.keys()).toEqual([[5], [5]]);
    m.calls[1]!.resolve();
    await flush();
    expect(retry.state).toEqual({ status: 'fulfilled', value: item(5, 2) });
    expect(m.create.stats().loaders.items.errors).toBe(1);
  });
});

describe('single-flight', () => {
  it('1000 concurrent requests loading one cold key cause exactly one batch call', async () => {
    const h = harness({ manual: true });
    const loads = Array.from({ length: 1_000 }, () => track(h.request().items.load(7)));
    await flush();
    expect(h.keys()).toEqual([[7]]);
    h.calls[0]!.resolve();
    await flush();
    expect(h.keys()).toEqual([[7]]);
    const first = loads[0]!.state;
    expect(first).toEqual({ status: 'fulfilled', value: item(7, 1) });
    for (const load of loads) {
      expect(load.state.status).toBe('fulfilled');
      expect((load.state as { value: Item }).value).toBe((first as { value: Item }).value);
    }
    expect(h.create.stats().loaders.items).toMatchObject({
      loads: 1_000,
      misses: 1,
      sourceCalls: 1,
      joins: 999,
    });
  });

  it('with a source that answers at once, 1000 requests still make one call for the key', async () => {
    const h = harness();
    const values = await Promise.all(Array.from({ length: 1_000 }, () => h.request().items.load(7)));
    expect(h.keys()).toEqual([[7]]);
    expect(new Set(values).size).toBe(1);
  });

  it('requests that also load keys of their own make one call for the shared key', async () => {
    const h = harness({ manual: true });
    const loads = Array.from({ length: 200 }, (_, i) => track(h.request().items.loadMany([7, 1_000 + i])));
    await flush();
    expect(h.calls.filter((call) => call.keys.includes(7))).toHaveLength(1);
    expect(
      h
        .keys()
        .flat()
        .sort((a, b) => a - b),
    ).toEqual([7, ...Array.from({ length: 200 }, (_, i) => 1_000 + i)]);
    for (const call of h.calls) call.resolve();
    await flush();
    expect(loads.every((load) => load.state.status === 'fulfilled')).toBe(true);
  });

  it('a failed shared flight fails every request that joined it, and the next load retries', async () => {
    const h = harness({ manual: true });
    const loads = Array.from({ length: 5 }, () => track(h.request().items.load(7)));
    await flush();
    h.calls[0]!.reject(new Error('db down'));
    await flush();
    for (const load of loads)
      expect(load.state).toMatchObject({ status: 'rejected', reason: { message: 'db down' } });
    const retry = track(h.request().items.load(7));
    await flush();
    expect(h.keys()).toEqual([[7], [7]]);
    h.calls[1]!.resolve();
    await flush();
    expect(retry.state).toEqual({ status: 'fulfilled', value: item(7, 2) });
  });

  it('different scopes never share a flight', async () => {
    const h = harness({ manual: true });
    const a = track(h.request('a').items.load(1));
    const b = track(h.request('b').items.load(1));
    const a2 = track(h.request('a').items.load(1));
    await flush();
    expect(h.calls.map((c) => [c.tenant, c.keys])).toEqual([
      ['a', [1]],
      ['b', [1]],
    ]);
    for (const call of h.calls) call.resolve();
    await flush();
    expect(a.state).toEqual({ status: 'fulfilled', value: item(1, 1, 'a') });
    expect(a2.state).toEqual({ status: 'fulfilled', value: item(1, 1, 'a') });
    expect(b.state).toEqual({ status: 'fulfilled', value: item(1, 2, 'b') });
  });
});

describe('scopes', () => {
  it('different scopes never share an entry', async () => {
    const h = harness();
    expect(await h.request('a').items.load(1)).toEqual(item(1, 1, 'a'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 2, 'b'));
    expect(await h.request('a').items.load(1)).toEqual(item(1, 1, 'a'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 2, 'b'));
    expect(h.calls.map((c) => c.tenant)).toEqual(['a', 'b']);
  });

  it('a numeric scope and the same digits as a string are different scopes', async () => {
    const calls: unknown[] = [];
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], ctx: { tenant: string | number }) => {
            calls.push(ctx.tenant);
            return ids.map((id) => `${typeof ctx.tenant}:${ctx.tenant}:${id}`);
          },
          shared: { scope: (ctx: { tenant: string | number }) => ctx.tenant, ttl: 1_000 },
        },
      },
      { now: () => 1_000_000 },
    );
    expect(await create({ tenant: 1 }).items.load(1)).toBe('number:1:1');
    expect(await create({ tenant: '1' }).items.load(1)).toBe('string:1:1');
    expect(await create({ tenant: 1 }).items.load(1)).toBe('number:1:1');
    expect(calls).toEqual([1, '1']);
  });

  it("scope 'global' shares entries across every context", async () => {
    const h = harness({ shared: { scope: 'global' } });
    expect(await h.request('a').items.load(1)).toEqual(item(1, 1, 'a'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 1, 'a'));
    expect(h.calls).toHaveLength(1);
  });

  it('a scope function that returns no usable scope fails the load (closed), without calling the source', async () => {
    const h = harness({ shared: { scope: (ctx: Ctx) => (ctx.tenant === 'bad' ? '' : ctx.tenant) } });
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = h.request('bad').items.load(1);
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    await expect(h.request('bad').items.load(1)).rejects.toThrow(/Loader "items": shared\.scope\(context\)/);
    expect(h.calls).toHaveLength(0);
  });
});

describe('keys that cannot be shared keys', () => {
  it('a key that cannot be encoded rejects its load with a TypeError (load never throws)', async () => {
    class Cursor {
      constructor(readonly at: number) {}
    }
    const calls: unknown[][] = [];
    const create = defineLoaders(
      {
        things: {
          batch: async (keys: readonly { id: number; cursor?: Cursor }[]) => {
            calls.push([...keys]);
            return keys.map((k) => k.id);
          },
          shared: { scope: 'global', ttl: 1_000 },
        },
      },
      { now: () => 1_000 },
    );
    const loaders = create({});
    expect(await loaders.things.load({ id: 1 })).toBe(1);
    let promise: Promise<number> | undefined;
    expect(() => {
      promise = loaders.things.load({ id: 2, cursor: new Cursor(5) });
    }).not.toThrow();
    await expect(promise).rejects.toThrow(/Cursor/);
    expect(calls).toEqual([[{ id: 1 }]]);
  });
});

describe('TTL, jitter, negative caching and versions', () => {
  it('an entry is served until its TTL and reloaded from then on', async () => {
    const h = harness({ shared: { ttl: 1_000 } });
    await h.request().items.load(1);
    h.advance(999);
    expect(await h.request().items.load(1)).toEqual(item(1, 1));
    h.advance(1);
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.keys()).toEqual([[1], [1]]);
    h.advance(999);
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
  });

  it('follows the default clock (Date.now) under fake timers', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    let calls = 0;
    const create = defineLoaders({
      items: {
        batch: async (ids: readonly number[]) => ids.map((id) => ({ id, call: ++calls })),
        shared: { scope: 'global', ttl: 5_000, jitter: 0 },
      },
    });
    await create({}).items.load(1);
    vi.advanceTimersByTime(4_999);
    expect(await create({}).items.load(1)).toEqual({ id: 1, call: 1 });
    vi.advanceTimersByTime(1);
    expect(await create({}).items.load(1)).toEqual({ id: 1, call: 2 });
    await create.close();
  });

  it('a ttl function gives each value its own TTL; 0 means not shared', async () => {
    const h = harness({ shared: { ttl: (value: Item) => (value.id === 0 ? 0 : value.id * 100) } });
    await h.request().items.loadMany([0, 1, 5]);
    h.advance(99);
    await h.request().items.loadMany([0, 1, 5]);
    h.advance(1); // 100 ms: key 1 expired, key 5 (500 ms) has not
    await h.request().items.loadMany([1, 5]);
    h.advance(400); // 500 ms
    await h.request().items.load(5);
    expect(h.keys()).toEqual([[0, 1, 5], [0], [1], [5]]);
  });

  it('jitter shortens each TTL by a random fraction: ttl * (1 - jitter * random)', async () => {
    const watched = watchedStore(createMemoryStore({ now: () => 1_000 }));
    const h = harness({
      store: watched.store,
      shared: { ttl: 1_000, jitter: 0.2, graceMs: 50 },
      start: 1_000,
    });
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValueOnce(0);
    await h.request().items.load(1);
    random.mockReturnValueOnce(0.5);
    await h.request().items.load(2);
    random.mockReturnValueOnce(0.999_999_999);
    await h.request().items.load(3);
    expect(watched.writes.map((w) => w.freshUntil - 1_000)).toEqual([1_000, 900, 800]);
    // The store keeps each entry to the end of its grace.
    expect(watched.writes.map((w) => w.ttlMs)).toEqual([1_050, 950, 850]);
    expect(watched.writes.map((w) => w.staleUntil - w.freshUntil)).toEqual([50, 50, 50]);
  });

  it('jitter keeps every TTL within [ttl * (1 - jitter), ttl] and spreads them', async () => {
    const watched = watchedStore(createMemoryStore({ now: () => 5_000 }));
    const h = harness({ store: watched.store, shared: { ttl: 10_000, jitter: 0.3 }, start: 5_000 });
    await h.request().items.loadMany(Array.from({ length: 300 }, (_, i) => i));
    const ttls = watched.writes.map((w) => w.freshUntil - 5_000);
    expect(ttls).toHaveLength(300);
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThanOrEqual(7_000);
      expect(ttl).toBeLessThanOrEqual(10_000);
    }
    expect(new Set(ttls).size).toBeGreaterThan(100);
    expect(Math.min(...ttls)).toBeLessThan(7_500);
    expect(Math.max(...ttls)).toBeGreaterThan(9_500);
  });

  it('a jittered entry expires at its own, shorter TTL', async () => {
    const h = harness({ shared: { ttl: 1_000, jitter: 0.2 } });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    await h.request().items.load(1);
    h.advance(899);
    await h.request().items.load(1);
    expect(h.calls).toHaveLength(1);
    h.advance(1);
    await h.request().items.load(1);
    expect(h.calls).toHaveLength(2);
  });

  it('jitter only ever shortens: rounding never makes an entry outlive a fractional TTL (issue #10)', async () => {
    for (const ttl of [10.6, 0.6]) {
      const watched = watchedStore(createMemoryStore({ now: () => 0 }));
      const h = harness({ store: watched.store, shared: { ttl, jitter: 0.1 }, start: 0 });
      const random = vi.spyOn(Math, 'random');
      const draws = [0, 0.04, 0.5, 0.999_999];
      for (const [i, draw] of draws.entries()) {
        random.mockReturnValueOnce(draw);
        await h.request().items.load(i);
      }
      expect(watched.writes).toHaveLength(draws.length);
      for (const write of watched.writes) {
        expect(write.freshUntil).toBeGreaterThan(0);
        expect(write.freshUntil).toBeLessThanOrEqual(ttl);
        expect(write.ttlMs).toBeLessThanOrEqual(ttl);
      }
      random.mockRestore();
    }
    // End to end: an entry of a 10.6 ms TTL, drawn without jitter, is gone 10.6 ms after its write.
    const h = harness({ shared: { ttl: 10.6, jitter: 0.1 } });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    await h.request().items.load(1);
    h.advance(10.6);
    await h.request().items.load(1);
    expect(h.calls).toHaveLength(2);
  });

  it('the default jitter (0.1) applies when none is given', async () => {
    const watched = watchedStore(createMemoryStore({ now: () => 0 }));
    const h = harness({ store: watched.store, shared: { ttl: 1_000, jitter: undefined }, start: 0 });
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    await h.request().items.load(1);
    expect(watched.writes[0]!.freshUntil).toBe(900);
  });

  it('negativeTtl caches null results for their own TTL', async () => {
    const h = harness({
      shared: { ttl: 1_000, negativeTtl: 300 },
      answer: (id, ctx, call) => (id % 2 === 0 ? null : item(id, call, ctx.tenant)),
    });
    expect(await h.request().items.loadMany([1, 2])).toEqual([item(1, 1), null]);
    h.advance(299);
    expect(await h.request().items.loadMany([1, 2])).toEqual([item(1, 1), null]);
    expect(h.calls).toHaveLength(1);
    h.advance(1);
    expect(await h.request().items.loadMany([1, 2])).toEqual([item(1, 1), null]);
    expect(h.keys()).toEqual([[1, 2], [2]]);
  });

  it('negativeTtl caches keys missing from a Map result', async () => {
    const h = harness({
      mapResult: true,
      shared: { ttl: 1_000, negativeTtl: 300 },
      answer: (id, ctx, call) => (id === 404 ? undefined : item(id, call, ctx.tenant)),
    });
    expect(await h.request().items.loadMany([1, 404])).toEqual([item(1, 1), null]);
    h.advance(200);
    expect(await h.request().items.loadMany([1, 404])).toEqual([item(1, 1), null]);
    expect(h.keys()).toEqual([[1, 404]]);
    h.advance(100);
    await h.request().items.load(404);
    expect(h.keys()).toEqual([[1, 404], [404]]);
  });

  it('a cached not-found rejects with NotFoundError under onMissing: "error"', async () => {
    const h = harness({
      mapResult: true,
      onMissing: 'error',
      shared: { ttl: 1_000, negativeTtl: 300 },
      answer: (id, ctx, call) => (id === 404 ? undefined : item(id, call, ctx.tenant)),
    });
    await expect(h.request().items.load(404)).rejects.toBeInstanceOf(NotFoundError);
    const second = h.request().items.load(404);
    await expect(second).rejects.toBeInstanceOf(NotFoundError);
    await expect(second).rejects.toMatchObject({ key: 404, loader: 'items' });
    expect(h.calls).toHaveLength(1);
  });

  it('without negativeTtl, not-found results are not cached', async () => {
    const h = harness({ answer: () => null });
    expect(await h.request().items.load(1)).toBeNull();
    expect(await h.request().items.load(1)).toBeNull();
    expect(h.calls).toHaveLength(2);
  });

  it('a version change never reads entries of another version', async () => {
    const store = createMemoryStore({ now: () => 1_000 });
    const define = (version: number | string, calls: number[][]) =>
      defineLoaders(
        {
          items: {
            batch: async (ids: readonly number[]) => {
              calls.push([...ids]);
              return ids.map((id) => ({ id, version }));
            },
            shared: { scope: 'global', ttl: 60_000, version },
          },
        },
        { store, now: () => 1_000 },
      );
    const v1Calls: number[][] = [];
    const v2Calls: number[][] = [];
    const v1 = define(1, v1Calls);
    const v2 = define('2', v2Calls);
    expect(await v1({}).items.load(1)).toEqual({ id: 1, version: 1 });
    expect(await v2({}).items.load(1)).toEqual({ id: 1, version: '2' });
    expect(v2Calls).toEqual([[1]]);
    // Both versions keep their own entries; a redeploy of version 1 still reads version 1's.
    const v1Again: number[][] = [];
    expect(await define(1, v1Again)({}).items.load(1)).toEqual({ id: 1, version: 1 });
    expect(await v2({}).items.load(1)).toEqual({ id: 1, version: '2' });
    expect(v1Again).toEqual([]);
    expect(v2Calls).toEqual([[1]]);
  });
});

describe('grace (stale-while-revalidate, stale-if-error)', () => {
  async function staleSetup() {
    const h = harness({ manual: true, shared: { ttl: 1_000, graceMs: 500 } });
    const first = track(h.request().items.load(1));
    await flush();
    h.calls[0]!.resolve();
    await flush();
    expect(first.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    h.advance(1_000); // expired, within grace
    return h;
  }

  it('serves the stale value at once while exactly one background refresh runs', async () => {
    const h = await staleSetup();
    expect(await stateAfterFlush(h.request().items.load(1))).toEqual({
      status: 'fulfilled',
      value: item(1, 1),
    });
    expect(h.keys()).toEqual([[1], [1]]);
    expect(h.calls[1]!.settled).toBe(false);

    // More requests during the refresh get the stale value at once and start no second refresh.
    const during = [h.request(), h.request(), h.request()].map((r) => track(r.items.load(1)));
    await flush();
    for (const load of during) expect(load.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(h.calls).toHaveLength(2);

    h.calls[1]!.resolve();
    await flush();
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
    expect(h.create.stats().loaders.items.staleHits).toBeGreaterThanOrEqual(1);
  });

  it('the refreshed value is fresh for a full TTL from the refresh', async () => {
    const h = await staleSetup();
    await h.request().items.load(1);
    h.calls[1]!.resolve();
    await flush();
    h.advance(999);
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
  });

  it('when the refresh fails, the stale value keeps being served until grace ends', async () => {
    const h = await staleSetup();
    expect(await h.request().items.load(1)).toEqual(item(1, 1));
    h.calls[1]!.reject(new Error('refresh failed'));
    await flush();

    h.advance(200); // 1200 ms: still within grace
    expect(await stateAfterFlush(h.request().items.load(1))).toEqual({
      status: 'fulfilled',
      value: item(1, 1),
    });
    // Each stale hit may start a new refresh, but never more than one at a time.
    expect(h.pending()).toHaveLength(1);
    h.pending()[0]!.reject(new Error('refresh failed again'));
    await flush();
    h.advance(299); // 1499 ms
    expect(await stateAfterFlush(h.request().items.load(1))).toEqual({
      status: 'fulfilled',
      value: item(1, 1),
    });
    for (const call of h.pending()) call.reject(new Error('still failing'));
    await flush();

    h.advance(1); // 1500 ms: grace is over, the load waits for the source
    const after = track(h.request().items.load(1));
    await flush();
    expect(after.state).toEqual({ status: 'pending' });
    const last = h.pending();
    expect(last).toHaveLength(1);
    last[0]!.resolve();
    await flush();
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, last[0]!.call) });
  });

  it('a request arriving while a failing refresh is in flight still gets the stale value', async () => {
    const h = await staleSetup();
    expect(await h.request().items.load(1)).toEqual(item(1, 1));
    const during = track(h.request().items.load(1));
    await flush();
    h.calls[1]!.reject(new Error('refresh failed'));
    await flush();
    expect(during.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
  });

  it('after grace, the stale entry is not served', async () => {
    const h = harness({ shared: { ttl: 1_000, graceMs: 500 } });
    await h.request().items.load(1);
    h.advance(1_500);
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.create.stats().loaders.items.staleHits).toBe(0);
  });
});

describe('invalidate', () => {
  it('drops the request memo and the shared entry', async () => {
    const h = harness();
    const a = h.request();
    expect(await a.items.load(1)).toEqual(item(1, 1));
    await a.items.invalidate(1);
    expect(await a.items.load(1)).toEqual(item(1, 2));
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
  });

  it('drops only its own scope and keys', async () => {
    const h = harness();
    await h.request('a').items.loadMany([1, 2]);
    await h.request('b').items.loadMany([1, 2]);
    await h.request('a').items.invalidateMany([1]);
    await h.request('a').items.loadMany([1, 2]);
    await h.request('b').items.loadMany([1, 2]);
    expect(h.calls.map((c) => [c.tenant, c.keys])).toEqual([
      ['a', [1, 2]],
      ['b', [1, 2]],
      ['a', [1]],
    ]);
  });

  it('createLoaders.invalidate works outside requests, in the scope of the given context', async () => {
    const h = harness();
    await h.request('a').items.load(1);
    await h.request('b').items.load(1);
    await h.create.invalidate('items', [1], { tenant: 'a' });
    expect(await h.request('a').items.load(1)).toEqual(item(1, 3, 'a'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 2, 'b'));
  });

  it('a load in flight before the invalidate does not write its stale value back', async () => {
    const h = harness({ manual: true });
    const before = track(h.request().items.load(1));
    await flush();
    expect(h.keys()).toEqual([[1]]);
    await h.request().items.invalidate(1);
    h.calls[0]!.resolve(); // the value read before the mutation
    await flush();
    expect(before.state).toEqual({ status: 'fulfilled', value: item(1, 1) });

    const after = track(h.request().items.load(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    h.calls[1]!.resolve();
    await flush();
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
  });

  it('a load that starts after the invalidate does not join a flight that started before it', async () => {
    const h = harness({ manual: true });
    const before = track(h.request().items.load(1));
    await flush();
    await h.create.invalidate('items', [1], { tenant: 'acme' });
    const after = track(h.request().items.load(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    // The old call answers last: it must not overwrite the new value.
    h.calls[1]!.resolve();
    await flush();
    h.calls[0]!.resolve();
    await flush();
    expect(before.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
  });

  it('a load the invalidating request makes while its invalidate is in flight does not keep the old value', async () => {
    const h = harness();
    const loaders = h.request();
    expect(await loaders.items.load(1)).toEqual(item(1, 1));
    const invalidated = loaders.items.invalidate(1);
    // Same tick, before the shared entry is gone (e.g. another resolver of the same request).
    const during = track(loaders.items.load(1));
    await invalidated;
    await flush();
    expect(during.state.status).toBe('fulfilled');
    // After invalidate resolved, this request must not see the value read before it.
    expect(await loaders.items.load(1)).toEqual(item(1, 2));
  });

  it('a fresh load in flight before the invalidate does not put its stale value in the memo', async () => {
    const h = harness({ manual: true });
    const loaders = h.request();
    const refreshing = track(loaders.items.load(1, { fresh: true }));
    await flush();
    await loaders.items.invalidate(1);
    h.calls[0]!.resolve(); // read before the invalidate
    await flush();
    expect(refreshing.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    // A load that starts after invalidate resolved must not see the value read before it.
    const after = track(loaders.items.load(1));
    await flush();
    for (const call of h.pending()) call.resolve();
    await flush();
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
  });
});

describe('refresh and fresh loads', () => {
  it('refresh(key) loads from the source, writes back, and updates the memo', async () => {
    const h = harness();
    const a = h.request();
    expect(await a.items.load(1)).toEqual(item(1, 1));
    const b = h.request();
    expect(await b.items.load(1)).toEqual(item(1, 1));
    expect(await b.items.refresh(1)).toEqual(item(1, 2));
    expect(await b.items.load(1)).toEqual(item(1, 2));
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.keys()).toEqual([[1], [1]]);
    // Another request's memo is its own business.
    expect(await a.items.load(1)).toEqual(item(1, 1));
  });

  it('load(key, { fresh: true }) skips the shared read and writes back', async () => {
    const h = harness();
    await h.request().items.load(1);
    const loaders = h.request();
    expect(await loaders.items.load(1, { fresh: true })).toEqual(item(1, 2));
    expect(await loaders.items.load(1)).toEqual(item(1, 2));
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.keys()).toEqual([[1], [1]]);
    expect(h.create.stats().loaders.items.writes).toBe(2);
  });

  it('refreshes of several keys in one tick make one source call', async () => {
    const h = harness();
    const loaders = h.request();
    await Promise.all([loaders.items.refresh(1), loaders.items.refresh(2)]);
    expect(h.keys()).toEqual([[1, 2]]);
  });

  it('a refresh supersedes a load in flight: the older answer is never written over it', async () => {
    const h = harness({ manual: true });
    const plain = track(h.request().items.load(1));
    await flush();
    const refreshed = track(h.request().items.refresh(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    h.calls[1]!.resolve();
    await flush();
    h.calls[0]!.resolve();
    await flush();
    expect(plain.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(refreshed.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
    expect(await h.request().items.load(1)).toEqual(item(1, 2));
    expect(h.calls).toHaveLength(2);
  });

  it('a refresh drops the entry at once: a failed refresh rejects and the next load goes to the source', async () => {
    const h = harness({ manual: true });
    const first = track(h.request().items.load(1));
    await flush();
    h.calls[0]!.resolve();
    await flush();
    expect(first.state.status).toBe('fulfilled');
    const refreshed = track(h.request().items.refresh(1));
    // Readers from the refresh on join it, never the value from before it.
    const reader = track(h.request().items.load(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    h.calls[1]!.reject(new Error('down'));
    await flush();
    expect(refreshed.state).toMatchObject({ status: 'rejected', reason: { message: 'down' } });
    expect(reader.state).toMatchObject({ status: 'rejected', reason: { message: 'down' } });
    const later = track(h.request().items.load(1));
    await flush();
    h.calls[2]!.resolve();
    await flush();
    expect(later.state).toEqual({ status: 'fulfilled', value: item(1, 3) });
  });

  it('overlapping refreshes: once the first resolves, no load sees the value from before it (issue #10)', async () => {
    const h = harness({ manual: true });
    const warm = h.request().items.load(1);
    await flush();
    h.calls[0]!.resolve();
    await warm;
    const first = track(h.request().items.refresh(1));
    await flush();
    const second = track(h.request().items.refresh(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1], [1]]);
    h.calls[1]!.resolve(); // refresh #1 answers; #2 is still loading
    await flush();
    expect(first.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
    // A reader now must not get item(1, 1): it joins refresh #2.
    const reader = track(h.request().items.load(1));
    await flush();
    expect(reader.state.status).toBe('pending');
    h.calls[2]!.resolve();
    await flush();
    expect(second.state).toEqual({ status: 'fulfilled', value: item(1, 3) });
    expect(reader.state).toEqual({ status: 'fulfilled', value: item(1, 3) });
    expect(h.calls).toHaveLength(3);
  });

  it('invalidate fences at the call: a load whose source answers before the deletion lands does not write (issue #10)', async () => {
    const h = harness({ manual: true });
    const before = track(h.request().items.load(1));
    await flush();
    // The invalidate is called, and in the same tick the old load answers.
    const invalidated = h.request().items.invalidate(1);
    h.calls[0]!.resolve();
    await invalidated;
    await flush();
    expect(before.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    const after = track(h.request().items.load(1));
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    h.calls[1]!.resolve();
    await flush();
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
  });

  it('a key read, then evicted, then invalidated is never served again (issue #10)', async () => {
    const store = createMemoryStore({ now: () => 1_000, maxEntries: 2 });
    const h = harness({ store, start: 1_000 });
    expect(await h.request().items.load(1)).toEqual(item(1, 1));
    expect(await h.request().items.load(1)).toEqual(item(1, 1)); // a hit
    await h.request().items.loadMany([2, 3]); // evicts 1
    await h.request().items.invalidate(1);
    expect(await h.request().items.load(1)).toEqual(item(1, 3));
    expect(await h.request().items.refresh(1)).toEqual(item(1, 4));
    expect(await h.request().items.load(1)).toEqual(item(1, 4));
  });
});

describe('invalidateScope', () => {
  it('drops a whole tenant with one deleteSpaces call while other scopes keep their entries', async () => {
    const watched = watchedStore(createMemoryStore({ now: () => 1_000 }));
    const h = harness({ store: watched.store, start: 1_000 });
    await h.request('a').items.loadMany([1, 2, 3]);
    await h.request('b').items.loadMany([1, 2, 3]);
    const deletesBefore = watched.counts.delete;
    const a = h.request('a');
    await a.items.load(1);
    await a.items.invalidateScope();
    expect(watched.counts.deleteSpaces).toBe(1);
    expect(watched.counts.delete).toBe(deletesBefore);
    expect(watched.store.stats().entries).toBe(3);

    // The invalidating request's memo is cleared too.
    expect(await a.items.loadMany([1, 2, 3])).toEqual([item(1, 3, 'a'), item(2, 3, 'a'), item(3, 3, 'a')]);
    expect(await h.request('b').items.loadMany([1, 2, 3])).toEqual([
      item(1, 2, 'b'),
      item(2, 2, 'b'),
      item(3, 2, 'b'),
    ]);
    expect(await h.request('a').items.loadMany([1, 2, 3])).toEqual([
      item(1, 3, 'a'),
      item(2, 3, 'a'),
      item(3, 3, 'a'),
    ]);
    expect(h.calls.map((c) => c.tenant)).toEqual(['a', 'b', 'a']);
  });

  it('createLoaders.invalidateScope does the same from outside a request', async () => {
    const h = harness();
    await h.request('a').items.load(1);
    await h.request('b').items.load(1);
    await h.create.invalidateScope('items', { tenant: 'b' });
    await h.create.invalidateScope('items', { tenant: 'b' });
    expect(await h.request('a').items.load(1)).toEqual(item(1, 1, 'a'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 3, 'b'));
    expect(await h.request('b').items.load(1)).toEqual(item(1, 3, 'b'));
  });

  it('a load in flight across invalidateScope does not reach the new generation', async () => {
    const h = harness({ manual: true });
    const before = track(h.request().items.load(1));
    await flush();
    await h.request().items.invalidateScope();
    h.calls[0]!.resolve();
    await flush();
    expect(before.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    const after = track(h.request().items.load(1));
    await flush();
    expect(h.calls).toHaveLength(2);
    h.calls[1]!.resolve();
    await flush();
    expect(after.state).toEqual({ status: 'fulfilled', value: item(1, 2) });
  });
});

describe('warmup and afterMutation', () => {
  it('warmup loads keys in one batch so later requests hit the shared cache', async () => {
    const h = harness({
      answer: (id, ctx, call) => (id === 3 ? new Error('no 3') : item(id, call, ctx.tenant)),
    });
    await expect(h.request().items.warmup([1, 2, 3])).resolves.toBeUndefined();
    expect(h.keys()).toEqual([[1, 2, 3]]);
    expect(await h.request().items.loadMany([1, 2])).toEqual([item(1, 1), item(2, 1)]);
    expect(h.keys()).toEqual([[1, 2, 3]]);
  });

  it('afterMutation runs the mutation, then invalidates the keys, and returns its result', async () => {
    const h = harness();
    const loaders = h.request();
    await loaders.items.loadMany([1, 2, 3]);
    const order: string[] = [];
    const result = await loaders.items.afterMutation([1, 2], async () => {
      order.push('mutation');
      expect(await h.request().items.load(1)).toEqual(item(1, 1)); // not yet invalidated
      return 'done';
    });
    expect(result).toBe('done');
    expect(order).toEqual(['mutation']);
    expect(h.calls).toHaveLength(1);
    expect(await h.request().items.loadMany([1, 2, 3])).toEqual([item(1, 2), item(2, 2), item(3, 1)]);
    expect(h.keys()).toEqual([
      [1, 2, 3],
      [1, 2],
    ]);
  });

  it("afterMutation(..., 'refresh') reloads the keys in one call and writes them back", async () => {
    const h = harness();
    await h.request().items.loadMany([1, 2, 3]);
    const loaders = h.request();
    await loaders.items.afterMutation([1, 2], async () => 'ok', 'refresh');
    expect(h.keys()).toEqual([
      [1, 2, 3],
      [1, 2],
    ]);
    expect(await loaders.items.load(1)).toEqual(item(1, 2));
    expect(await h.request().items.loadMany([1, 2, 3])).toEqual([item(1, 2), item(2, 2), item(3, 1)]);
    expect(h.calls).toHaveLength(2);
  });

  it('afterMutation leaves the keys alone when the mutation throws', async () => {
    const h = harness();
    await h.request().items.load(1);
    await expect(
      h.request().items.afterMutation([1], async () => {
        throw new Error('mutation failed');
      }),
    ).rejects.toThrow('mutation failed');
    expect(await h.request().items.load(1)).toEqual(item(1, 1));
    expect(h.calls).toHaveLength(1);
  });
});

describe('shared values cannot be changed by one request for another', () => {
  it('shared values are deep-frozen: mutation throws, and other requests see the original', async () => {
    const h = harness({
      answer: (id, ctx, call) => ({ id, tenant: ctx.tenant, call, tags: ['x'], nested: { n: 1 } }),
    });
    const mine = (await h.request().items.load(1)) as Item & { tags: string[]; nested: { n: number } };
    expect(Object.isFrozen(mine)).toBe(true);
    expect(() => {
      (mine as { call: number }).call = 99;
    }).toThrow(TypeError);
    expect(() => mine.tags.push('y')).toThrow(TypeError);
    expect(() => {
      mine.nested.n = 2;
    }).toThrow(TypeError);
    const theirs = await h.request().items.load(1);
    expect(theirs).toEqual({ id: 1, tenant: 'acme', call: 1, tags: ['x'], nested: { n: 1 } });
  });

  it('values holding Dates are cloned per read: one request changing its copy changes no other', async () => {
    const h = harness({ answer: (id, _ctx, call) => ({ id, call, at: new Date(1_000) }) });
    const a = (await h.request().items.load(1)) as unknown as { at: Date };
    a.at.setTime(0);
    const b = (await h.request().items.load(1)) as unknown as { at: Date };
    expect(b.at.getTime()).toBe(1_000);
    expect(b).not.toBe(a);
    expect(h.calls).toHaveLength(1);
  });

  it('class instances reach their own request but are never shared; onError is told once', async () => {
    class Row {
      constructor(readonly id: number) {}
    }
    const h = harness({ answer: (id) => new Row(id) });
    const first = await h.request().items.load(1);
    expect(first).toBeInstanceOf(Row);
    expect(Object.isFrozen(first)).toBe(false);
    expect(await h.request().items.load(1)).toBeInstanceOf(Row);
    await h.request().items.load(2);
    expect(h.calls).toHaveLength(3);
    expect(h.errors).toHaveLength(1);
    expect(h.errors[0]!.message).toMatch(/Loader "items".*never shared/);
  });

  it('a value holding a Map of functions reaches its own request and is not shared', async () => {
    const h = harness({ answer: (id) => ({ id, handlers: new Map([['f', () => id]]) }) });
    const first = (await h.request().items.load(1)) as unknown as { handlers: Map<string, () => number> };
    expect(first.handlers.get('f')!()).toBe(1);
  });
});

describe('cross-loader primes with shared loaders', () => {
  it('a shared hit primes the other loader too', async () => {
    const byIdCalls: number[][] = [];
    const create = defineLoaders(
      {
        byId: {
          batch: async (ids: readonly number[]) => {
            byIdCalls.push([...ids]);
            return ids.map((id) => ({ id, slug: `u${id}` }));
          },
        },
        bySlug: {
          batch: async (slugs: readonly string[]) =>
            slugs.map((slug) => ({ id: Number(slug.slice(1)), slug })),
          shared: { scope: 'global', ttl: 60_000 },
          primes: { byId: (user) => user.id },
        },
      },
      { now: () => 1_000 },
    );
    const first = create({});
    await first.bySlug.load('u1');
    await first.byId.load(1);
    expect(byIdCalls).toEqual([]);
    // The second request reads bySlug from the shared cache; byId must still be primed.
    const second = create({});
    await second.bySlug.load('u1');
    await second.byId.load(1);
    expect(byIdCalls).toEqual([]);
  });
});

describe('a failing local store never fails a load (fail open)', () => {
  const methods = ['get', 'set', 'delete', 'deleteSpaces'] as const;

  for (const method of methods) {
    it(`${method} throwing: values come from the source, errors are counted and reported, an invalidation it breaks rejects`, async () => {
      const watched = watchedStore(createMemoryStore({ now: () => 1_000 }));
      const h = harness({ store: watched.store, start: 1_000 });
      // Warm entries while the store works, then break it.
      await h.request().items.loadMany([1, 2]);
      watched.fail.add(method);
      const before = watched.counts[method];
      const ids = (...list: number[]) => list.map((id) => expect.objectContaining({ id, tenant: 'acme' }));
      expect(await h.request().items.loadMany([1, 2, 3])).toEqual(ids(1, 2, 3));
      expect(await h.request().items.loadMany([2, 3, 4])).toEqual(ids(2, 3, 4));
      const invalidating = h.request();
      // An invalidation the store could not carry out says so; the others resolve.
      if (method === 'delete')
        await expect(invalidating.items.invalidate(1)).rejects.toThrow(/in-process store failed/);
      else await expect(invalidating.items.invalidate(1)).resolves.toBeUndefined();
      if (method === 'deleteSpaces')
        await expect(invalidating.items.invalidateScope()).rejects.toThrow(/in-process store failed/);
      else await expect(invalidating.items.invalidateScope()).resolves.toBeUndefined();
      expect(await h.request().items.load(1)).toMatchObject({ id: 1 });
      // Every failed call is counted once (a failed invalidation once more); at most 5 a second are reported.
      const failed = watched.counts[method] - before;
      expect(failed).toBeGreaterThan(0);
      const invalidationsFailed = method === 'delete' || method === 'deleteSpaces' ? 1 : 0;
      expect(h.create.stats().loaders.items.errors).toBe(failed + invalidationsFailed);
      expect(h.errors).toHaveLength(Math.min(5, failed));
      expect(h.errors.every((e) => e.message === `store down (${method})`)).toBe(true);
    });
  }
});

describe('the context of a background refresh (issue #10)', () => {
  it('runs with shared.refreshContext(ctx), made while the request was alive, and a signal that never aborts', async () => {
    const seen: Array<{ ctx: unknown; aborted: boolean }> = [];
    let clock = 1_000;
    let call = 0;
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], ctx: { tenant: string; tx: string }, { signal }) => {
            seen.push({ ctx, aborted: signal.aborted });
            call++;
            return ids.map((id) => ({ id, call }));
          },
          shared: {
            scope: (ctx: { tenant: string }) => ctx.tenant,
            ttl: 1_000,
            jitter: 0,
            graceMs: 5_000,
            refreshContext: (ctx: { tenant: string; tx: string }) => ({ tenant: ctx.tenant, tx: 'pool' }),
          },
        },
      },
      { now: () => clock },
    );
    await create({ tenant: 'acme', tx: 'request-1' }).items.load(1);
    clock += 1_500;
    const controller = new AbortController();
    const stale = await create({ tenant: 'acme', tx: 'request-2' }, { signal: controller.signal }).items.load(
      1,
    );
    controller.abort(); // the request ends before its refresh runs
    expect(stale).toEqual({ id: 1, call: 1 });
    await flush();
    expect(seen).toEqual([
      { ctx: { tenant: 'acme', tx: 'request-1' }, aborted: false },
      { ctx: { tenant: 'acme', tx: 'pool' }, aborted: false },
    ]);
    expect(await create({ tenant: 'acme', tx: 'request-3' }).items.load(1)).toEqual({ id: 1, call: 2 });
  });

  it('a throwing refreshContext skips the refresh, keeps serving the stale value and is reported once', async () => {
    let clock = 1_000;
    const errors: Error[] = [];
    let calls = 0;
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[]) => {
            calls++;
            return ids.map((id) => ({ id, calls }));
          },
          shared: {
            scope: 'global',
            ttl: 1_000,
            jitter: 0,
            graceMs: 5_000,
            refreshContext: () => {
              throw new Error('no pool');
            },
          },
        },
      },
      { now: () => clock, onError: (error) => errors.push(error) },
    );
    await create({}).items.load(1);
    clock += 1_500;
    expect(await create({}).items.load(1)).toEqual({ id: 1, calls: 1 });
    expect(await create({}).items.load(1)).toEqual({ id: 1, calls: 1 });
    await flush();
    expect(calls).toBe(1);
    expect(errors.map((e) => e.message)).toEqual([
      'Loader "items": shared.refreshContext(context) threw: [Error: no pool]. The background refresh is skipped; the stale value is served until grace ends.',
    ]);
  });
});

describe('the scope of a request (issue #10)', () => {
  it('is kept per request: a context whose tenant changes mid-request never loads under the old scope, it fails closed', async () => {
    const h = harness();
    const ctx = { tenant: 'acme' };
    const loaders = h.create(ctx);
    expect(await loaders.items.load(1)).toEqual(item(1, 1, 'acme'));
    ctx.tenant = 'globex';
    await expect(loaders.items.load(2)).rejects.toThrow(
      'Loader "items": the request\'s shared scope changed from "acme" to "globex" during the request; a request keeps one scope. Create new loaders (createLoaders) for another tenant or viewer.',
    );
    expect(h.calls.map((c) => c.tenant)).toEqual(['acme']);
    // Nothing of globex is in acme's scope, nor the other way round.
    expect(await h.request('acme').items.load(2)).toEqual(item(2, 2, 'acme'));
    expect(await h.request('globex').items.load(1)).toEqual(item(1, 3, 'globex'));
  });
});

describe('a local store that answers the wrong entry (issue #10)', () => {
  it('an entry written for another key or scope is a miss, never a wrong answer', async () => {
    const inner = createMemoryStore({ now: () => 1_000 });
    let lie: LocalEntry | undefined;
    const lying: LocalStore = {
      ...inner,
      name: 'lying',
      get: (space, key) => lie ?? inner.get(space, key),
      set: (entry, ttlMs) => {
        lie ??= entry; // from now on, every read answers the first entry written
        inner.set(entry, ttlMs);
      },
      delete: (space, key) => inner.delete(space, key),
      deleteSpaces: (prefix) => inner.deleteSpaces(prefix),
      stats: () => inner.stats(),
      close: () => inner.close(),
    };
    const h = harness({ store: lying, start: 1_000 });
    expect(await h.request('acme').items.load(1)).toEqual(item(1, 1, 'acme'));
    expect(await h.request('acme').items.load(2)).toEqual(item(2, 2, 'acme'));
    expect(await h.request('globex').items.load(1)).toEqual(item(1, 3, 'globex'));
    expect(await h.request('acme').items.load(1)).toEqual(item(1, 1, 'acme'));
  });
});
