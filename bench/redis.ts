/**
 * `npm run bench:redis`: loaderkit's Redis tier side by side with bentocache (L1 memory + L2 Redis) and
 * layered-loader (InMemoryCache + RedisCache), in one run against one private redis-server, in
 * 100-key batches. Three scenarios:
 *   L1 hit  keys in the library's in-process tier (a long-lived instance, warmed; a new loaderkit
 *           request per batch, so the request memo never answers)
 *   L2 hit  keys in Redis but not in process: a fresh instance (empty in-process tier) per round over the
 *           same Redis keys, made before the clock starts; every batch of a round takes other keys
 *   miss    keys never loaded (fresh ids per batch); the source is an in-memory function, so this is
 *           the library's + Redis's cost of a miss incl. the write-back. loaderkit writes back behind the
 *           load: the round's clock stops when its write-backs have landed (pendingWrites = 0)
 * Libraries: loaderkit over node-redis 6 and over ioredis 5 (`load` per key, one request per batch),
 * bentocache (`getOrSet` per key; 1.6 has no getMany), layered-loader (`getMany` with a many-keys data
 * source), and a floor (below: the least a loader with dataloader's contract does over a Map and one
 * MGET, for scale). Timings run on direct connections; the counting pass runs a twin of every library (same
 * keys in Redis) whose clients talk through a TCP proxy that counts round trips, in a child process; Redis commands per batch come
 * from INFO commandstats, key hits/misses from INFO stats (both in a counting pass of a few batches, one
 * at a time). Timings: interleaved rounds, in an order shuffled every round (seeded: the same each run), each about BENCH_REDIS_TARGET_MS (default
 * 80) of batches, median of BENCH_REDIS_ROUNDS (default 17) rounds; ratios are medians of per-round
 * ratios. No forced GC between rounds unless BENCH_REDIS_GC=1: a forced full GC makes V8 drop optimized
 * code (deopts for "weak objects"), so every library would recompile its hot path on the clock, a cost
 * no server pays (measured: loaderkit's L2 hit 5.8 → 8.4 µs/key with it, the extra CPU being TurboFan
 * recompiling). What one library leaves behind (a closed instance's in-process tier) is collected in
 * whichever round follows: the shuffled order gives every library every predecessor, and medians keep
 * such rounds from deciding a figure (a fixed rotation would give each library the same predecessor).
 * All libraries: TTL 10 min (nothing expires during the run), in-process tier 20,000 entries,
 * the same ~200-byte user row.
 */
import { loadavg } from 'node:os';
import { setImmediate as tick } from 'node:timers/promises';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import type { Redis } from 'ioredis';
import { Loader, RedisCache } from 'layered-loader';
import type * as LoaderkitRedis from '../src/redis.js';
import { CLIENTS, startRedis, type TestClient } from '../test/redis.js';
import { FloorLoader } from './floor.js';
import { kit } from './kit.js';
import { startProxyProcess } from './proxy-process.js';
import { BATCH, block, freshBlock, row, type User } from './rows.js';

const { defineLoaders, createMemoryStore } = kit;
const { createRedisStore } = (await import(
  new URL('../dist/redis.js', import.meta.url).href
)) as typeof LoaderkitRedis;

const ROUNDS = Number(process.env.BENCH_REDIS_ROUNDS ?? 17);
const TARGET_MS = Number(process.env.BENCH_REDIS_TARGET_MS ?? 80);
const TTL = 600_000;
const L1_SIZE = 20_000;
/** The L1-hit key set: blocks 0..L1_BLOCKS-1 (2,000 keys). */
const L1_BLOCKS = 20;
/** Blocks written to Redis up front for L2 hits (15,000 keys per library): at most this many batches a round. */
const L2_BLOCKS = 150;
/** Batches of the counting pass (round trips, commands, key hits per batch). */
const COUNT_BATCHES = 5;

/** One instance of a library: its in-process tier over the shared Redis. */
interface Instance {
  batch(ids: readonly number[]): Promise<readonly User[]>;
  /** Resolves when the write-backs behind earlier batches have landed. */
  drain(): Promise<void>;
  /** Library-native counters since the last call, when the library has any (else null). */
  native(): string | null;
  close(): Promise<void>;
}
interface Lib {
  readonly name: string;
  readonly api: string;
  /** Keys asked of the source (all instances). */
  sourceKeys: number;
  /** A new instance with an empty in-process tier. */
  fresh(): Instance;
  /** The long-lived instance (L1 hits, misses), and the one that wrote the L2 pool. */
  warm: Instance;
  /** Pattern of its Redis keys, for the key count. */
  readonly pattern: string;
  /** Releases what the library holds beyond its instances (at the end). */
  end?: () => Promise<void>;
}

// --- Redis, the proxy, the clients ------------------------------------------------------------------

const server = await startRedis();
const proxy = await startProxyProcess(server.port);
const clients: TestClient[] = [];
const connect = async (kind: 'redis 6' | 'ioredis 5', port: number) => {
  const client = await CLIENTS.find((c) => c.name === kind)!.connect(port);
  clients.push(client);
  return client.client;
};
/** The clients of one set of libraries: straight to Redis (timed), or through the proxy (counted). */
interface Connections {
  readonly nodeRedis: unknown;
  readonly ioLoaderkit: unknown;
  readonly ioBento: Redis;
  readonly ioLayered: Redis;
  readonly ioFloor: Redis;
}
const connections = async (port: number): Promise<Connections> => ({
  nodeRedis: await connect('redis 6', port),
  ioLoaderkit: await connect('ioredis 5', port),
  ioBento: (await connect('ioredis 5', port)) as Redis,
  ioLayered: (await connect('ioredis 5', port)) as Redis,
  ioFloor: (await connect('ioredis 5', port)) as Redis,
});

// --- loaderkit --------------------------------------------------------------------------------------

function loaderkitLib(name: string, client: unknown, prefix: string): Lib {
  // One instance, as the other libraries here: no invalidation bus (its heartbeats would also show in
  // the round trips counted through the proxy). npm run bench:bus measures the bus.
  const remote = createRedisStore({ client, invalidation: false });
  const lib: Lib = {
    name,
    api: 'defineLoaders({ users: { batch, shared: { scope: global, ttl } } }, { remote: createRedisStore({ client, invalidation: false }), store: createMemoryStore({ maxEntries }), prefix }); per batch createLoaders({}) + Promise.all(ids.map(load))',
    sourceKeys: 0,
    pattern: `*${prefix}*`,
    fresh: () => {
      const createLoaders = defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[]) => {
              lib.sourceKeys += ids.length;
              return ids.map(row);
            },
            shared: { scope: 'global', ttl: TTL },
          },
        },
        // The proxy runs in this busy process, so its forwarding waits for the event loop: a deadline
        // well above that keeps loaderkit from going to the source (the others have no deadline at all).
        {
          remote,
          remoteOptions: { timeoutMs: 1000 },
          store: createMemoryStore({ maxEntries: L1_SIZE }),
          prefix,
        },
      );
      let last = createLoaders.stats().loaders.users;
      return {
        batch: (ids) => {
          const loaders = createLoaders({});
          return Promise.all(ids.map((id) => loaders.users.load(id))) as Promise<User[]>;
        },
        async drain() {
          while ((createLoaders.stats().remote?.pendingWrites ?? 0) > 0) await tick();
        },
        native() {
          const now = createLoaders.stats();
          const s = now.loaders.users;
          const d = (k: 'sharedHits' | 'remoteHits' | 'misses' | 'writes') => s[k] - last[k];
          const text = `L1 ${d('sharedHits') - d('remoteHits')} L2 ${d('remoteHits')} miss ${d('misses')} wr ${d('writes')}`;
          last = s;
          const r = now.remote!;
          if (r.failures + r.timeouts + r.skipped + r.writesDropped > 0)
            throw new Error(`${name}: remote tier failures ${JSON.stringify(r)}`);
          return text;
        },
        close: () => createLoaders.close(),
      };
    },
    warm: undefined as unknown as Instance,
    end: () => remote.close?.() ?? Promise.resolve(),
  };
  lib.warm = lib.fresh();
  return lib;
}

// --- bentocache -------------------------------------------------------------------------------------

function bentocacheLib(ioBento: Redis): Lib {
  const lib: Lib = {
    name: 'bentocache',
    api: "new BentoCache({ prefix, ttl, stores: { users: bentostore().useL1Layer(memoryDriver({ maxItems, serialize: false })).useL2Layer(redisDriver({ connection: ioredis })) } }); per batch Promise.all(ids.map(id => bento.getOrSet({ key: 'user:' + id, factory })))",
    sourceKeys: 0,
    pattern: 'bench-bento*',
    fresh: () => {
      const bento = new BentoCache({
        default: 'users',
        prefix: 'bench-bento',
        ttl: TTL,
        stores: {
          users: bentostore()
            .useL1Layer(memoryDriver({ maxItems: L1_SIZE, serialize: false }))
            .useL2Layer(redisDriver({ connection: ioBento })),
        },
      });
      const counts = { l1: 0, l2: 0, miss: 0 };
      const onHit = (e: { layer: string }) => void (e.layer === 'l2' ? counts.l2++ : counts.l1++);
      const onMiss = () => void counts.miss++;
      let counting = false;
      return {
        batch: (ids) =>
          Promise.all(
            ids.map((id) =>
              bento.getOrSet({
                key: `user:${id}`,
                factory: () => {
                  lib.sourceKeys++;
                  return row(id);
                },
              }),
            ),
          ),
        drain: async () => {},
        native() {
          // Listeners only for the counting pass: none while timed.
          if (!counting) {
            bento.on('cache:hit', onHit);
            bento.on('cache:miss', onMiss);
            counting = true;
            return null;
          }
          bento.off('cache:hit', onHit);
          bento.off('cache:miss', onMiss);
          counting = false;
          const text = `L1 ${counts.l1} L2 ${counts.l2} miss ${counts.miss}`;
          counts.l1 = counts.l2 = counts.miss = 0;
          return text;
        },
        // bento.disconnect() would quit the shared ioredis connection: closed at the end instead.
        close: async () => {},
      };
    },
    warm: undefined as unknown as Instance,
  };
  lib.warm = lib.fresh();
  return lib;
}

// --- layered-loader ---------------------------------------------------------------------------------

function layeredLoaderLib(ioLayered: Redis): Lib {
  const lib: Lib = {
    name: 'layered-loader',
    api: "new Loader({ inMemoryCache: { cacheType: 'lru-map', ttlInMsecs, maxItems }, asyncCache: new RedisCache(ioredis, { json: true, prefix, ttlInMsecs }), dataSourceGetManyFn, cacheKeyFromValueResolver }); per batch loader.getMany(ids.map(String))",
    sourceKeys: 0,
    pattern: 'bench-ll:*',
    fresh: () => {
      const loader = new Loader<User>({
        inMemoryCache: { cacheType: 'lru-map', ttlInMsecs: TTL, maxItems: L1_SIZE },
        asyncCache: new RedisCache<User>(ioLayered, { json: true, prefix: 'bench-ll', ttlInMsecs: TTL }),
        dataSourceGetManyFn: async (keys: string[]) => {
          lib.sourceKeys += keys.length;
          return keys.map((key) => row(Number(key)));
        },
        cacheKeyFromValueResolver: (user: User) => String(user.id),
      });
      return {
        batch: (ids) => loader.getMany(ids.map(String)) as Promise<User[]>,
        drain: async () => {},
        native: () => null,
        close: async () => {},
      };
    },
    warm: undefined as unknown as Instance,
  };
  lib.warm = lib.fresh();
  return lib;
}

// --- the floor --------------------------------------------------------------------------------------

/**
 * The least a loader with dataloader's contract can do over an in-process tier and Redis: the floor
 * loader of `npm run bench` (a Map memo, one promise per key) per request, over a Map shared by the
 * requests of an instance (bounded at the same 20,000 entries, oldest first: no LRU, no lifetimes), one MGET for the keys not in it (values
 * JSON.parse'd, no envelope, no checks), the source for the rest and one pipeline of SET PX behind the
 * batch. No scopes, generations, fences, single-flight, deadline or breaker. What it costs is what any
 * such library pays to the client, Redis and JSON; the ratio bentocache / floor bounds what any of them
 * can show against bentocache here.
 */
function floorLib(io: Redis): Lib {
  const lib: Lib = {
    name: 'floor (ioredis 5)',
    api: 'per request new FloorLoader(batch) (bench/floor.ts); batch: lookups in a Map of at most maxItems (oldest out first), io.mget(...missing), JSON.parse each, source for the rest + pipeline SET PX behind; per batch Promise.all(ids.map(load))',
    sourceKeys: 0,
    pattern: 'bench-floor:*',
    fresh: () => {
      // Bounded like the others' in-process tiers (L1_SIZE), oldest out first: a queue of the ids in the
      // order they came (a Map's own first key is slow to find after many deletes at its front).
      const l1 = new Map<number, User>();
      let order: number[] = [];
      let head = 0;
      const keep = (id: number, value: User) => {
        if (!l1.has(id)) order.push(id);
        l1.set(id, value);
        if (l1.size <= L1_SIZE) return;
        l1.delete(order[head++]!);
        if (head >= L1_SIZE) {
          order = order.slice(head);
          head = 0;
        }
      };
      let writing = 0;
      const batchFn = async (ids: number[]): Promise<User[]> => {
        const out = new Array<User>(ids.length);
        const missing: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          const hit = l1.get(ids[i]!);
          if (hit === undefined) missing.push(i);
          else out[i] = hit;
        }
        if (missing.length === 0) return out;
        const texts = await io.mget(...missing.map((i) => `bench-floor:${ids[i]}`));
        const load: number[] = [];
        for (let m = 0; m < missing.length; m++) {
          const text = texts[m];
          const i = missing[m]!;
          if (text == null) {
            load.push(i);
            continue;
          }
          const value = JSON.parse(text) as User;
          out[i] = value;
          keep(ids[i]!, value);
        }
        if (load.length > 0) {
          lib.sourceKeys += load.length;
          const pipeline = io.pipeline();
          for (const i of load) {
            const value = row(ids[i]!);
            out[i] = value;
            keep(ids[i]!, value);
            pipeline.set(`bench-floor:${ids[i]}`, JSON.stringify(value), 'PX', TTL);
          }
          writing++;
          void pipeline.exec().finally(() => void writing--);
        }
        return out;
      };
      return {
        batch: (ids) => {
          const loader = new FloorLoader<number, User>(batchFn);
          return Promise.all(ids.map((id) => loader.load(id)));
        },
        async drain() {
          while (writing > 0) await tick();
        },
        native: () => null,
        close: async () => {},
      };
    },
    warm: undefined as unknown as Instance,
  };
  lib.warm = lib.fresh();
  return lib;
}

const librariesOver = (c: Connections): Lib[] => [
  loaderkitLib('loaderkit (node-redis 6)', c.nodeRedis, 'bench-lk-nr'),
  loaderkitLib('loaderkit (ioredis 5)', c.ioLoaderkit, 'bench-lk-io'),
  bentocacheLib(c.ioBento),
  layeredLoaderLib(c.ioLayered),
  floorLib(c.ioFloor),
];
/** Timed: straight to Redis, as in production. */
const libs: Lib[] = librariesOver(await connections(server.port));
/** The same libraries (same keys in Redis) through the proxy: the counting pass runs these. */
const counting = librariesOver(await connections(proxy.port));
const twinOf = new Map<Lib, Lib>(libs.map((lib, i) => [lib, counting[i]!]));
const BASE = libs[0]!;

// --- helpers ----------------------------------------------------------------------------------------

const FORCED_GC = process.env.BENCH_REDIS_GC === '1';
/** A seeded PRNG (mulberry32): the shuffled round orders are the same in every run. */
let seed = 0x9e3779b9;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
/** A copy of `items` in a random order (Fisher–Yates). */
const shuffled = <T>(items: readonly T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};
const gc = (FORCED_GC && (globalThis as { gc?: () => void }).gc) || (() => {});
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const checkRows = (lib: Lib, ids: readonly number[], rows: readonly User[]) => {
  const got = new Set(rows.map((r) => r?.id));
  if (rows.length !== ids.length || ids.some((id) => !got.has(id)))
    throw new Error(`${lib.name}: a batch answered wrong rows`);
};
async function keyspace(): Promise<{ hits: number; misses: number }> {
  const info = await server.cli('INFO', 'stats');
  const read = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { hits: read('keyspace_hits'), misses: read('keyspace_misses') };
}

/**
 * A fresh instance (empty in-process tier) after one untimed load of key 0 (in Redis, in no block), so
 * what a library makes lazily on first use is not on the clock.
 */
async function warmedFresh(lib: Lib): Promise<Instance> {
  const instance = lib.fresh();
  checkRows(lib, [0], await instance.batch([0]));
  return instance;
}

type ScenarioName = 'L1 hit' | 'L2 hit' | 'miss';
interface Scenario {
  readonly name: ScenarioName;
  /** Runs `batches` batches of one round; returns ms on the clock. */
  round(lib: Lib, batches: number): Promise<number>;
  readonly maxBatches: number;
  readonly expectSourceKeys: (batches: number) => number;
}

const scenarios: Scenario[] = [
  {
    name: 'L1 hit',
    maxBatches: 5000,
    expectSourceKeys: () => 0,
    async round(lib, batches) {
      const start = performance.now();
      for (let i = 0; i < batches; i++) await lib.warm.batch(block(i % L1_BLOCKS));
      return performance.now() - start;
    },
  },
  {
    name: 'L2 hit',
    maxBatches: L2_BLOCKS,
    expectSourceKeys: () => 0,
    async round(lib, batches) {
      const instance = await warmedFresh(lib); // not timed
      gc();
      const start = performance.now();
      for (let i = 0; i < batches; i++) await instance.batch(block(i));
      const ms = performance.now() - start;
      await instance.drain();
      await instance.close();
      return ms;
    },
  },
  {
    name: 'miss',
    maxBatches: 5000,
    expectSourceKeys: (batches) => batches * BATCH,
    async round(lib, batches) {
      const start = performance.now();
      for (let i = 0; i < batches; i++) await lib.warm.batch(freshBlock());
      await lib.warm.drain();
      return performance.now() - start;
    },
  },
];

interface Counted {
  roundTrips: number;
  commands: string;
  keyHits: number;
  keyMisses: number;
  sourceKeys: number;
  native: string | null;
}

/** The counting pass: COUNT_BATCHES batches one at a time (write-backs landed between them). */
async function count(scenario: Scenario, timed: Lib): Promise<Counted> {
  const lib = twinOf.get(timed)!;
  const instance = scenario.name === 'L2 hit' ? await warmedFresh(lib) : lib.warm;
  // L1 hits: keys the twin loaded itself first (its miss path fills its in-process tier), uncounted.
  // (Filling it from Redis instead trips bentocache 1.6: with serialize: false, an L1 entry filled from
  // L2 fails when read back.)
  const own = scenario.name === 'L1 hit' ? Array.from({ length: COUNT_BATCHES }, () => freshBlock()) : [];
  for (const keys of own) checkRows(lib, keys, await instance.batch(keys));
  const ids = (i: number) =>
    scenario.name === 'L1 hit' ? own[i]! : scenario.name === 'miss' ? freshBlock() : block(i);
  await instance.drain();
  instance.native(); // reset (bentocache: starts listening)
  await server.resetStats();
  await proxy.reset();
  const source = lib.sourceKeys;
  for (let i = 0; i < COUNT_BATCHES; i++) {
    const keys = ids(i);
    checkRows(lib, keys, await instance.batch(keys));
    await instance.drain();
  }
  const roundTrips = (await proxy.roundTrips()) / COUNT_BATCHES;
  const sourceKeys = (lib.sourceKeys - source) / COUNT_BATCHES;
  const native = instance.native();
  const commands = await server.commandCounts();
  const ks = await keyspace();
  if (scenario.name === 'L2 hit') await instance.close();
  const per = (n: number) => Number((n / COUNT_BATCHES).toFixed(2));
  return {
    roundTrips,
    commands:
      Object.entries(commands)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${per(n)}`)
        .join(', ') || '-',
    keyHits: per(ks.hits),
    keyMisses: per(ks.misses),
    sourceKeys,
    native: native?.replace(/(?<= )\d+/g, (n) => String(per(Number(n)))) ?? null,
  };
}

// --- the run ----------------------------------------------------------------------------------------

const started = performance.now();
const startLoad = loadavg()[0]!.toFixed(2);
console.log(
  `redis-server ${await server.cli('INFO', 'server').then((s) => /redis_version:(\S+)/.exec(s)?.[1])} on :${server.port}, timed on direct connections, round trips counted through a proxy; Node ${process.version}; forced GC between rounds: ${FORCED_GC ? 'on' : 'off (BENCH_REDIS_GC=1 for on)'}`,
);
console.log(
  `${BATCH}-key batches; value: ${JSON.stringify(row(1)).length}-byte JSON user row; TTL ${TTL / 60_000} min, in-process tier ${L1_SIZE} entries for every library`,
);

// The L2 pool: key 0 and blocks 0..L2_BLOCKS-1 (ids 1..15,000) written through each library's own
// miss path (its own format).
for (const lib of libs) {
  checkRows(lib, [0], await lib.warm.batch([0]));
  for (let b = 0; b < L2_BLOCKS; b++) {
    const ids = block(b);
    checkRows(lib, ids, await lib.warm.batch(ids));
  }
  await lib.warm.drain();
  if (lib.sourceKeys !== L2_BLOCKS * BATCH + 1)
    throw new Error(`${lib.name}: pool not loaded from the source`);
}
console.log('\nL2 tier receives values (Redis keys per library after writing the pool of 15,001):');
for (const lib of libs) {
  const keys = Number(await server.cli('EVAL', "return #redis.call('KEYS', ARGV[1])", '0', lib.pattern));
  const sample = (await server.cli('EVAL', "return redis.call('KEYS', ARGV[1])[1]", '0', lib.pattern)).trim();
  const bytes = await server.cli('STRLEN', sample);
  console.log(`  ${lib.name.padEnd(26)} ${String(keys).padStart(6)} keys   e.g. ${sample} (${bytes} bytes)`);
  if (keys < L2_BLOCKS * BATCH + 1) throw new Error(`${lib.name}: its L2 tier did not receive the values`);
}

interface Result {
  scenario: Scenario;
  counted: Map<Lib, Counted>;
  batches: Map<Lib, number>;
  usPerKey: Map<Lib, number>;
  ratio: Map<Lib, number>;
}
const results: Result[] = [];

for (const scenario of scenarios) {
  const batches = new Map<Lib, number>();
  const counted = new Map<Lib, Counted>();
  for (const lib of libs) {
    // Warm-up and calibration: ~TARGET_MS of batches per round.
    await scenario.round(lib, 5);
    let ms = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) ms = Math.min(ms, await scenario.round(lib, 10));
    batches.set(lib, Math.max(5, Math.min(scenario.maxBatches, Math.round((TARGET_MS / ms) * 10))));
    counted.set(lib, await count(scenario, lib));
  }
  const samples = new Map<Lib, number[]>(libs.map((lib) => [lib, []]));
  const ratios = new Map<Lib, number[]>(libs.map((lib) => [lib, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = shuffled(libs);
    const perKey = new Map<Lib, number>();
    for (const lib of order) {
      const n = batches.get(lib)!;
      const source = lib.sourceKeys;
      gc();
      const ms = await scenario.round(lib, n);
      if (lib.sourceKeys - source !== scenario.expectSourceKeys(n))
        throw new Error(
          `${lib.name}, ${scenario.name}: ${lib.sourceKeys - source} source keys in a round, expected ${scenario.expectSourceKeys(n)}`,
        );
      perKey.set(lib, (ms * 1000) / (n * BATCH));
    }
    for (const lib of libs) {
      samples.get(lib)!.push(perKey.get(lib)!);
      ratios.get(lib)!.push(perKey.get(lib)! / perKey.get(BASE)!);
    }
  }
  results.push({
    scenario,
    counted,
    batches,
    usPerKey: new Map(libs.map((lib) => [lib, median(samples.get(lib)!)])),
    ratio: new Map(libs.map((lib) => [lib, median(ratios.get(lib)!)])),
  });
}

// --- report -----------------------------------------------------------------------------------------

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
for (const { scenario, counted, batches, usPerKey, ratio } of results) {
  console.log(
    `\n${scenario.name}: µs per key (median of ${ROUNDS} rounds), × = lib / ${BASE.name} (median of per-round ratios); counts per ${BATCH}-key batch`,
  );
  console.log(
    `  ${pad('library', 26)}${lpad('µs/key', 8)}${lpad('µs/batch', 10)}${lpad('×', 7)}${lpad('batches', 9)}${lpad('RT', 6)}  ${pad('Redis commands', 34)}${pad('key hit/miss', 14)}${pad('source', 8)}counters`,
  );
  for (const lib of libs) {
    const c = counted.get(lib)!;
    const us = usPerKey.get(lib)!;
    console.log(
      `  ${pad(lib.name, 26)}${lpad(us.toFixed(2), 8)}${lpad((us * BATCH).toFixed(0), 10)}${lpad(ratio.get(lib)!.toFixed(2), 7)}${lpad(String(batches.get(lib)), 9)}${lpad(String(c.roundTrips), 6)}  ${pad(c.commands, 34)}${pad(`${c.keyHits}/${c.keyMisses}`, 14)}${pad(String(c.sourceKeys), 8)}${c.native ?? '-'}`,
    );
  }
}

const get = (name: ScenarioName) => results.find((r) => r.scenario.name === name)!;
const l2 = get('L2 hit');
const bento = libs[2]!;
const layered = libs[3]!;
const floor = libs[4]!;
console.log('\ngoals');
console.log(
  `  ${pad(floor.name, 26)} bentocache / floor ${(l2.usPerKey.get(bento)! / l2.usPerKey.get(floor)!).toFixed(1)}× (a bare loader with dataloader's contract over a Map and one MGET: the headroom any such library has here)`,
);
for (const lk of [libs[0]!, libs[1]!]) {
  const rt = l2.counted.get(lk)!.roundTrips;
  const x = l2.usPerKey.get(bento)! / l2.usPerKey.get(lk)!;
  console.log(
    `  ${pad(lk.name, 26)} L2-hit batch: ${rt} round trip(s) ${rt === 1 ? 'ok' : 'FAIL (want 1)'}; bentocache / loaderkit ${x.toFixed(1)}× (ratio of medians) ${x >= 5 ? 'ok' : 'FAIL (want >= 5)'}`,
  );
  for (const r of results) {
    const mine = r.counted.get(lk)!.roundTrips;
    const theirs = r.counted.get(layered)!.roundTrips;
    console.log(
      `    ${pad(r.scenario.name, 7)} round trips ${mine} vs layered-loader ${theirs} ${mine <= theirs ? 'ok' : 'FAIL (more than layered-loader)'}`,
    );
  }
}
console.log('\nhow each library is driven');
for (const lib of libs) console.log(`  ${lib.name}: ${lib.api}`);

// --- the deadline -----------------------------------------------------------------------------------
// What `remoteOptions.timeoutMs` (default 50 ms) is chosen from: loaderkit's own remote calls straight to
// Redis (no proxy), one at a time: a 101-key MGET and a 100-SET pipeline, as a batch makes them.

{
  const direct = await CLIENTS.find((c) => c.name === 'redis 6')!.connect(server.port);
  const store = createRedisStore({ client: direct.client });
  const signal = new AbortController().signal;
  const keys = Array.from({ length: 101 }, (_, i) => `deadline:${i}`);
  const writes = keys.slice(1).map((key) => ({ key, value: JSON.stringify(row(1)), ttlMs: 60_000 }));
  const timesOf = async (call: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = performance.now();
      await call();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
    return `p50 ${at(0.5)}  p99 ${at(0.99)}  p99.9 ${at(0.999)}  max ${at(1)} ms`;
  };
  console.log(
    "\nround trips of loaderkit's Redis calls (node-redis 6, direct, 3000 each, while nothing else runs here)",
  );
  console.log(`  setMany 100 x 205 B  ${await timesOf(() => store.setMany(writes, signal))}`);
  console.log(`  getMany 101 keys     ${await timesOf(() => store.getMany(keys, signal))}`);
  await store.close();
  await direct.close();
}

// --- teardown ---------------------------------------------------------------------------------------

for (const lib of [...libs, ...counting]) {
  await lib.warm.drain();
  await lib.warm.close();
  await lib.end?.();
}
for (const client of clients) await client.close();
await proxy.close();
await server.close();
console.log(
  `\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; load average at start ${startLoad}, at end ${loadavg()[0]!.toFixed(2)} (other processes share the cores)`,
);
