/**
 * `npm run bench:cluster`: loaderkit's Redis tier on Redis Cluster (`createRedisStore({ client, slots })`
 * of the built package, dist/, over node-redis 6 `createCluster()` and ioredis 6 `new Cluster()`, the
 * CLUSTER_CLIENTS of test/redis.ts), on a local cluster of 3 masters
 * (private redis-servers, no replicas), in 100-key batches of a `users` loader (scope 'global', TTL
 * 10 min, the same ~200-byte JSON row as bench/redis.ts; remote deadline 1 s, as there: this process is
 * busy and the cores are shared). Five parts, per client library:
 *   1 cost      what one batch costs per node, with slots 'per-key' and 'per-scope': round trips per node
 *               (a round-trip proxy in front of every node, the clients' address maps send them through
 *               it) and commands per node (INFO commandstats), median of 5 batches counted one at a
 *               time (write-backs landed in between), after an uncounted first batch. L2 hit: every key in Redis, none in
 *               process (`shared.l1Ttl: 0`), a new request per batch. Miss: fresh ids, the write-back
 *               included. "Miss, cold": the same right after SCRIPT FLUSH on every node (as after a restart:
 *               the store believes the nodes know the script, so its EVALSHAs are refused, NOSCRIPT,
 *               and sent again as EVAL; a store's first script on a node is EVAL anyway); every
 *               node is taught the script again after it. The stores have no invalidation bus (its
 *               heartbeats would show in the counts).
 *   2 µs/key    an L2-hit batch (a new request per batch, `l1Ttl: 0`, 1000 keys written before, one
 *               batch at a time, so none is lost to a cold scope's race, see part 3) on one
 *               redis-server, on the cluster per-key and per-scope; direct connections, no bus. The six
 *               variants interleaved in rotating order, BENCH_CLUSTER_BATCHES (default 30) batches per
 *               round, median of BENCH_CLUSTER_ROUNDS (default 15) rounds; × = variant / single server
 *               of the same library (median of per-round ratios)
 *   3 sharing   two instances (two definitions, each its own cluster client and store, bus on; a
 *               fresh prefix, so a fresh scope): instance 1 loads 1000 keys (10 requests of 100, back
 *               to back: each write-back lands behind its load), then instance 2 loads them: its remote
 *               hit rate (stats().loaders.users.remoteHits / loads) and its source calls; instance 1's
 *               writes fenced (stats().remote.writesFenced) tell why a key was not there. The same on
 *               the single server, for comparison, and per-key on cold nodes (SCRIPT FLUSH on every node
 *               before instance 1 loads; a fresh store's first script on each node is EVAL, so no
 *               NOSCRIPT redo delays the fresh scope's first generation token: before that, the next
 *               request read the scope before its token landed, and 10% of #2's reads missed)
 *   4 bus       invalidation propagation over sharded pub/sub: instance A `invalidate`s one key, time
 *               until instance B's bus has applied the message (B's transport listener wrapped, as in
 *               bench/bus-loaderkit.ts), BENCH_CLUSTER_INVALIDATIONS (default 1000) one at a time per
 *               round; p50 and p99 per round, medians of BENCH_CLUSTER_BUS_ROUNDS (default 3) rounds,
 *               the pairs interleaved (a channel per pair)
 *   5 http      the example server (examples/yoga-server, PGlite, `x-loaderkit-mode: shared`) with
 *               REDIS_URL on one (non-cluster) redis-server: two processes started, driven by
 *               autocannon from this process with BENCH_CLUSTER_CONNECTIONS (default 16) connections in
 *               all: "1 instance" sends them all to #1, "2 instances" half to each (req/s summed);
 *               BENCH_CLUSTER_HTTP_SECONDS (default 3) s per run after a 2 s warm-up of both, the two
 *               interleaved, median of BENCH_CLUSTER_HTTP_ROUNDS (default 5). BENCH_CLUSTER_HTTP=0 skips it.
 * Every redis-server and example process started here is killed at exit (test/redis.ts,
 * test/examples/example-process.ts), Ctrl-C included.
 */
import { availableParallelism, loadavg } from 'node:os';
import { setImmediate as tick } from 'node:timers/promises';
import autocannon from 'autocannon';
import type * as LoaderkitRedis from '../src/redis.js';
import { type Example, startExample, stopExample } from '../test/examples/example-process.js';
import {
  busReady,
  CLIENTS,
  CLUSTER_CLIENTS,
  type ClientKind,
  type ClusterClientKind,
  roundTripProxy,
  startCluster,
  startRedis,
  type TestClient,
} from '../test/redis.js';
import { kit } from './kit.js';
import { BATCH, block, freshBlock, row } from './rows.js';
import { timedBus } from './timed-bus.js';

const { defineLoaders } = kit;
const { createRedisStore } = (await import(
  new URL('../dist/redis.js', import.meta.url).href
)) as typeof LoaderkitRedis;

process.once('SIGINT', () => process.exit(130));

const TTL = 600_000;
const COUNT_BATCHES = 5;
const ROUNDS = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 15);
const BATCHES_PER_ROUND = Number(process.env.BENCH_CLUSTER_BATCHES ?? 30);
/** Blocks of keys written up front for part 2 (the rounds cycle through them). */
const POOL_BLOCKS = 10;
const INSTANCE_KEYS = 1000;
const INVALIDATIONS = Number(process.env.BENCH_CLUSTER_INVALIDATIONS ?? 1000);
const BUS_ROUNDS = Number(process.env.BENCH_CLUSTER_BUS_ROUNDS ?? 3);
const HTTP = process.env.BENCH_CLUSTER_HTTP !== '0';
const HTTP_SECONDS = Number(process.env.BENCH_CLUSTER_HTTP_SECONDS ?? 3);
const HTTP_ROUNDS = Number(process.env.BENCH_CLUSTER_HTTP_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CLUSTER_CONNECTIONS ?? 16);
const QUERY = '{ users(limit: 10) { name posts { title tags { name } comments { body author { name } } } } }';
const SLOTS = ['per-key', 'per-scope'] as const;
type Slots = (typeof SLOTS)[number];

interface Lib {
  readonly name: string;
  readonly single: ClientKind;
  readonly cluster: ClusterClientKind;
}
const LIBS: readonly Lib[] = [
  {
    name: 'node-redis 6',
    single: CLIENTS.find((c) => c.name === 'redis 6')!,
    cluster: CLUSTER_CLIENTS.find((c) => c.name === 'redis 6')!,
  },
  {
    name: 'ioredis 6',
    single: CLIENTS.find((c) => c.name === 'ioredis 6')!,
    cluster: CLUSTER_CLIENTS.find((c) => c.name === 'ioredis 6')!,
  },
];

// --- helpers ----------------------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

type Remote = ReturnType<typeof createRedisStore>;
/** Calls and keys of a definition's batch function. */
interface Source {
  calls: number;
  keys: number;
}
/** What the stores reported through onError (printed at the end: there should be none). */
const storeErrors: string[] = [];

function defineUsers(remote: Remote, prefix: string, source: Source, l1Ttl?: number) {
  return defineLoaders(
    {
      users: {
        batch: async (ids: readonly number[]) => {
          source.calls++;
          source.keys += ids.length;
          return ids.map(row);
        },
        shared: { scope: 'global' as const, ttl: TTL, ...(l1Ttl === undefined ? {} : { l1Ttl }) },
      },
    },
    {
      remote,
      remoteOptions: { timeoutMs: 1000 },
      prefix,
      onError: (error) => void storeErrors.push(`${prefix}: ${error.message}`),
    },
  );
}
type Users = ReturnType<typeof defineUsers>;

/** One batch: a new request, `load` per key. */
async function batch(create: Users, ids: readonly number[]): Promise<void> {
  const loaders = create({});
  const rows = await Promise.all(ids.map((id) => loaders.users.load(id)));
  rows.forEach((user, i) => {
    if (user?.id !== ids[i]) throw new Error(`a batch answered a wrong row for ${ids[i]}`);
  });
}
/** Resolves when the write-backs behind earlier batches have landed. */
async function drain(create: Users): Promise<void> {
  while ((create.stats().remote?.pendingWrites ?? 0) > 0) await tick();
}
/** Throws when the remote tier failed, timed out or was skipped (the figures would not be Redis's). */
function checkRemote(create: Users, what: string): void {
  const r = create.stats().remote!;
  if (r.failures + r.timeouts + r.skipped + r.writesDropped > 0)
    throw new Error(
      `${what}: remote tier failures ${JSON.stringify({ failures: r.failures, timeouts: r.timeouts, skipped: r.skipped, writesDropped: r.writesDropped })}`,
    );
}

const started = performance.now();
const startLoad = loadavg()[0]!.toFixed(2);
const clients: TestClient[] = [];
const stores: Remote[] = [];
const definitions: Users[] = [];
const track = (create: Users) => {
  definitions.push(create);
  return create;
};
const store = (options: Parameters<typeof createRedisStore>[0]) => {
  const remote = createRedisStore(options);
  stores.push(remote);
  return remote;
};

const cluster = await startCluster(3);
const single = await startRedis();
const proxies = await Promise.all(cluster.nodes.map((node) => roundTripProxy(node.port)));
/** Node port → its proxy's port. */
const via = new Map(cluster.nodes.map((node, i) => [node.port, proxies[i]!.port]));
const connectCluster = async (lib: Lib, through?: ReadonlyMap<number, number>) => {
  const client = await lib.cluster.connect(cluster, through);
  clients.push(client);
  return client.client;
};
const connectSingle = async (lib: Lib) => {
  const client = await lib.single.connect(single.port);
  clients.push(client);
  return client.client;
};

console.log(
  `redis-server ${/redis_version:(\S+)/.exec(await single.cli('INFO', 'server'))?.[1]}: a cluster of 3 masters on :${cluster.nodes.map((n) => n.port).join(', :')}, one server on :${single.port}; Node ${process.version}, ${availableParallelism()} cores, load average ${startLoad}`,
);
console.log(
  `${BATCH}-key batches of a 'users' loader (scope 'global'); value: ${JSON.stringify(row(1)).length}-byte JSON row`,
);

// --- 1. cost per batch, per node --------------------------------------------------------------------

interface Count {
  /** Round trips per node. */
  roundTrips: number[];
  /** Commands per node. */
  commands: Record<string, number>[];
}

async function counted(run: () => Promise<void>): Promise<Count> {
  await Promise.all(cluster.nodes.map((node) => node.resetStats()));
  for (const proxy of proxies) proxy.reset();
  await run();
  return {
    roundTrips: proxies.map((proxy) => proxy.roundTrips),
    commands: await Promise.all(cluster.nodes.map((node) => node.commandCounts())),
  };
}

/** Per node, the median of the batches' counts; `varied`: whether the batches' round trips differed. */
function summarize(counts: readonly Count[]) {
  const nodes = cluster.nodes.length;
  const roundTrips = Array.from({ length: nodes }, (_, n) => median(counts.map((c) => c.roundTrips[n]!)));
  const commands = Array.from({ length: nodes }, (_, n) => {
    const names = new Set(counts.flatMap((c) => Object.keys(c.commands[n]!)));
    const out: Record<string, number> = {};
    for (const name of names) out[name] = median(counts.map((c) => c.commands[n]![name] ?? 0));
    return out;
  });
  const varied = counts.some((c) => c.roundTrips.join() !== counts[0]!.roundTrips.join());
  const touched = commands.filter((c) => Object.values(c).some((n) => n > 0)).length;
  return { roundTrips, commands, varied, touched, total: roundTrips.reduce((x, y) => x + y, 0) };
}

console.log(
  `\n1. cost of one ${BATCH}-key batch per node (3 masters; round trips through a proxy per node, commands from INFO commandstats; median of ${COUNT_BATCHES} batches, one at a time)`,
);
console.log(
  `  ${pad('client', 14)}${pad('slots', 11)}${pad('batch', 13)}${pad('RT per node', 13)}${lpad('RT', 4)}${lpad('nodes', 7)}  ${pad('check', 36)}commands per node ([...]: run inside the scripts, counted by commandstats too)`,
);
const costChecks: string[] = [];
/** SCRIPT FLUSH on every node: none knows the write-back script (as on a new, restarted or failed-over node). */
const flushScripts = () => Promise.all(cluster.nodes.map((node) => node.cli('SCRIPT', 'FLUSH')));
let taught = 0;
/**
 * Teaches every node the write-back script again (a per-key miss batch spreads its write-back over
 * every node; the first EVALSHA a node refuses goes again as EVAL, which loads it), so that what
 * follows runs on warm nodes.
 */
async function teachScripts(client: unknown): Promise<void> {
  const remote = createRedisStore({ client, invalidation: false, slots: 'per-key' });
  const create = defineUsers(remote, `bench-cluster-teach-${taught++}`, { calls: 0, keys: 0 }, 0);
  await batch(create, freshBlock());
  await drain(create);
  checkRemote(create, 'teaching the script');
  await create.close();
  await remote.close();
}
const ORDER = ['mget', 'evalsha', 'eval', 'del'];
/** One node's commands: ours first, then what ran inside the scripts in brackets. */
function commandText(commands: Record<string, number>): string {
  const scripted = (commands.evalsha ?? 0) + (commands.eval ?? 0) > 0;
  const inside = scripted ? ['get', 'set'] : [];
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  const entries = Object.entries(commands)
    .filter(([, n]) => n > 0)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
  const sent = entries.filter(([name]) => !inside.includes(name)).map(([name, n]) => `${name} ${n}`);
  const ran = entries.filter(([name]) => inside.includes(name)).map(([name, n]) => `${name} ${n}`);
  return [...sent, ...(ran.length > 0 ? [`[${ran.join(' ')}]`] : [])].join(' ') || '-';
}
for (const lib of LIBS) {
  const client = await connectCluster(lib, via);
  for (const slots of SLOTS) {
    const source: Source = { calls: 0, keys: 0 };
    const prefix = `bench-cluster-cost-${lib.name}-${slots}`;
    const create = track(defineUsers(store({ client, invalidation: false, slots }), prefix, source, 0));
    // Whatever a client and the store make on first use, off the counts.
    await batch(create, freshBlock());
    await drain(create);
    const rows: Array<[string, ReturnType<typeof summarize>]> = [];
    // Cold: no node knows the write-back script.
    await flushScripts();
    const cold = await counted(async () => {
      await batch(create, freshBlock());
      await drain(create);
    });
    // A per-scope batch taught one node only.
    await teachScripts(client);
    const missIds: number[][] = [];
    const misses: Count[] = [];
    for (let i = 0; i < COUNT_BATCHES; i++) {
      const ids = freshBlock();
      missIds.push(ids);
      misses.push(
        await counted(async () => {
          await batch(create, ids);
          await drain(create);
        }),
      );
    }
    const sourceBefore = source.keys;
    const hitsBefore = create.stats().loaders.users.remoteHits;
    const hits: Count[] = [];
    for (const ids of missIds) hits.push(await counted(() => batch(create, ids)));
    if (source.keys !== sourceBefore)
      throw new Error(`${lib.name} ${slots}: an L2-hit batch went to the source`);
    const remoteHits = create.stats().loaders.users.remoteHits - hitsBefore;
    if (remoteHits !== COUNT_BATCHES * BATCH)
      throw new Error(`${lib.name} ${slots}: ${remoteHits} remote hits, expected ${COUNT_BATCHES * BATCH}`);
    checkRemote(create, `${lib.name} ${slots}`);
    rows.push(['L2 hit', summarize(hits)], ['miss', summarize(misses)], ['miss, cold', summarize([cold])]);
    for (const [name, s] of rows) {
      // A hit batch reads once per node; a miss batch reads, then writes back behind the load.
      const per = name === 'L2 hit' ? 1 : 2;
      const expected = per * s.touched;
      const check =
        name === 'miss, cold'
          ? `RT ${s.total} = 2 × ${s.touched} + ${s.total - expected} NOSCRIPT → EVAL`
          : `RT ${s.total} = ${per === 1 ? '' : '2 × '}nodes touched ${s.total === expected ? 'ok' : `NO (want ${expected})`}`;
      if (name !== 'miss, cold' && s.total !== expected)
        costChecks.push(`${lib.name} ${slots} ${name}: ${s.total} round trips, ${s.touched} nodes touched`);
      const commands = s.commands.map(commandText).join(' | ');
      console.log(
        `  ${pad(lib.name, 14)}${pad(slots, 11)}${pad(name, 13)}${pad(s.roundTrips.join(' '), 13)}${lpad(s.total, 4)}${lpad(s.touched, 7)}  ${pad(check, 36)}${commands}${s.varied ? '  (round trips differed between batches)' : ''}`,
      );
    }
  }
}
console.log(
  `  round trips per batch = nodes touched (L2 hit; a miss adds a write-back round trip per node): ${costChecks.length === 0 ? 'ok for every client and placement' : `NO: ${costChecks.join('; ')}`}`,
);

// --- 2. µs per key of an L2-hit batch -------------------------------------------------------------

interface Variant {
  readonly lib: Lib;
  readonly target: 'single' | Slots;
  readonly create: Users;
  readonly source: Source;
}
const variants: Variant[] = [];
for (const lib of LIBS)
  for (const target of ['single', ...SLOTS] as const) {
    const client = target === 'single' ? await connectSingle(lib) : await connectCluster(lib);
    const source: Source = { calls: 0, keys: 0 };
    const remote =
      target === 'single'
        ? store({ client, invalidation: false })
        : store({ client, invalidation: false, slots: target });
    const create = track(defineUsers(remote, `bench-cluster-l2-${lib.name}-${target}`, source, 0));
    // Each write-back landed before the next batch reads: on a fresh scope, a batch that reads before the
    // previous one's write-back landed makes a generation token of its own, which loses (fenced), and its
    // entries would be misses once (part 3, cold, shows that case).
    for (let b = 0; b < POOL_BLOCKS; b++) {
      await batch(create, block(b));
      await drain(create);
    }
    if (source.keys !== POOL_BLOCKS * BATCH) throw new Error(`${lib.name} ${target}: pool not written`);
    variants.push({ lib, target, create, source });
  }
const l2Round = async (v: Variant, batches: number) => {
  const before = v.source.keys;
  gc();
  const t0 = performance.now();
  for (let i = 0; i < batches; i++) await batch(v.create, block(i % POOL_BLOCKS));
  const ms = performance.now() - t0;
  if (v.source.keys !== before)
    throw new Error(
      `${v.lib.name} ${v.target}: an L2-hit batch went to the source (${v.source.keys - before} keys); remote ${JSON.stringify(v.create.stats().remote)}; errors ${storeErrors.slice(0, 3).join(' | ')}`,
    );
  return (ms * 1000) / (batches * BATCH);
};
for (const v of variants) for (let i = 0; i < 3; i++) await l2Round(v, 10); // warm-up
const l2Samples = new Map<Variant, number[]>(variants.map((v) => [v, []]));
const l2Ratios = new Map<Variant, number[]>(variants.map((v) => [v, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
  const perKey = new Map<Variant, number>();
  for (const v of order) perKey.set(v, await l2Round(v, BATCHES_PER_ROUND));
  for (const v of variants) {
    const base = variants.find((b) => b.lib === v.lib && b.target === 'single')!;
    l2Samples.get(v)!.push(perKey.get(v)!);
    l2Ratios.get(v)!.push(perKey.get(v)! / perKey.get(base)!);
  }
}
for (const v of variants) checkRemote(v.create, `${v.lib.name} ${v.target}`);
console.log(
  `\n2. L2-hit batch (every key in Redis, none in process; a new request per batch): µs per key, median of ${ROUNDS} rounds of ${BATCHES_PER_ROUND} batches, interleaved; × = / single server, same client (median of per-round ratios)`,
);
console.log(
  `  ${pad('client', 14)}${pad('Redis', 22)}${lpad('µs/key', 8)}${lpad('µs/batch', 10)}${lpad('×', 7)}`,
);
for (const v of variants) {
  const us = median(l2Samples.get(v)!);
  const where = v.target === 'single' ? 'single server' : `cluster, ${v.target}`;
  console.log(
    `  ${pad(v.lib.name, 14)}${pad(where, 22)}${lpad(us.toFixed(2), 8)}${lpad((us * BATCH).toFixed(0), 10)}${lpad(median(l2Ratios.get(v)!).toFixed(2), 7)}`,
  );
}

// --- 3. a second instance finds what the first loaded -------------------------------------------

console.log(
  `\n3. two instances (each its own client, store and bus; a fresh scope): instance 1 loads ${INSTANCE_KEYS} keys (requests of ${BATCH}, back to back), then instance 2 loads them`,
);
console.log(
  `  ${pad('client', 14)}${pad('Redis', 26)}${pad('#1 source calls', 17)}${pad('#1 fenced', 11)}${pad('#2 loads', 10)}${pad('#2 remote hits', 16)}${pad('#2 hit rate', 13)}#2 source calls (keys)`,
);
for (const lib of LIBS)
  for (const target of ['single', ...SLOTS, 'per-key, cold'] as const) {
    const prefix = `bench-cluster-share-${lib.name}-${target}`;
    const channel = `${prefix}:invalidate`;
    const sources: Source[] = [
      { calls: 0, keys: 0 },
      { calls: 0, keys: 0 },
    ];
    const instances: Users[] = [];
    const remotes: Remote[] = [];
    for (const source of sources) {
      const remote =
        target === 'single'
          ? store({ client: await connectSingle(lib), invalidation: { channel } })
          : store({
              client: await connectCluster(lib),
              slots: target === 'per-scope' ? 'per-scope' : 'per-key',
              invalidation: { channel },
            });
      remotes.push(remote);
      instances.push(track(defineUsers(remote, prefix, source)));
    }
    const [one, two] = instances as [Users, Users];
    await busReady(one, two);
    if (target === 'per-key, cold') await flushScripts();
    const blocks = Array.from({ length: INSTANCE_KEYS / BATCH }, (_, b) => block(b));
    for (const ids of blocks) await batch(one, ids);
    await drain(one);
    for (const ids of blocks) await batch(two, ids);
    await drain(two);
    checkRemote(one, `${lib.name} ${target} #1`);
    checkRemote(two, `${lib.name} ${target} #2`);
    const s = two.stats().loaders.users;
    const where = target === 'single' ? 'single server' : `cluster, ${target}`;
    console.log(
      `  ${pad(lib.name, 14)}${pad(where, 26)}${pad(sources[0]!.calls, 17)}${pad(one.stats().remote!.writesFenced, 11)}${pad(s.loads, 10)}${pad(s.remoteHits, 16)}${pad(`${((100 * s.remoteHits) / s.loads).toFixed(1)} %`, 13)}${sources[1]!.calls} (${sources[1]!.keys})`,
    );
    for (const create of instances) await create.close();
    for (const remote of remotes) await remote.close();
    if (target === 'per-key, cold') await teachScripts(await connectCluster(lib));
  }

// --- 4. invalidation propagation ------------------------------------------------------------------

interface Pair {
  readonly lib: Lib;
  readonly slots: Slots;
  readonly a: Users;
  readonly b: Users;
  /** Resolves at the next message B's bus has applied, with the time. */
  next(): Promise<number>;
  readonly p50: number[];
  readonly p99: number[];
  lost: number;
  /** B's bus gaps once it was ready (its first subscription counts). */
  readonly gapsAtStart: number;
}
const pairs: Pair[] = [];
for (const lib of LIBS)
  for (const slots of SLOTS) {
    const prefix = `bench-cluster-bus-${lib.name}-${slots}`;
    const invalidation = { channel: `${prefix}:invalidate` };
    const a = track(
      defineUsers(store({ client: await connectCluster(lib), slots, invalidation }), prefix, {
        calls: 0,
        keys: 0,
      }),
    );
    const remote = store({ client: await connectCluster(lib), slots, invalidation });
    const timed = timedBus(remote);
    const b = track(defineUsers(timed.store, prefix, { calls: 0, keys: 0 }));
    await busReady(a, b);
    pairs.push({
      lib,
      slots,
      a,
      b,
      next: timed.next,
      p50: [],
      p99: [],
      lost: 0,
      gapsAtStart: b.stats().bus!.gaps,
    });
  }
for (let round = 0; round < BUS_ROUNDS; round++)
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[(i + round) % pairs.length]!;
    const times: number[] = [];
    for (let n = 0; n < INVALIDATIONS; n++) {
      const arrived = pair.next();
      let timer: NodeJS.Timeout | undefined;
      // Not a timed assertion: a message that never comes is counted as lost instead of hanging the run.
      const lost = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), 2000);
      });
      const t0 = performance.now();
      await pair.a.invalidate('users', [n], {});
      const at = await Promise.race([arrived, lost]);
      clearTimeout(timer);
      if (at === null) pair.lost++;
      else times.push(at - t0);
    }
    times.sort((x, y) => x - y);
    pair.p50.push(quantile(times, 0.5));
    pair.p99.push(quantile(times, 0.99));
  }
console.log(
  `\n4. invalidation on the cluster (SPUBLISH/SSUBSCRIBE on the channel slot's master): A's invalidate(one key) → applied on B, ms; ${INVALIDATIONS} one at a time per round, medians of ${BUS_ROUNDS} rounds`,
);
console.log(`  ${pad('client', 14)}${pad('slots', 11)}${lpad('p50', 8)}${lpad('p99', 8)}  lost / B received`);
for (const pair of pairs) {
  const bus = pair.b.stats().bus!;
  console.log(
    `  ${pad(pair.lib.name, 14)}${pad(pair.slots, 11)}${lpad(median(pair.p50).toFixed(3), 8)}${lpad(median(pair.p99).toFixed(3), 8)}  ${pair.lost} / ${bus.received} (gaps ${pair.gapsAtStart} when ready, ${bus.gaps} at the end; garbage ${bus.garbage})`,
  );
  if (pair.a.stats().bus!.publishFailures > 0)
    storeErrors.push(
      `${pair.lib.name} ${pair.slots}: ${pair.a.stats().bus!.publishFailures} publish failures`,
    );
}
for (const create of definitions) await create.close();
for (const remote of stores) await remote.close();
for (const client of clients) await client.close();
for (const proxy of proxies) await proxy.close();
await cluster.close();

// --- 5. the example server: one instance or two on one Redis ---------------------------------------

if (!HTTP) console.log('\n5. example req/s: skipped (BENCH_CLUSTER_HTTP=0)');
else {
  const examples: Example[] = await Promise.all([
    startExample({ REDIS_URL: single.url }),
    startExample({ REDIS_URL: single.url }),
  ]);
  try {
    const drive = (example: Example, connections: number, duration: number) =>
      autocannon({
        url: example.url,
        method: 'POST',
        connections,
        duration,
        headers: { 'content-type': 'application/json', 'x-loaderkit-mode': 'shared' },
        body: JSON.stringify({ query: QUERY }),
      });
    const run = async (instances: 1 | 2, duration: number) => {
      const results = await Promise.all(
        instances === 1
          ? [drive(examples[0]!, CONNECTIONS, duration)]
          : [
              drive(examples[0]!, CONNECTIONS / 2, duration),
              drive(examples[1]!, CONNECTIONS - CONNECTIONS / 2, duration),
            ],
      );
      return {
        rps: results.reduce((sum, r) => sum + r.requests.average, 0),
        errors: results.reduce((sum, r) => sum + r.errors + r.non2xx + r.timeouts, 0),
      };
    };
    const sharedStats = async (example: Example) => {
      const response = await fetch(example.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-bench-stats': '1' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      const body = (await response.json()) as {
        extensions: {
          bench: { shared: { loaders: Record<string, { remoteHits: number; misses: number }> } };
        };
      };
      const loaders = Object.values(body.extensions.bench.shared.loaders);
      return {
        remoteHits: loaders.reduce((sum, s) => sum + s.remoteHits, 0),
        misses: loaders.reduce((sum, s) => sum + s.misses, 0),
      };
    };
    await run(2, 2); // warm-up: both in-process tiers and Redis
    const samples = { 1: [] as number[], 2: [] as number[] };
    let errors = 0;
    for (let round = 0; round < HTTP_ROUNDS; round++)
      for (const instances of round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
        const result = await run(instances, HTTP_SECONDS);
        samples[instances].push(result.rps);
        errors += result.errors;
      }
    const stats = await Promise.all(examples.map(sharedStats));
    console.log(
      `\n5. example server (x-loaderkit-mode: shared, REDIS_URL on one redis-server), ${CONNECTIONS} connections in all, ${HTTP_SECONDS} s runs, median of ${HTTP_ROUNDS} (interleaved): ${QUERY}`,
    );
    console.log(`  ${pad('instances', 12)}${lpad('req/s', 8)}  per round`);
    for (const instances of [1, 2] as const)
      console.log(
        `  ${pad(instances, 12)}${lpad(median(samples[instances]).toFixed(0), 8)}  ${samples[instances].map((x) => x.toFixed(0)).join(' ')}`,
      );
    console.log(
      `  errors ${errors}; shared loaders so far: #1 ${stats[0]!.remoteHits} keys from Redis, ${stats[0]!.misses} from SQL; #2 ${stats[1]!.remoteHits} from Redis, ${stats[1]!.misses} from SQL (one load generator in this process and ${availableParallelism()} cores for all three)`,
    );
  } finally {
    await Promise.all(examples.map((example) => stopExample(example.child)));
  }
}
await single.close();

if (storeErrors.length > 0)
  console.log(`\nstore errors: ${storeErrors.length}, first: ${storeErrors.slice(0, 3).join(' | ')}`);
console.log(
  `\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; load average at start ${startLoad}, at end ${loadavg()[0]!.toFixed(2)} (other processes share the cores)`,
);
