/**
 * Invalidation across instances over Redis pub/sub (issue #12, §1). Every test runs "instances" as
 * loader definitions with their own in-process tier and their own Redis store (so their own subscriber
 * connection and bus) on one private redis-server, with each client library. Asserted: an invalidate,
 * refresh or invalidateScope on A drops B's in-process entries (exact source and Redis-hit counts); one
 * PUBLISH carries many keys; a bus ignores its own messages and counts garbage; after CLIENT KILL of the
 * subscriber B resubscribes and starts from an emptied in-process tier; while Redis is paused no
 * instance serves an in-process entry past staleAfterMs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineLoaders } from '../../../src/index.js';
import { createRedisStore } from '../../../src/redis.js';
import { busReady, FAULT_CLIENTS, type RedisServer, startRedis } from '../../redis.js';

const HEARTBEAT_MS = 50;
const STALE_AFTER_MS = 300;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

interface Ctx {
  readonly tenant: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(FAULT_CLIENTS)('invalidation across instances over $name', (kind) => {
  /** The "database" every instance reads: a version per row. */
  let version = 1;

  async function setup(serverArgs: readonly string[] = []) {
    version = 1;
    const server = await startRedis(serverArgs);
    cleanups.push(() => server.close());
    const instance = async () => {
      const client = await kind.connect(server.port);
      const store = createRedisStore({
        client: client.client,
        invalidation: { heartbeatMs: HEARTBEAT_MS, staleAfterMs: STALE_AFTER_MS },
      });
      const source: number[][] = [];
      const createLoaders = defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[], _ctx: Ctx) => {
              source.push([...ids]);
              return ids.map((id) => ({ id, version }));
            },
            shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
          },
        },
        { remote: store, remoteOptions: { timeoutMs: 100 } },
      );
      cleanups.push(async () => {
        await createLoaders.close();
        await store.close();
        await client.close();
      });
      /** One request loading ids (one batch). */
      const load = (ids: number[], tenant = 'acme') => {
        const loaders = createLoaders({ tenant });
        return Promise.all(ids.map((id) => loaders.users.load(id)));
      };
      return {
        createLoaders,
        store,
        client,
        source,
        load,
        users: () => createLoaders.stats().loaders.users!,
      };
    };
    const a = await instance();
    const b = await instance();
    await busReady(a.createLoaders, b.createLoaders);
    return { server, a, b, instance };
  }

  /** Loads keys on A (from the source, written back), then on B (from Redis into B's in-process tier). */
  async function warm(server: RedisServer, a: Instance, b: Instance, ids: number[]) {
    await a.load(ids);
    await until(() => a.createLoaders.stats().remote!.pendingWrites === 0);
    await b.load(ids);
    expect(b.users()).toMatchObject({ remoteHits: ids.length });
    await b.load(ids); // B's own in-process tier now
    expect(b.users()).toMatchObject({ remoteHits: ids.length, sharedHits: 2 * ids.length });
    void server;
  }
  type Instance = Awaited<ReturnType<Awaited<ReturnType<typeof setup>>['instance']>>;

  it('invalidate on A drops the keys from B in one PUBLISH of many keys; B reads the new value', async () => {
    const { server, a, b } = await setup();
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    await warm(server, a, b, ids);
    version = 2;
    await server.resetStats();
    await a.createLoaders.invalidate('users', ids, { tenant: 'acme' });
    const counts = await server.commandCounts();
    expect(counts.publish).toBe(1);
    await until(() => b.createLoaders.stats().bus!.received === 1);
    // B's in-process copies are gone: B loads them again (Redis holds A's markers: from the source).
    expect((await b.load(ids)).every((row) => row.version === 2)).toBe(true);
    expect(b.source).toEqual([ids]);
    // A ignores its own message when it comes back; B applied one.
    expect(a.createLoaders.stats().bus).toMatchObject({ received: 0, published: 1, garbage: 0 });
    expect(b.createLoaders.stats().bus).toMatchObject({ received: 1, garbage: 0 });
    expect(b.createLoaders.stats().bus!.lag.count).toBe(1);
  });

  it("the message drops only the invalidated scope's keys: other tenants and keys keep their entries", async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [1, 2]);
    await a.load([1], 'other');
    await until(() => a.createLoaders.stats().remote!.pendingWrites === 0);
    await b.load([1], 'other');
    version = 2;
    await a.createLoaders.invalidate('users', [1], { tenant: 'acme' });
    await until(() => b.createLoaders.stats().bus!.received === 1);
    const hitsBefore = b.users().sharedHits;
    expect(await b.load([2])).toEqual([{ id: 2, version: 1 }]); // not invalidated: in process
    expect(await b.load([1], 'other')).toEqual([{ id: 1, version: 1 }]); // another scope
    expect(b.users().sharedHits - hitsBefore).toBe(2);
    expect(b.users().remoteHits).toBe(3); // 1, 2 and other:1 read from Redis once each, no more
    expect(await b.load([1])).toEqual([{ id: 1, version: 2 }]);
  });

  it('refresh on A drops the key from B', async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [7]);
    version = 2;
    expect(await a.createLoaders({ tenant: 'acme' }).users.refresh(7)).toEqual({ id: 7, version: 2 });
    await until(() => b.createLoaders.stats().bus!.received === 1);
    await until(() => a.createLoaders.stats().remote!.pendingWrites === 0);
    expect(await b.load([7])).toEqual([{ id: 7, version: 2 }]);
    expect(b.source).toEqual([]); // A's refreshed value, from Redis
  });

  it('invalidateScope on A: once it resolves, B serves nothing of the old generation', async () => {
    const { server, a, b } = await setup();
    const ids = [1, 2, 3];
    await warm(server, a, b, ids);
    version = 2;
    const started = performance.now();
    await a.createLoaders.invalidateScope('users', { tenant: 'acme' });
    // Resolved on B's acknowledgement, long before the bound.
    expect(performance.now() - started).toBeLessThan(STALE_AFTER_MS);
    expect(a.createLoaders.stats().bus!.ackTimeouts).toBe(0);
    // No waiting here: B applied it before it acknowledged.
    expect((await b.load(ids)).map((row) => row.version)).toEqual([2, 2, 2]);
    expect(b.source).toEqual([ids]);
  });

  it('close() resolves once the instance withdrew its presence (a client ended right after leaves no instance for the others to wait for)', async () => {
    const { server, instance } = await setup();
    const presences = async () =>
      (await server.cli('KEYS', '{loaderkit:invalidate}:instance:*')).split('\n').filter(Boolean).length;
    const c = await instance();
    await c.load([1]);
    await busReady(c.createLoaders);
    await until(async () => (await presences()) === 3);
    await c.createLoaders.close();
    await c.client.close();
    expect(await presences()).toBe(2);
  });

  it('invalidateScope waits for the instances present (a stranger on the channel is none), and waits out the bound for one that never answers', async () => {
    const { server, a, b } = await setup();
    // A stranger subscribed to the channel: no instance, not waited for.
    const stranger = await kind.connect(server.port);
    cleanups.push(() => stranger.close());
    const sub = stranger.client as { subscribe(...args: unknown[]): Promise<unknown> };
    if (kind.library === 'node-redis') await sub.subscribe('loaderkit:invalidate', () => {});
    else await sub.subscribe('loaderkit:invalidate');
    await warm(server, a, b, [1]);
    let started = performance.now();
    await a.createLoaders.invalidateScope('users', { tenant: 'acme' });
    expect(performance.now() - started).toBeLessThan(STALE_AFTER_MS);
    expect(a.createLoaders.stats().bus!.ackTimeouts).toBe(0);
    // Both instances announce themselves in Redis; an instance present that never answers is waited for.
    expect(
      (await server.cli('SMEMBERS', '{loaderkit:invalidate}:instances')).split('\n').filter(Boolean),
    ).toHaveLength(2);
    await server.cli('PSETEX', '{loaderkit:invalidate}:instance:ghost', '60000', '1');
    await server.cli('SADD', '{loaderkit:invalidate}:instances', 'ghost');
    started = performance.now();
    await a.createLoaders.invalidateScope('users', { tenant: 'acme' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(STALE_AFTER_MS);
    expect(a.createLoaders.stats().bus!.ackTimeouts).toBe(1);
    // Once its presence expires it leaves the registry.
    await server.cli('DEL', '{loaderkit:invalidate}:instance:ghost');
    await a.createLoaders.invalidateScope('users', { tenant: 'acme' });
    expect(await server.cli('SISMEMBER', '{loaderkit:invalidate}:instances', 'ghost')).toBe('0');
  });

  it('garbage on the channel is counted and changes nothing', async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [1]);
    for (const text of [
      'not json',
      '{"v":1}',
      '[1,2]',
      '{"v":1,"o":"x","t":1,"k":[["a","b",[1]]]}',
      '{"__proto__":{"v":1}}',
    ])
      await server.cli('PUBLISH', 'loaderkit:invalidate', text);
    await until(() => b.createLoaders.stats().bus!.garbage === 5);
    expect(await b.load([1])).toEqual([{ id: 1, version: 1 }]);
    expect(b.users().remoteHits).toBe(1); // still in process
    expect(({} as Record<string, unknown>).v).toBeUndefined();
  });

  it('CLIENT KILL of the subscriber: B resubscribes, starts from an emptied in-process tier, and hears A again', async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [1, 2]);
    const resyncs = b.createLoaders.stats().bus!.resyncs;
    await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await until(() => b.createLoaders.stats().bus!.resyncs > resyncs);
    await until(() => b.createLoaders.stats().bus!.trusted);
    expect(b.createLoaders.stats().bus!.gaps).toBeGreaterThan(0);
    // Dropped at the resync: read from Redis again (not the source).
    await b.load([1, 2]);
    expect(b.users()).toMatchObject({ remoteHits: 4 });
    expect(b.source).toEqual([]);
    version = 2;
    await a.createLoaders.invalidate('users', [1], { tenant: 'acme' });
    await until(() => b.createLoaders.stats().bus!.received === 1);
    expect(await b.load([1])).toEqual([{ id: 1, version: 2 }]);
  });

  it("the client's own connection lost and made again is a gap too: the instance probes and resynchronises", async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [1]);
    const before = b.createLoaders.stats().bus!;
    await server.cli('CLIENT', 'KILL', 'TYPE', 'normal'); // every client connection (not the subscribers)
    await until(() => b.createLoaders.stats().bus!.resyncs > before.resyncs);
    await until(() => b.createLoaders.stats().bus!.trusted);
    expect(b.createLoaders.stats().bus!.gaps).toBeGreaterThan(before.gaps);
    await b.load([1]);
    expect(b.users().remoteHits).toBe(2); // dropped at the resync, read from Redis again
  });

  it('on a server that runs no scripts, invalidateScope finds the instances present without EVAL', async () => {
    const { server, a, b } = await setup(['--rename-command', 'EVAL', '']);
    await warm(server, a, b, [1]);
    const started = performance.now();
    await a.createLoaders.invalidateScope('users', { tenant: 'acme' });
    expect(performance.now() - started).toBeLessThan(STALE_AFTER_MS);
    expect(a.createLoaders.stats().bus!.ackTimeouts).toBe(0);
    version = 2;
    expect(await b.load([1])).toEqual([{ id: 1, version: 2 }]);
  });

  it('Redis paused (SIGSTOP): past staleAfterMs no instance serves its in-process tier; after SIGCONT hits come back', async () => {
    const { server, a, b } = await setup();
    await warm(server, a, b, [1]);
    server.pause();
    cleanups.push(async () => server.resume());
    try {
      // Within the bound the in-process entry still answers.
      const sourceBefore = b.source.length;
      const hitsBefore = b.users().sharedHits;
      await b.load([1]);
      expect(b.users().sharedHits).toBe(hitsBefore + 1);
      expect(b.source.length).toBe(sourceBefore);
      // Past it, B trusts nothing kept in process: the load goes to Redis (paused: the deadline), then
      // to the source.
      await sleep(STALE_AFTER_MS + HEARTBEAT_MS);
      expect(b.createLoaders.stats().bus!.trusted).toBe(false);
      expect(await b.load([1])).toEqual([{ id: 1, version: 1 }]);
      expect(b.source.length).toBeGreaterThan(sourceBefore);
    } finally {
      server.resume();
    }
    await until(() => b.createLoaders.stats().bus!.trusted, 5000);
    expect(b.createLoaders.stats().bus!.resyncs).toBeGreaterThanOrEqual(2);
    await b.load([1]);
    await until(() => b.createLoaders.stats().remote!.pendingWrites === 0);
    const hits = b.users().sharedHits;
    await b.load([1]);
    expect(b.users().sharedHits).toBe(hits + 1);
  }, 15_000);
});
