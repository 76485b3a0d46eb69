/**
 * A slow, dead or lying Redis never fails or hangs a load (issue #11, §2). Each test starts its own
 * redis-server and breaks it for real while requests keep loading: SIGKILL and a 10 s outage, SIGSTOP,
 * a restart on the same port, CLIENT KILL of our connection, maxmemory, foreign values at our keys.
 * Both client libraries, with their defaults (offline queue and retries on). The figures asserted: no
 * load fails or is answered wrongly; every load settles within the deadline plus the source's time (plus
 * an allowance for a busy 2-core machine); nothing piles up during an outage; hits come back within a
 * bound once Redis is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type CreateLoaders, createMemoryStore, defineLoaders } from '../../../src/index.js';
import { createRedisStore } from '../../../src/redis.js';
import { retainedHeap } from '../../helpers.js';
import { FAULT_CLIENTS, startRedis, traffic, untilRemoteHits } from '../../redis.js';

const TIMEOUT_MS = 50;
const SOURCE_MS = 5;
/** What a busy machine may add to a load beyond deadline + source time (timers, GC, other test files). */
const ALLOWANCE_MS = 250;
const COOLDOWN_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Row {
  readonly id: number;
  readonly name: string;
  readonly pad?: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  kind: (typeof FAULT_CLIENTS)[number],
  serverArgs: readonly string[] = [],
  /** Bytes of padding in every value. */
  padBytes = 0,
) {
  const pad = 'x'.repeat(padBytes);
  const server = await startRedis(serverArgs);
  cleanups.push(() => server.close());
  const client = await kind.connect(server.port);
  cleanups.push(() => client.close());
  let sourceCalls = 0;
  const errors: Error[] = [];
  const createLoaders = defineLoaders(
    {
      users: {
        batch: async (ids: readonly number[], _ctx: object) => {
          sourceCalls++;
          await sleep(SOURCE_MS);
          return ids.map(
            (id): Row => (padBytes === 0 ? { id, name: `user ${id}` } : { id, name: `user ${id}`, pad }),
          );
        },
        // Every request reads Redis: the in-process tier keeps a single entry.
        shared: { scope: 'global', ttl: 60_000 },
      },
    },
    {
      store: createMemoryStore({ maxEntries: 1 }),
      remote: createRedisStore({ client: client.client }),
      remoteOptions: { timeoutMs: TIMEOUT_MS, breakerCooldownMs: COOLDOWN_MS },
      onError: (error) => errors.push(error),
    },
  );
  cleanups.push(() => createLoaders.close());
  return { server, client, createLoaders, errors, sourceCalls: () => sourceCalls };
}

const BOUND_MS = TIMEOUT_MS + SOURCE_MS + ALLOWANCE_MS;
/** Reconnect (the test clients retry within 200 ms) + breaker cooldown + a load that probes. */
const RECOVERY_MS = 200 + COOLDOWN_MS + 1500;

describe.each(FAULT_CLIENTS)('Redis faults over $name', (kind) => {
  it('SIGKILL mid-load, a 10 s outage under load, restart on the same port: 0 failed loads, flat heap and queues, hits again', async () => {
    const { server, createLoaders } = await setup(kind);
    const load = traffic(createLoaders);
    await untilRemoteHits(createLoaders, 2000);
    await server.kill();
    await sleep(2000);
    const heapEarly = await retainedHeap();
    const early = createLoaders.stats().remote!;
    await sleep(8000);
    const heapLate = await retainedHeap();
    const late = createLoaders.stats().remote!;
    // Nothing piles up: nothing is sent while the connection is down (only what was on the wire at the
    // kill is held), write-backs bounded, heap flat between 2 s and 10 s of outage.
    expect(late.abandoned).toBeLessThanOrEqual(early.abandoned);
    expect(late.abandoned).toBeLessThanOrEqual(16);
    // The probes of the outage failed at once (not ready: not sent), none waited out its deadline in the
    // client's offline queue.
    expect(late.timeouts).toBe(early.timeouts);
    expect(late.pendingWrites).toBeLessThanOrEqual(64);
    expect(heapLate - heapEarly).toBeLessThan(8 * 1024 * 1024);
    // The breaker skipped most calls: at most one probe per cooldown was made during the outage.
    expect(late.calls - early.calls).toBeLessThanOrEqual(8000 / COOLDOWN_MS + 2);
    expect(late.skipped).toBeGreaterThan(early.skipped);
    await server.restart();
    const recovery = await untilRemoteHits(createLoaders, RECOVERY_MS);
    const figures = await load.stop();
    expect(figures.loads).toBeGreaterThan(10_000);
    expect({ failed: figures.failed, wrong: figures.wrong }).toEqual({ failed: 0, wrong: 0 });
    expect(figures.slowest).toBeLessThan(BOUND_MS);
    expect(recovery).toBeLessThan(RECOVERY_MS);
  }, 30_000);

  it('SIGSTOP for 2 s then SIGCONT: loads settle within the deadline meanwhile, hits again after', async () => {
    const { server, createLoaders } = await setup(kind);
    const load = traffic(createLoaders);
    await untilRemoteHits(createLoaders, 2000);
    load.resetSlowest();
    server.pause();
    await sleep(2000);
    const paused = createLoaders.stats().remote!;
    expect(paused.timeouts).toBeGreaterThan(0);
    expect(paused.inFlight).toBeLessThanOrEqual(64);
    server.resume();
    const recovery = await untilRemoteHits(createLoaders, RECOVERY_MS);
    const figures = await load.stop();
    expect({ failed: figures.failed, wrong: figures.wrong }).toEqual({ failed: 0, wrong: 0 });
    expect(figures.slowest).toBeLessThan(BOUND_MS);
    expect(recovery).toBeLessThan(RECOVERY_MS);
    // Once Redis answers again, the calls it held settle.
    await sleep(200);
    expect(createLoaders.stats().remote!.abandoned).toBe(0);
  }, 20_000);

  it('CLIENT KILL of our connection: no load fails, the client reconnects, hits again', async () => {
    const { server, createLoaders } = await setup(kind);
    const load = traffic(createLoaders);
    await untilRemoteHits(createLoaders, 2000);
    expect(
      Number(await server.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')),
    ).toBeGreaterThanOrEqual(1);
    await sleep(300);
    const recovery = await untilRemoteHits(createLoaders, RECOVERY_MS);
    const figures = await load.stop();
    expect({ failed: figures.failed, wrong: figures.wrong }).toEqual({ failed: 0, wrong: 0 });
    expect(figures.slowest).toBeLessThan(BOUND_MS);
    expect(recovery).toBeLessThan(RECOVERY_MS);
  }, 20_000);

  it('maxmemory with allkeys-lru: Redis drops entries silently; every load still answers right', async () => {
    const { server, createLoaders, sourceCalls, errors } = await setup(
      kind,
      ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru'],
      5000,
    );
    const big = defineBig(createLoaders);
    // 1000 values of 5 KB into 2 MB: Redis keeps the latest ~190 or so.
    for (let from = 0; from < 1000; from += 100) {
      const ids = Array.from({ length: 100 }, (_, i) => from + i);
      expect((await big(ids)).map((row) => row.id)).toEqual(ids);
      await writesLanded(createLoaders);
    }
    expect(Number((await server.cli('INFO', 'stats')).match(/evicted_keys:(\d+)/)![1])).toBeGreaterThan(500);
    expect(sourceCalls()).toBe(10);
    // Read again, latest first: those are hits, the evicted ones are loaded again; every answer is right.
    for (let from = 900; from >= 0; from -= 100) {
      const ids = Array.from({ length: 100 }, (_, i) => from + i);
      expect((await big(ids)).map((row) => row.id)).toEqual(ids);
    }
    // (How many are hits is up to Redis: its LRU clock ticks in seconds, so it may also evict the scope's
    // generation token, and then every entry of the scope reads as a miss — never as a stale value.)
    const users = createLoaders.stats().loaders.users!;
    expect(errors).toEqual([]);
    expect(users.remoteHits).toBeLessThan(400);
    expect(users.misses + users.sharedHits).toBe(2000);
    expect(sourceCalls()).toBeLessThanOrEqual(20);
    expect(createLoaders.stats().remote!).toMatchObject({ garbage: 0, failures: 0 });
  }, 20_000);

  it('maxmemory with noeviction: write-backs fail (counted), loads do not; invalidate still drops the entry', async () => {
    const setupCalls = await setup(kind, ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'], 5000);
    const { createLoaders } = setupCalls;
    const big = defineBig(createLoaders);
    for (let from = 0; from < 1000; from += 100) {
      const ids = Array.from({ length: 100 }, (_, i) => from + i);
      expect((await big(ids)).map((row) => row.id)).toEqual(ids);
      await writesLanded(createLoaders); // the write-back fails before the next batch
    }
    const remote = createLoaders.stats().remote!;
    expect(remote.failures).toBeGreaterThan(0);
    expect(remote.timeouts).toBe(0);
    // Out of memory, an invalidation's marker cannot be written, but a DEL can: the entry still goes.
    const { sourceCalls } = setupCalls;
    await big([0, 1]); // in Redis from the first batch: answered from there
    const before = sourceCalls();
    await big([0]);
    expect(sourceCalls()).toBe(before);
    await setupCalls.server.cli('CONFIG', 'SET', 'maxmemory', '1mb'); // now over it: every write refused
    await createLoaders.invalidate('users', [0], {});
    await big([0]);
    expect(sourceCalls()).toBe(before + 1);
  }, 20_000);

  it('foreign values at our keys (a hash, a list, a garbage string, bytes that are not UTF-8) are misses, counted where readable, then replaced', async () => {
    const { server, createLoaders, sourceCalls } = await setup(kind);
    const loaders = () => createLoaders({}) as unknown as { users: { load(id: number): Promise<Row> } };
    await Promise.all([1, 2, 3, 4].map((id) => loaders().users.load(id)));
    await sleep(100);
    // (Not the invalidation bus's presence keys, under its channel's name.)
    const keys = (await server.cli('--scan', '--pattern', '*'))
      .split('\n')
      .filter((key) => key.length > 0 && !key.startsWith('{loaderkit:invalidate}:'));
    // Our four entries and the scope's generation token.
    expect(keys).toHaveLength(5);
    const values = await Promise.all(keys.map((key) => server.cli('GET', key)));
    const entries = keys.filter((_, i) => values[i]!.startsWith('lk1'));
    expect(entries).toHaveLength(4);
    await server.cli('DEL', entries[0]!);
    await server.cli('HSET', entries[0]!, 'id', '1');
    await server.cli('DEL', entries[1]!);
    await server.cli('RPUSH', entries[1]!, 'x');
    await server.cli('SET', entries[2]!, '{"id":3,"name":"mallory"}');
    // Clients read these bytes with replacement characters, so they cannot be sent back to compare.
    await server.cli(
      'EVAL',
      "redis.call('SET', KEYS[1], string.char(255, 254, 108, 107)) return 1",
      '1',
      entries[3]!,
    );
    await loaders().users.load(99); // takes the in-process tier's one place: 1, 2 and 3 are read from Redis
    const before = sourceCalls();
    const garbageBefore = createLoaders.stats().remote!.garbage;
    const fencedBefore = createLoaders.stats().remote!.writesFenced;
    const rows = await Promise.all([1, 2, 3, 4].map((id) => loaders().users.load(id)));
    expect(rows).toEqual([1, 2, 3, 4].map((id) => ({ id, name: `user ${id}` })));
    expect(sourceCalls() - before).toBe(4);
    // MGET answers nil for a hash or a list (not counted: indistinguishable from absent); the strings are ours to refuse.
    expect(createLoaders.stats().remote!.garbage - garbageBefore).toBe(2);
    await sleep(100);
    for (const key of entries) expect(await server.cli('TYPE', key)).toBe('string');
    for (const key of entries) expect(await server.cli('GET', key)).toMatch(/^lk1:/);
    expect(createLoaders.stats().remote!.writesFenced - fencedBefore).toBe(0);
    expect(createLoaders.stats().remote!.failures).toBe(0);
  });
});

/** Waits until no write-back is in the air. */
async function writesLanded(createLoaders: CreateLoaders<any>): Promise<void> {
  while (createLoaders.stats().remote!.pendingWrites > 0) await sleep(5);
}

/** Loads a batch of keys in one request. */
function defineBig(createLoaders: CreateLoaders<any>) {
  return async (ids: number[]) => {
    const loaders = createLoaders({}) as unknown as { users: { load(id: number): Promise<Row> } };
    return Promise.all(ids.map((id) => loaders.users.load(id)));
  };
}
