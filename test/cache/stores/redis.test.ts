/**
 * The Redis store against real, private redis-server processes, with every supported client: the remote
 * store contract, and what one batch costs in commands (INFO commandstats) and round trips (a counting
 * proxy between client and server).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResilientRemote, resolveResilience } from '../../../src/cache/remote/resilient.js';
import { defineLoaders } from '../../../src/index.js';
import { createRedisStore } from '../../../src/redis.js';
import { remoteStoreConformance } from '../../../src/testing/index.js';
import {
  busReady,
  CLIENTS,
  type RedisServer,
  roundTripProxy,
  startRedis,
  type TestClient,
} from '../../redis.js';

interface Ctx {
  tenant: string;
}

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.close();
});

describe.each(CLIENTS)('createRedisStore over $name', (kind) => {
  describe('remote store conformance', () => {
    const clients: TestClient[] = [];
    afterAll(async () => {
      for (const client of clients) await client.close();
    });
    for (const c of remoteStoreConformance(async () => {
      const client = await kind.connect(server.port);
      clients.push(client);
      return createRedisStore({ client: client.client });
    }))
      it(c.name, c.run);
  });

  it('says it ignores signals, not enumerably: a store spread from it (a wrapper) does not inherit that', async () => {
    const client = await kind.connect(server.port);
    try {
      const store = createRedisStore({ client: client.client });
      expect(store.ignoresSignal).toBe(true);
      expect(Object.keys(store)).not.toContain('ignoresSignal');
      expect({ ...store }.ignoresSignal).toBeUndefined();
      await store.close();
    } finally {
      await client.close();
    }
  });

  it('an answer that waits in the socket while the event loop is blocked past the deadline is taken, not timed out', async () => {
    const client = await kind.connect(server.port);
    try {
      const store = createRedisStore({ client: client.client });
      // Written without the 20 ms deadline, which a loaded machine can miss: only the read is under test.
      await store.setMany(
        [{ key: `blocked-${kind.name}`, value: 'v', ttlMs: 10_000 }],
        new AbortController().signal,
      );
      const remote = new ResilientRemote(store, resolveResilience({ timeoutMs: 20 }), () => {}, Date.now);
      await server.resetStats();
      const cli = (args: string[]) =>
        spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout;
      const end = performance.now() + 100;
      let settled = false;
      const read = remote.read([`blocked-${kind.name}`]).finally(() => {
        settled = true;
      });
      // The command goes out (without the socket being read in between, so no answer is taken yet), Redis
      // runs it, but the loop stays blocked for 100 ms, until long after the deadline: when it is free, the
      // deadline's timer and the answer are both due, and timers run first. Blocked by synchronous
      // redis-cli calls, which also give Redis the CPU on a busy machine.
      // node-redis writes in a setImmediate scheduled with the command, which runs before this one (same
      // check phase, so the socket is not read in between); ioredis within ticks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let reached = false;
      for (let i = 0; i < 50 && !reached; i++) {
        await new Promise<void>((resolve) => process.nextTick(resolve));
        reached = /cmdstat_mget:calls=1\b/.test(cli(['INFO', 'commandstats']));
      }
      expect(reached).toBe(true);
      cli(['PING']); // Redis has written the MGET's answer before it answers a later client.
      while (performance.now() < end) {
        // blocked
      }
      expect(settled).toBe(false);
      expect(await read).toEqual(['v']);
      expect(remote.stats()).toMatchObject({ timeouts: 0, failures: 0 });
    } finally {
      await client.close();
    }
  });

  it('a batch of L2 hits costs one MGET in one round trip; a batch of misses adds one round trip that writes every entry', async () => {
    const proxy = await roundTripProxy(server.port);
    const client = await kind.connect(proxy.port);
    const source: number[][] = [];
    const define = () =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[], _ctx: Ctx) => {
              source.push([...ids]);
              // ~300 bytes each: a write-back of 100 (~40 KB) is more than a socket's 16 KB high-water
              // mark, which splits one pipeline of many commands into several round trips (node-redis).
              return ids.map((id) => ({ id, name: `user ${id}`, bio: 'x'.repeat(300) }));
            },
            shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
          },
        },
        // A prefix of its own per client kind, so runs never share keys.
        // No invalidation bus: its heartbeats would go through the proxy that counts round trips.
        {
          remote: createRedisStore({ client: client.client, invalidation: false }),
          prefix: `count-${kind.name}`,
        },
      );
    try {
      const keys = Array.from({ length: 100 }, (_, i) => i + 1);
      const first = define();
      await server.resetStats();
      proxy.reset();
      const loaders = first({ tenant: 'acme' });
      const values = await Promise.all(keys.map((id) => loaders.users.load(id)));
      expect(values[41]).toEqual({ id: 42, name: 'user 42', bio: 'x'.repeat(300) });
      expect(source).toEqual([keys]);
      // The write-back runs behind the load: wait for it to land.
      await until(async () => (await server.commandCounts()).set === 101);
      // The read (generation + 100 keys), then one script that sets the 100 entries and the scope's new
      // generation token, each after checking (GET) that its key still holds what the read saw.
      expect(await server.commandCounts()).toEqual({ mget: 1, eval: 1, get: 101, set: 101 });
      expect(proxy.roundTrips).toBe(2);

      // A second instance (its own in-process tier) finds every key in Redis.
      const second = define();
      await server.resetStats();
      proxy.reset();
      const other = second({ tenant: 'acme' });
      const fromRedis = await Promise.all(keys.map((id) => other.users.load(id)));
      expect(fromRedis).toEqual(values);
      // Shared between requests, so no request can change it for another.
      expect(fromRedis.every((value) => Object.isFrozen(value))).toBe(true);
      expect(source).toEqual([keys]);
      expect(await server.commandCounts()).toEqual({ mget: 1 });
      expect(proxy.roundTrips).toBe(1);
      expect(second.stats().loaders.users).toMatchObject({ sharedHits: 100, remoteHits: 100, misses: 0 });

      // And now its in-process tier has them: no Redis at all.
      await server.resetStats();
      proxy.reset();
      const again = second({ tenant: 'acme' });
      expect(await Promise.all(keys.map((id) => again.users.load(id)))).toEqual(values);
      expect(await server.commandCounts()).toEqual({});
      expect(proxy.roundTrips).toBe(0);
      await first.close();
      await second.close();
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('on a server that runs no scripts (EVAL renamed away), write-backs are pipelined SETs, said once', async () => {
    const own = await startRedis(['--rename-command', 'EVAL', '']);
    const client = await kind.connect(own.port);
    const told: string[] = [];
    const store = createRedisStore({ client: client.client, onError: (error) => told.push(error.message) });
    const define = () =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id })),
            shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
          },
        },
        { remote: store },
      );
    try {
      const first = define();
      await busReady(first);
      await own.resetStats();
      const loaders = first({ tenant: 'acme' });
      await Promise.all([1, 2, 3].map((id) => loaders.users.load(id)));
      await until(async () => (await own.commandCounts()).set === 4);
      // The refused EVAL, then the same write-back as SETs: 3 entries and the generation token.
      expect(await own.commandCounts()).toEqual({ mget: 1, set: 4 });
      expect(told).toEqual([expect.stringMatching(/refused EVAL .*unknown command.*pipelined SETs/)]);
      expect(first.stats().remote).toMatchObject({ failures: 0 });

      await own.resetStats();
      await Promise.all([4, 5].map((id) => loaders.users.load(id)));
      await until(async () => (await own.commandCounts()).set === 2);
      expect(await own.commandCounts()).toEqual({ mget: 1, set: 2 });
      expect(told).toHaveLength(1);

      const second = define();
      const other = second({ tenant: 'acme' });
      expect(await Promise.all([1, 2, 3, 4, 5].map((id) => other.users.load(id)))).toHaveLength(5);
      expect(second.stats().loaders.users).toMatchObject({ remoteHits: 5, misses: 0 });
      await first.close();
      await second.close();
    } finally {
      await client.close();
      await own.close();
    }
  });
});

describe.each(CLIENTS.filter((kind) => kind.name === 'redis 6' || kind.name === 'ioredis 6'))(
  'invalidation on Redis over $name',
  (kind) => {
    it('invalidate drops the key from both tiers (one EVAL writes its marker over it) and tells the other instance (one PUBLISH), which drops it too; with Redis gone it rejects, and the in-process entry is dropped anyway', async () => {
      const own = await startRedis();
      const client = await kind.connect(own.port);
      let version = 1;
      const define = () =>
        defineLoaders(
          {
            users: {
              batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id, version })),
              shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
            },
          },
          { remote: createRedisStore({ client: client.client }), remoteOptions: { timeoutMs: 100 } },
        );
      const a = define();
      const b = define();
      await busReady(a, b);
      try {
        expect(await a({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 1 });
        await until(async () => (await own.commandCounts()).set === 2);
        expect(await b({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 1 }); // from Redis
        version = 2;
        await own.resetStats();
        await a({ tenant: 'acme' }).users.invalidate(1);
        expect(await own.commandCounts()).toEqual({ eval: 1, set: 1, publish: 1 });
        // a's in-process tier and Redis no longer have it; b is told and drops its in-process copy.
        await until(async () => b.stats().bus!.received === 1);
        expect(await a({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 2 });
        // The new value replaces the marker the read saw (GET checks it is still there).
        await until(async () => (await own.commandCounts()).set === 2);
        expect(await own.commandCounts()).toEqual({ eval: 2, set: 2, mget: 1, get: 1, publish: 1 });
        expect(await b({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 2 }); // from Redis
        expect(b.stats().loaders.users).toMatchObject({ remoteHits: 2, sourceCalls: 0 });
        const third = define();
        expect(await third({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 2 }); // from Redis
        expect(third.stats().loaders.users).toMatchObject({ remoteHits: 1, misses: 0 });
        await third.close();

        await own.kill();
        version = 3;
        await expect(a({ tenant: 'acme' }).users.invalidate(1)).rejects.toThrow(
          /remote store could not be reached/,
        );
        expect(await a({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 3 });
        expect(a.stats().loaders.users!.errors).toBeGreaterThan(0);
      } finally {
        await a.close();
        await b.close();
        await client.close();
        await own.close();
      }
    });

    it('a foreign value at a scope generation key is replaced by the next write-back, whose entries are then read', async () => {
      const own = await startRedis();
      const client = await kind.connect(own.port);
      const define = () =>
        defineLoaders(
          {
            users: {
              batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id })),
              shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
            },
          },
          { remote: createRedisStore({ client: client.client }), remoteOptions: { timeoutMs: 1000 } },
        );
      const first = define();
      try {
        await first({ tenant: 'acme' }).users.load(1);
        await until(async () => (await own.commandCounts()).set === 2);
        const keys = (await own.cli('KEYS', '*')).split('\n').filter(Boolean);
        const values = await Promise.all(keys.map((key) => own.cli('GET', key)));
        const generationKey = keys[values.findIndex((value) => /^[0-9a-z]+\.[0-9a-z]+$/.test(value))]!;
        await own.cli('SET', generationKey, 'not a token of ours');
        const second = define();
        expect(await second({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1 });
        expect(second.stats().loaders.users).toMatchObject({ remoteHits: 0, misses: 1 });
        await until(async () => /^[0-9a-z]+\.[0-9a-z]+$/.test(await own.cli('GET', generationKey)));
        const third = define();
        expect(await third({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1 });
        expect(third.stats().loaders.users).toMatchObject({ remoteHits: 1, misses: 0 });
        await second.close();
        await third.close();
      } finally {
        await first.close();
        await client.close();
        await own.close();
      }
    });

    it('a load that read a key before another instance invalidated it writes nothing back: the next read anywhere sees the new value', async () => {
      const own = await startRedis();
      const client = await kind.connect(own.port);
      let version = 1;
      let opened!: () => void;
      const sourceOpen = new Promise<void>((resolve) => {
        opened = resolve;
      });
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const define = (hold: boolean) =>
        defineLoaders(
          {
            users: {
              batch: async (ids: readonly number[], _ctx: Ctx) => {
                const seen = version; // what the source reads now
                if (hold) {
                  opened();
                  await held;
                }
                return ids.map((id) => ({ id, version: seen }));
              },
              shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
            },
          },
          // No bus: this is the fence in Redis alone (told, B would fence its load itself).
          {
            remote: createRedisStore({ client: client.client, invalidation: false }),
            remoteOptions: { timeoutMs: 1000 },
          },
        );
      const a = define(false);
      const b = define(true);
      try {
        const onB = b({ tenant: 'acme' }).users.load(1); // B reads Redis (nothing), its source reads v1
        await sourceOpen;
        version = 2; // A's mutation
        await a({ tenant: 'acme' }).users.invalidate(1);
        await own.resetStats();
        release();
        expect(await onB).toEqual({ id: 1, version: 1 });
        await until(async () => (await own.commandCounts()).eval === 1);
        // B's write-back checked the key, found A's marker instead of nothing, and wrote only the scope's
        // token (which was not there either).
        expect(await own.commandCounts()).toEqual({ eval: 1, get: 2, set: 1 });
        expect(b.stats().remote).toMatchObject({ writesFenced: 1, failures: 0 });
        const c = define(false);
        expect(await c({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 2 });
        expect(c.stats().loaders.users).toMatchObject({ remoteHits: 0, misses: 1 });
        await until(async () => c.stats().remote!.pendingWrites === 0);
        // B's fenced write-back took its old value out of B's in-process tier too: B reads C's from Redis.
        expect(await b({ tenant: 'acme' }).users.load(1)).toEqual({ id: 1, version: 2 });
        expect(b.stats().loaders.users).toMatchObject({ remoteHits: 1, sourceCalls: 1 });
        await c.close();
      } finally {
        release();
        await a.close();
        await b.close();
        await client.close();
        await own.close();
      }
    });
  },
);

describe('createRedisStore and the clients it is given', () => {
  it('one error listener per client, however many stores; the last close removes it', async () => {
    for (const kind of CLIENTS) {
      const client = await kind.connect(server.port);
      const emitter = client.client as { listenerCount(event: string): number };
      const before = emitter.listenerCount('error');
      const stores = Array.from({ length: 12 }, () => createRedisStore({ client: client.client }));
      expect(emitter.listenerCount('error')).toBe(before + 1);
      for (const store of stores) await store.close();
      expect(emitter.listenerCount('error')).toBe(before);
      await client.close();
    }
  });

  it('takes a Redis Cluster client of either library, refusing what a Cluster cannot have: a subscriber of the user, a bad slots option', async () => {
    const { createCluster } = await import('redis');
    const { Cluster } = await import('ioredis');
    const nodeCluster = createCluster({ rootNodes: [{ url: server.url }] });
    const ioCluster = new Cluster([{ host: '127.0.0.1', port: server.port }], { lazyConnect: true });
    for (const client of [nodeCluster, ioCluster]) {
      const store = createRedisStore({ client, invalidation: false, slots: 'per-scope' });
      expect(store.name).toBe('redis');
      await store.close();
      expect(() => createRedisStore({ client, invalidation: { subscriber: client } })).toThrow(
        "createRedisStore option invalidation.subscriber cannot be used with a Redis Cluster client: the store listens on a connection of its own to the master of the channel's slot",
      );
      expect(() => createRedisStore({ client, slots: 'per-node' as never })).toThrow(
        `createRedisStore option slots must be 'per-key' or 'per-scope', but got: "per-node".`,
      );
    }
    ioCluster.disconnect();
  });

  it('an ioredis client made with lazyConnect is connected by the store, and then used', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    try {
      const remote = createRedisStore({ client });
      const create = () =>
        defineLoaders(
          {
            users: {
              batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
              shared: { scope: 'global', ttl: 60_000 },
            },
          },
          { remote, prefix: 'lazy' },
        );
      const a = create();
      await a({}).users.load(1);
      await until(async () => client.status === 'ready');
      await a({}).users.load(2);
      await until(async () => a.stats().remote!.pendingWrites === 0);
      const b = create();
      await b({}).users.load(2);
      expect(b.stats().loaders.users!.remoteHits).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('refuses what is not a client, naming it', () => {
    expect(() => createRedisStore({ client: { get() {} } })).toThrow(
      'createRedisStore option client must be a node-redis client (createClient() or createCluster() of redis 5 or 6) or an ioredis client (new Redis() or new Cluster() of ioredis 5 or 6), but got:',
    );
    expect(() => createRedisStore({ client: null, bogus: 1 } as never)).toThrow(
      'createRedisStore: unknown option "bogus"; valid options: client, name, onError, invalidation, slots.',
    );
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
