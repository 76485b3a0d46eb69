/**
 * `npm run bench:bus` (second part): loaderkit's own invalidation bus end to end, against one private
 * redis-server: instance A (one defineLoaders over its own Redis store) invalidates, instance B (another
 * one, its own store, subscriber and in-process tier) applies. Per client library:
 *   one at a time  SEQ invalidations of one key: A's `invalidate` call to B's message applied (B's
 *                  transport listener, wrapped: the time after the bus handled the message); A awaits
 *                  the call and B's delivery before the next
 *   burst          BURST invalidate calls of one key each in one tick: PUBLISH commands (INFO
 *                  commandstats) and messages B receives (they coalesce per tick)
 *   scope          SCOPES invalidateScope calls one at a time: time until the call resolves (B's
 *                  acknowledgement came back)
 * Medians of ROUNDS rounds, the libraries interleaved.
 */
import { loadavg } from 'node:os';
import { defineLoaders } from '../src/index.js';
import { createRedisStore } from '../src/redis.js';
import { CLIENTS, startRedis, type TestClient } from '../test/redis.js';
import { timedBus } from './timed-bus.js';

const ROUNDS = Number(process.env.BENCH_BUS_ROUNDS ?? 5);
const SEQ = 2000;
/** invalidate calls made in one tick (their markers go in one write, their messages in one PUBLISH). */
const BURST = 10_000;
const SCOPES = 500;

process.once('SIGINT', () => process.exit(130));

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const started = performance.now();
const startLoad = loadavg()[0]!.toFixed(2);
const server = await startRedis();
const clients: TestClient[] = [];

interface Instance {
  readonly create: ReturnType<typeof define>;
  /** Resolves at the next message B's bus has handled. */
  next(): Promise<number>;
  close(): Promise<void>;
}

function define(remote: ReturnType<typeof createRedisStore>) {
  return defineLoaders(
    {
      users: {
        batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
        shared: { scope: 'global' as const, ttl: 600_000 },
      },
    },
    { remote, prefix: 'bench-bus' },
  );
}

async function instance(kind: (typeof CLIENTS)[number]): Promise<Instance> {
  const client = await kind.connect(server.port);
  clients.push(client);
  const store = createRedisStore({ client: client.client });
  const timed = timedBus(store);
  const create = define(timed.store);
  while (!create.stats().bus?.trusted) await new Promise((r) => setTimeout(r, 2));
  return {
    create,
    next: timed.next,
    async close() {
      await create.close();
      await store.close();
    },
  };
}

const kinds = CLIENTS.filter((k) => k.name === 'redis 6' || k.name === 'ioredis 5');
const pairs = await Promise.all(
  kinds.map(async (kind) => ({ kind, a: await instance(kind), b: await instance(kind) })),
);
const results = new Map<
  string,
  { p50: number[]; p99: number[]; publishes: number[]; received: number[]; scope: number[] }
>(kinds.map((k) => [k.name, { p50: [], p99: [], publishes: [], received: [], scope: [] }]));

try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const { kind, a, b } = pairs[(i + round) % pairs.length]!;
      const r = results.get(kind.name)!;
      // One at a time (the message to B, and A's own echo, both arrive: B's is the one waited for).
      const times: number[] = [];
      for (let n = 0; n < SEQ; n++) {
        const arrived = b.next();
        const t0 = performance.now();
        await a.create.invalidate('users', [n], {});
        times.push((await arrived) - t0);
      }
      times.sort((x, y) => x - y);
      r.p50.push(quantile(times, 0.5));
      r.p99.push(quantile(times, 0.99));
      // Burst: one tick of calls.
      const before = b.create.stats().bus!.received;
      await server.resetStats();
      await Promise.all(Array.from({ length: BURST }, (_, n) => a.create.invalidate('users', [n], {})));
      const until = performance.now() + 2000;
      while (b.create.stats().bus!.received === before && performance.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      r.publishes.push((await server.commandCounts()).publish ?? 0);
      r.received.push(b.create.stats().bus!.received - before);
      // Scope invalidations, each waiting for B's acknowledgement.
      const scopeTimes: number[] = [];
      for (let n = 0; n < SCOPES; n++) {
        const t0 = performance.now();
        await a.create.invalidateScope('users', {});
        scopeTimes.push(performance.now() - t0);
      }
      r.scope.push(median(scopeTimes));
      if (a.create.stats().bus!.ackTimeouts > 0)
        throw new Error(`${kind.name}: an acknowledgement timed out`);
    }
  }
  console.log(
    `\nloaderkit's bus end to end (redis-server on :${server.port}, 2 instances per client, ${ROUNDS} rounds, medians)`,
  );
  console.log(
    `  ${'client'.padEnd(12)}${'invalidate → applied on B, ms p50'.padEnd(36)}${'p99'.padEnd(8)}${`PUBLISH per ${BURST} calls in one tick`.padEnd(40)}${'messages B got'.padEnd(16)}invalidateScope resolves, ms p50`,
  );
  for (const { kind } of pairs) {
    const r = results.get(kind.name)!;
    console.log(
      `  ${kind.name.padEnd(12)}${median(r.p50).toFixed(3).padEnd(36)}${median(r.p99).toFixed(3).padEnd(8)}${String(median(r.publishes)).padEnd(40)}${String(median(r.received)).padEnd(16)}${median(r.scope).toFixed(3)}`,
    );
  }
} finally {
  for (const { a, b } of pairs) {
    await a.close();
    await b.close();
  }
  for (const client of clients) await client.close();
  await server.close();
}
console.log(
  `\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; load average at start ${startLoad}, at end ${loadavg()[0]!.toFixed(2)}`,
);
