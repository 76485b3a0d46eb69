/**
 * The Redis store on a local Redis Cluster (3 masters; private redis-servers), with every supported
 * client (issue #12 §4): the remote store contract; what one batch costs per node, counted by each
 * node's INFO commandstats and by a round-trip proxy in front of each node (the clients' address maps
 * send them through it); hash tags that no user text can form; invalidation across instances over
 * sharded pub/sub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf } from '../../../src/cache/stores/cluster-slots.js';
import { defineLoaders } from '../../../src/index.js';
import { createRedisStore } from '../../../src/redis.js';
import { remoteStoreConformance } from '../../../src/testing/index.js';
import {
  busReady,
  CLUSTER_CLIENTS,
  type RedisCluster,
  roundTripProxy,
  startCluster,
  type TestClient,
} from '../../redis.js';

interface Ctx {
  tenant: string;
}

type Proxy = Awaited<ReturnType<typeof roundTripProxy>>;

let cluster: RedisCluster;
let proxies: Proxy[];
/** Node port → its proxy's port. */
let via: Map<number, number>;
beforeAll(async () => {
  cluster = await startCluster(3);
  proxies = await Promise.all(cluster.nodes.map((node) => roundTripProxy(node.port)));
  via = new Map(cluster.nodes.map((node, i) => [node.port, proxies[i]!.port]));
}, 60_000);
afterAll(async () => {
  for (const proxy of proxies ?? []) await proxy.close();
  await cluster?.close();
});

async function resetCounts() {
  for (const node of cluster.nodes) await node.resetStats();
  for (const proxy of proxies) proxy.reset();
}

/** Commands per node (INFO commandstats), round trips per node (proxies). */
async function counts() {
  return {
    commands: await Promise.all(cluster.nodes.map((node) => node.commandCounts())),
    roundTrips: proxies.map((proxy) => proxy.roundTrips),
  };
}

/** Our keys on each node (KEYS on a cluster node lists that node's own). */
async function keysPerNode(prefix: string): Promise<string[][]> {
  return Promise.all(
    cluster.nodes.map(async (node) =>
      (await node.cli('KEYS', '*'))
        .split('\n')
        .filter((key) => key.includes(prefix))
        .sort(),
    ),
  );
}

async function until(condition: () => Promise<boolean> | boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const TAG = /^\{[0-9a-f]{8}\}/;

describe.each(CLUSTER_CLIENTS)('createRedisStore on Redis Cluster over $name', (kind) => {
  const clients: TestClient[] = [];
  const connect = async (through = via) => {
    const client = await kind.connect(cluster, through);
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    for (const client of clients) await client.close();
  });

  describe('remote store conformance', () => {
    for (const slots of ['per-key', 'per-scope'] as const)
      for (const c of remoteStoreConformance(async () =>
        createRedisStore({ client: (await connect(undefined)).client, slots }),
      ))
        it(`${slots}: ${c.name}`, c.run);
  });

  for (const slots of ['per-key', 'per-scope'] as const)
    it(`${slots}: an L2-hit batch costs one MGET per slot, one round trip per node it touches; a miss batch adds one write round trip per node (scripts cached by the first); never CROSSSLOT`, async () => {
      const client = await connect();
      const source: number[][] = [];
      const errors: Error[] = [];
      const prefix = `cost-${kind.name}-${slots}`;
      const define = (placed = slots) =>
        defineLoaders(
          {
            users: {
              batch: async (ids: readonly number[], _ctx: Ctx) => {
                source.push([...ids]);
                return ids.map((id) => ({ id, name: `user ${id}` }));
              },
              shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
            },
          },
          {
            // No bus: its heartbeats would go through the proxies that count round trips.
            remote: createRedisStore({ client: client.client, invalidation: false, slots: placed }),
            prefix,
            onError: (error) => errors.push(error),
          },
        );
      const keys = Array.from({ length: 100 }, (_, i) => i + 1);
      // Warm-up in another scope, spread over every node: the client opens its connections (ioredis
      // connects a node at its first command). Another store: the measured one knows no node's scripts.
      const warm = define('per-key');
      const warming = warm({ tenant: 'warm-up' });
      await Promise.all(keys.map((id) => warming.users.load(id)));
      await until(() => warm.stats().remote!.pendingWrites === 0);
      await warm.close();
      source.length = 0;

      const first = define();
      await resetCounts();
      const loaders = first({ tenant: 'acme' });
      const values = await Promise.all(keys.map((id) => loaders.users.load(id)));
      expect(values[41]).toEqual({ id: 42, name: 'user 42' });
      expect(source).toEqual([keys]);
      await until(() => first.stats().remote!.pendingWrites === 0);
      const miss = await counts();
      const stored = (await keysPerNode(prefix)).map((onNode) =>
        onNode.filter((key) => !key.includes('warm-up')),
      );
      // Every key of ours behind our tag; 100 entries and the scope's generation.
      expect(stored.flat()).toHaveLength(101);
      expect(stored.flat().every((key) => TAG.test(key))).toBe(true);
      const slotsOn = stored.map((onNode) => new Set(onNode.map((key) => slotOf(key))).size);
      const touched = slotsOn.map((n) => (n > 0 ? 1 : 0));
      if (slots === 'per-scope') expect(slotsOn.filter((n) => n > 0)).toEqual([1]);
      else expect(touched).toEqual([1, 1, 1]);
      // Per node: one MGET per slot of its keys, one write-back script per slot, in 2 round trips; the
      // store's first script on a node goes as EVAL (caching it there), the others behind it as EVALSHA.
      miss.commands.forEach((commands, node) => {
        if (slotsOn[node] === 0) expect(commands).toEqual({});
        else
          expect({ mget: commands.mget, eval: commands.eval, evalsha: commands.evalsha ?? 0 }).toEqual({
            mget: slotsOn[node],
            eval: 1,
            evalsha: slotsOn[node]! - 1,
          });
      });
      expect(miss.roundTrips).toEqual(touched.map((t) => 2 * t));

      // A second instance finds every key in Redis: reads only, one round trip per node.
      const second = define();
      await resetCounts();
      const reading = second({ tenant: 'acme' });
      const fromRedis = await Promise.all(keys.map((id) => reading.users.load(id)));
      expect(fromRedis).toEqual(values);
      expect(source).toEqual([keys]);
      const hit = await counts();
      expect(hit.commands).toEqual(slotsOn.map((n) => (n === 0 ? {} : { mget: n })));
      expect(hit.roundTrips).toEqual(touched);
      expect(second.stats().loaders.users).toMatchObject({ remoteHits: 100, misses: 0 });
      // Per node in stats().remote.nodes: the reads this store made, one per slot, none failed.
      const nodes = second.stats().remote!.nodes!;
      expect(nodes.filter((node) => node.ok > 0)).toHaveLength(touched.filter(Boolean).length);
      expect(nodes.reduce((sum, node) => sum + node.ok, 0)).toBe(slotsOn.reduce((x, y) => x + y, 0));
      expect(nodes.every((node) => node.errors === 0 && node.refused === 0)).toBe(true);
      expect(errors).toEqual([]);
      await first.close();
      await second.close();
    });

  it('braces in prefix, loader scope and keys never form a hash tag: scopes stay apart, per-scope keys share one slot', async () => {
    const client = await connect(undefined);
    const errors: Error[] = [];
    const source: string[][] = [];
    const prefix = `br{a}ce-${kind.name}`;
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly string[], ctx: Ctx) => {
            source.push([...ids]);
            return ids.map((id) => `${ctx.tenant}/${id}`);
          },
          // Nothing in process: the reads below come from Redis.
          shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, l1Ttl: 0 },
        },
      },
      {
        remote: createRedisStore({ client: client.client, invalidation: false, slots: 'per-scope' }),
        prefix,
        onError: (error) => errors.push(error),
      },
    );
    const ids = ['{x}', '}{', '{', '}', 'a{b}c', '{}'];
    const tenants = ['{x}', 'x', '}', '{}'];
    for (const tenant of tenants) {
      const loaders = createLoaders({ tenant });
      expect(await Promise.all(ids.map((id) => loaders.items.load(id)))).toEqual(
        ids.map((id) => `${tenant}/${id}`),
      );
    }
    await until(() => createLoaders.stats().remote!.pendingWrites === 0);
    const stored = (await keysPerNode(prefix)).flat();
    expect(stored).toHaveLength(tenants.length * (ids.length + 1));
    // One slot per scope, four scopes: four slots, none forced by the users' braces.
    const bySlot = new Map<number, number>();
    for (const key of stored) bySlot.set(slotOf(key), (bySlot.get(slotOf(key)) ?? 0) + 1);
    expect([...bySlot.values()]).toEqual(tenants.map(() => ids.length + 1));
    // Read back from Redis alone (the in-process tier is off): no scope sees another's values.
    source.length = 0;
    for (const tenant of tenants) {
      const loaders = createLoaders({ tenant });
      expect(await Promise.all(ids.map((id) => loaders.items.load(id)))).toEqual(
        ids.map((id) => `${tenant}/${id}`),
      );
    }
    expect(source).toEqual([]);
    expect(errors).toEqual([]);
    await createLoaders.close();
  });

  it('invalidate on one instance reaches the other over sharded pub/sub (one SPUBLISH on the channel slot master)', async () => {
    const a = await connect(undefined);
    const b = await connect(undefined);
    let version = 1;
    const define = (client: TestClient) =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id, version })),
            shared: { scope: 'global', ttl: 60_000 },
          },
        },
        { remote: createRedisStore({ client: client.client }), prefix: `bus-${kind.name}` },
      );
    const A = define(a);
    const B = define(b);
    expect(await A({ tenant: 't' }).users.load(1)).toEqual({ id: 1, version: 1 });
    await until(() => A.stats().remote!.pendingWrites === 0);
    await busReady(A, B);
    expect(await B({ tenant: 't' }).users.load(1)).toEqual({ id: 1, version: 1 });
    expect(B.stats().loaders.users).toMatchObject({ remoteHits: 1, misses: 0 });
    // B now serves key 1 from its in-process tier.
    expect(await B({ tenant: 't' }).users.load(1)).toEqual({ id: 1, version: 1 });
    expect(B.stats().loaders.users).toMatchObject({ sharedHits: 2, remoteHits: 1 });
    version = 2;
    await resetCounts();
    await A.invalidate('users', [1], { tenant: 't' });
    await until(() => B.stats().bus!.received >= 1);
    // One SPUBLISH, on the master of the channel's slot (where the presence keys, tagged by the channel
    // name, live too).
    const spublish = (await counts()).commands.map((commands) => commands.spublish ?? 0);
    const registry = (await keysPerNode('{loaderkit:invalidate}:instances')).map((keys) => keys.length);
    expect(spublish).toEqual(registry);
    expect(spublish.reduce((x, y) => x + y)).toBe(1);
    expect(await B({ tenant: 't' }).users.load(1)).toEqual({ id: 1, version: 2 });
    expect(B.stats().loaders.users).toMatchObject({ sharedHits: 2, misses: 1 });
    expect(B.stats().bus).toMatchObject({ garbage: 0 });
    await A.close();
    await B.close();
  });

  it('a channel with braces in its name: the presence keys still share one slot (invalidateScope gets the acknowledgement)', async () => {
    const a = await connect(undefined);
    const b = await connect(undefined);
    const errors: Error[] = [];
    const define = (client: TestClient) =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id })),
            shared: { scope: 'global', ttl: 60_000 },
          },
        },
        {
          remote: createRedisStore({
            client: client.client,
            invalidation: { channel: process.env.CHAN ?? '}odd{chan}nel' },
            onError: (error) => errors.push(error),
          }),
          prefix: `chan-${kind.name}`,
          onError: (error) => errors.push(error),
        },
      );
    const A = define(a);
    const B = define(b);
    await A({ tenant: 't' }).users.load(1);
    await B({ tenant: 't' }).users.load(1);
    await busReady(A, B);
    await A.invalidateScope('users', { tenant: 't' });
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(A.stats().bus).toMatchObject({ ackTimeouts: 0 });
    await A.close();
    await B.close();
  });
});
