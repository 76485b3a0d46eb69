/**
 * `node --expose-gc --import tsx bench/bus.ts`: two Redis mechanisms for propagating cache invalidations
 * between server instances, against one private redis-server, with 3 instances in this process (instance
 * 0 writes, 1 and 2 receive; every instance has its own connections):
 *   pub/sub    each instance has a normal client plus a dedicated subscriber connection (node-redis 6:
 *              `client.duplicate()` + `subscribe(channel, listener)`; ioredis 5: `duplicate()` +
 *              `subscribe` + `on('message')`). An invalidation = one PUBLISH of a JSON message
 *              { origin, keys }; an instance drops its own messages by origin (counted as "writer self")
 *   tracking   server-assisted client-side caching in broadcast mode: `CLIENT TRACKING ON BCAST PREFIX p`.
 *              node-redis 6: a dedicated RESP3 connection per instance whose `invalidate` push frames are
 *              read with a push handler on the client's command queue (`_getQueue().addPushHandler`,
 *              what the client's own `clientSideCache` / `emitInvalidate` use; both of those run plain
 *              `CLIENT TRACKING ON`, not BCAST). ioredis 5 speaks RESP2 only: REDIRECT to a subscriber
 *              of `__redis__:invalidate` (keys read from 'messageBuffer': 'message' joins them with
 *              commas), tracking enabled on the instance's normal client with NOLOOP. An invalidation =
 *              SET of the key(s) (the write itself; a DEL of a missing key invalidates nothing). Redis
 *              sends one push per prefix per event-loop cycle listing every key written in it
 *   SET only   baselines: the same SETs from the same library with nobody tracking, so tracking's own cost
 *              is tracking minus baseline (median of per-round differences; pub/sub would need those
 *              writes to Redis too, on top of its PUBLISH)
 * Measured per mechanism, in interleaved rounds (order rotates each round), medians of BENCH_BUS_ROUNDS
 * (default 5) rounds:
 *   one at a time  BENCH_BUS_SEQ (2,000) invalidations of 1 key; the writer awaits its reply and both
 *                  receivers' delivery, then yields one macrotask (setImmediate) before the next
 *   burst          BENCH_BUS_BURST (10,000) invalidations of 10 keys issued without waiting (pub/sub: one
 *                  10-key message each; tracking: 10 SETs each), then waits for all deliveries
 * Latency: performance.now() before the writer's call to the receiver's callback that completes the
 * invalidation (all its keys), both receivers pooled; p50/p99/max per round, median over rounds. Cost per
 * 10,000 invalidations: callbacks per receiver and keys per callback, the writer's own deliveries, CPU of
 * this whole process (process.cpuUsage, user+system: writer, both receivers and the bookkeeping, the same
 * for every mechanism) and of redis-server (INFO cpu used_cpu_user+used_cpu_sys delta), INFO commandstats.
 * Reconnect (after the rounds, library default reconnect strategies): the writer invalidates one key
 * every TICK_MS ms; the receiving connections are killed (pub/sub: CLIENT KILL TYPE pubsub; tracking:
 * CLIENT KILL ID of the receivers' tracking or redirect connections; node-redis once more with the app
 * re-enabling tracking on 'ready'); reported: ms from the kill's reply to the first delivery of an
 * invalidation sent after it (resolution TICK_MS), and how many sent after the kill never arrived within
 * RECOVER_MS. Each mechanism uses its own channel / key prefix, so they do not hear each other.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { Redis as IoRedis } from 'ioredis';
import { createClient } from 'redis';
import { startRedis } from '../test/redis.js';

const ROUNDS = Number(process.env.BENCH_BUS_ROUNDS ?? 5);
const SEQ = Number(process.env.BENCH_BUS_SEQ ?? 2000);
const BURST = Number(process.env.BENCH_BUS_BURST ?? 10_000);
const BURST_KEYS = 10;
/** Costs are reported per this many invalidations. */
const PER = 10_000;
const INSTANCES = 3;
const RECEIVERS = [1, 2] as const;
const TICK_MS = 5;
const RECOVER_MS = 1000;

// Ctrl-C: exit through 'exit', where test/redis.ts kills the redis-server it started.
process.once('SIGINT', () => process.exit(130));

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quantile = (sorted: Float64Array, q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN;

/**
 * The deliveries of one phase: keys `${tag}${i}:${j}` (invalidation i, key j of `width`), when each
 * invalidation was sent, and when each receiver had all of its keys.
 */
class Phase {
  readonly sentAt: Float64Array;
  readonly got: Uint8Array[];
  readonly doneAt: Float64Array[];
  readonly done = [0, 0, 0];
  readonly calls = [0, 0, 0];
  readonly keys = [0, 0, 0];
  #waiting: { cond: () => boolean; resolve: () => void } | null = null;

  constructor(
    readonly tag: string,
    readonly n: number,
    readonly width: number,
  ) {
    this.sentAt = new Float64Array(n);
    this.got = Array.from({ length: INSTANCES }, () => new Uint8Array(n));
    this.doneAt = Array.from({ length: INSTANCES }, () => new Float64Array(n).fill(Number.NaN));
  }
  keysOf(i: number): string[] {
    return Array.from({ length: this.width }, (_, j) => `${this.tag}${i}:${j}`);
  }
  /** An instance's delivery callback got these keys (instance 0: the writer's own). */
  deliver(instance: number, keys: readonly string[]): void {
    const now = performance.now();
    this.calls[instance]!++;
    this.keys[instance]! += keys.length;
    if (instance !== 0) {
      const got = this.got[instance]!;
      const at = this.tag.length;
      for (const key of keys) {
        if (!key.startsWith(this.tag)) continue;
        const i = Number(key.slice(at, key.indexOf(':', at)));
        if (!(i >= 0 && i < this.n)) continue;
        if (++got[i]! === this.width) {
          this.doneAt[instance]![i] = now;
          this.done[instance]!++;
        }
      }
    }
    if (this.#waiting?.cond()) {
      this.#waiting.resolve();
      this.#waiting = null;
    }
  }
  complete(i: number): boolean {
    return RECEIVERS.every((r) => this.got[r]![i] === this.width);
  }
  /** Resolves when `cond` holds (checked on every delivery) or after `ms`. */
  waitFor(cond: () => boolean, ms: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        resolve();
      }, ms);
      this.#waiting = {
        cond,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

interface Mechanism {
  readonly name: string;
  /** Writer (instance 0) makes one invalidation of these keys; resolves on Redis's reply. */
  invalidate(keys: readonly string[]): Promise<unknown>;
  /** Key prefix: tracking connections track it (each mechanism its own, so they do not hear each other). */
  readonly prefix: string;
  /** Where the delivery callbacks report; null between phases. */
  phase: Phase | null;
  /** Whether the writer instance receives its own invalidations (then a phase also waits for those). */
  readonly hearsItself: boolean;
  /** False for the writes-only baselines: nobody listens. */
  readonly receives: boolean;
  errors: number;
  readonly reconnects: ReconnectCase[];
  close(): Promise<void>;
}
interface ReconnectCase {
  readonly label: string;
  /** Untimed, before the ticker starts (re-arms what an earlier case broke). */
  prepare?: () => Promise<void>;
  kill(): Promise<void>;
}

// --- Redis and the mechanisms -----------------------------------------------------------------------

const started = performance.now();
const startLoad = loadavg()[0]!.toFixed(2);
const server = await startRedis();
const closers: (() => Promise<void> | void)[] = [];

/** In-process, so a kill's reply marks when it happened (redis-cli would add its own start-up). */
const admin = createClient({ url: server.url, RESP: 2 });
closers.push(() => admin.destroy());
await admin.connect();
const command = async (...args: string[]) => String(await admin.sendCommand(args));

/** Connection ids by CLIENT SETNAME name. */
async function idsByName(): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const line of (await command('CLIENT', 'LIST')).split('\n')) {
    const m = /^id=(\d+) .*? name=(\S*)/.exec(line);
    if (m?.[2]) ids.set(m[2], m[1]!);
  }
  return ids;
}
async function killByName(names: readonly string[]): Promise<void> {
  const ids = await idsByName();
  for (const name of names) {
    const id = ids.get(name);
    if (!id) throw new Error(`no connection named ${name}`);
    await command('CLIENT', 'KILL', 'ID', id);
  }
}
const killPubSub = async () => void (await command('CLIENT', 'KILL', 'TYPE', 'pubsub'));
const message = (origin: string, keys: readonly string[]) => JSON.stringify({ origin, keys });
const instances = Array.from({ length: INSTANCES }, (_, i) => i);

async function nodeRedisClient(name: string, options: { RESP?: 2 | 3 } = {}) {
  const client = createClient({ url: server.url, name, ...options });
  closers.push(() => client.destroy());
  await client.connect();
  return client;
}
type NodeRedis = Awaited<ReturnType<typeof nodeRedisClient>>;
function ioredisClient(name: string): Promise<IoRedis> {
  const client = new IoRedis({
    host: '127.0.0.1',
    port: server.port,
    connectionName: name,
    lazyConnect: true,
  });
  closers.push(() => client.disconnect(false));
  return client.connect().then(() => client);
}

async function nodeRedisPubSub(): Promise<Mechanism> {
  const channel = 'bus:nr-ps';
  const m: Mechanism = {
    name: 'pub/sub node-redis 6',
    hearsItself: true,
    receives: true,
    prefix: 'bus:nr-ps:',
    phase: null,
    errors: 0,
    invalidate: (keys) => writer.publish(channel, message('nr-ps-0', keys)),
    reconnects: [{ label: 'CLIENT KILL TYPE pubsub', kill: killPubSub }],
    close: async () => {},
  };
  const clients = await Promise.all(instances.map((i) => nodeRedisClient(`bus-nr-ps-${i}`)));
  const writer = clients[0]!;
  for (const i of instances) {
    const sub = clients[i]!.duplicate({ name: `bus-nr-ps-${i}-sub` });
    closers.push(() => sub.destroy());
    sub.on('error', () => void m.errors++);
    await sub.connect();
    const self = `nr-ps-${i}`;
    await sub.subscribe(channel, (raw: string) => {
      const msg = JSON.parse(raw) as { origin: string; keys: string[] };
      m.phase?.deliver(msg.origin === self ? 0 : i, msg.keys);
    });
  }
  return m;
}

async function ioredisPubSub(): Promise<Mechanism> {
  const channel = 'bus:io-ps';
  const m: Mechanism = {
    name: 'pub/sub ioredis 5',
    hearsItself: true,
    receives: true,
    prefix: 'bus:io-ps:',
    phase: null,
    errors: 0,
    invalidate: (keys) => writer.publish(channel, message('io-ps-0', keys)),
    reconnects: [{ label: 'CLIENT KILL TYPE pubsub', kill: killPubSub }],
    close: async () => {},
  };
  const clients = await Promise.all(instances.map((i) => ioredisClient(`bus-io-ps-${i}`)));
  const writer = clients[0]!;
  for (const i of instances) {
    const sub = clients[i]!.duplicate({ connectionName: `bus-io-ps-${i}-sub` });
    closers.push(() => sub.disconnect(false));
    sub.on('error', () => void m.errors++);
    await sub.subscribe(channel);
    const self = `io-ps-${i}`;
    sub.on('message', (_channel: string, raw: string) => {
      const msg = JSON.parse(raw) as { origin: string; keys: string[] };
      m.phase?.deliver(msg.origin === self ? 0 : i, msg.keys);
    });
  }
  return m;
}

async function nodeRedisTracking(): Promise<Mechanism> {
  const prefix = 'bus:nr-tr:';
  const trackingOn = ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', prefix];
  const m: Mechanism = {
    name: 'tracking node-redis 6 RESP3',
    hearsItself: true,
    receives: true,
    prefix,
    phase: null,
    errors: 0,
    invalidate: (keys) =>
      keys.length === 1 ? writer.set(keys[0]!, '1') : Promise.all(keys.map((key) => writer.set(key, '1'))),
    reconnects: [
      {
        label: 'CLIENT KILL ID <tracking conn>',
        kill: () => killByName(RECEIVERS.map((i) => `bus-nr-tr-${i}-trk`)),
      },
      {
        label: "  + app re-arms on 'ready'",
        prepare: async () => {
          for (const t of trackers) {
            t.on('ready', () => void t.sendCommand(trackingOn).catch(() => void m.errors++));
            // The writer's was not killed: still on, and BCAST prefixes may not be given twice.
            await t.sendCommand(['CLIENT', 'TRACKING', 'OFF']);
            await t.sendCommand(trackingOn);
          }
        },
        kill: () => killByName(RECEIVERS.map((i) => `bus-nr-tr-${i}-trk`)),
      },
    ],
    close: async () => {},
  };
  const writer = await nodeRedisClient('bus-nr-tr-0');
  const trackers: NodeRedis[] = [];
  for (const i of instances) {
    const t = await nodeRedisClient(`bus-nr-tr-${i}-trk`, { RESP: 3 });
    t.on('error', () => void m.errors++);
    t._getQueue().addPushHandler((push) => {
      if (String(push[0]) !== 'invalidate') return false;
      // null: the whole keyspace (FLUSHALL); none here.
      m.phase?.deliver(i, push[1] === null ? [] : (push[1] as unknown[]).map(String));
      return true;
    });
    await t.sendCommand(trackingOn);
    trackers.push(t);
  }
  return m;
}

async function ioredisTracking(): Promise<Mechanism> {
  const prefix = 'bus:io-tr:';
  const m: Mechanism = {
    name: 'tracking ioredis 5 REDIRECT',
    hearsItself: false,
    receives: true,
    prefix,
    phase: null,
    errors: 0,
    invalidate: (keys) =>
      keys.length === 1
        ? clients[0]!.set(keys[0]!, '1')
        : Promise.all(keys.map((key) => clients[0]!.set(key, '1'))),
    reconnects: [
      {
        label: 'CLIENT KILL ID <tracking conn>',
        kill: () => killByName(RECEIVERS.map((i) => `bus-io-tr-${i}`)),
      },
      {
        label: 'CLIENT KILL TYPE pubsub (redirect target)',
        // The tracking connections reconnected without tracking in the case before: on again.
        prepare: () => arm(),
        kill: killPubSub,
      },
    ],
    close: async () => {},
  };
  const clients = await Promise.all(instances.map((i) => ioredisClient(`bus-io-tr-${i}`)));
  for (const i of instances) {
    const sub = clients[i]!.duplicate({ connectionName: `bus-io-tr-${i}-sub` });
    closers.push(() => sub.disconnect(false));
    sub.on('error', () => void m.errors++);
    clients[i]!.on('error', () => void m.errors++);
    await sub.subscribe('__redis__:invalidate');
    // A RESP2 invalidation message carries an array of keys (null for FLUSHALL): 'message' would give
    // them joined with commas, 'messageBuffer' gives the array.
    sub.on('messageBuffer', (_channel: Buffer, keys: unknown) => {
      m.phase?.deliver(i, keys === null ? [] : (keys as Buffer[]).map(String));
    });
  }
  const arm = async () => {
    const ids = await idsByName();
    for (const i of instances) {
      const c = clients[i]!;
      await c.call('CLIENT', 'TRACKING', 'OFF');
      await c.call(
        'CLIENT',
        'TRACKING',
        'ON',
        'REDIRECT',
        ids.get(`bus-io-tr-${i}-sub`)!,
        'BCAST',
        'PREFIX',
        prefix,
        'NOLOOP',
      );
    }
  };
  await arm();
  return m;
}

/** The SETs alone, nobody tracking: what tracking's figures hold besides the bus itself. */
async function writesOnly(io: boolean): Promise<Mechanism> {
  const label = io ? 'io' : 'nr';
  const client = io ? await ioredisClient(`bus-${label}-set`) : await nodeRedisClient(`bus-${label}-set`);
  const set = (key: string): Promise<unknown> => client.set(key, '1');
  return {
    name: `SET only ${io ? 'ioredis 5' : 'node-redis 6'}, no bus`,
    prefix: `bus:${label}-set:`,
    phase: null,
    hearsItself: false,
    receives: false,
    errors: 0,
    invalidate: (keys) => (keys.length === 1 ? set(keys[0]!) : Promise.all(keys.map(set))),
    reconnects: [],
    close: async () => {},
  };
}

// --- the phases -------------------------------------------------------------------------------------

interface Sample {
  p50: number;
  p99: number;
  max: number;
  /** Invalidations (of n) a receiver never completed, both receivers summed. */
  lost: number;
  /** Per PER invalidations. */
  callsPerReceiver: number;
  keysPerCall: number;
  writerSelf: number;
  processMs: number;
  redisMs: number;
  commands: Record<string, number>;
}

async function redisCpuMs(): Promise<number> {
  const info = await command('INFO', 'cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1000;
}

async function measure(m: Mechanism, phase: Phase, run: () => Promise<void>): Promise<Sample> {
  await server.resetStats();
  const redis0 = await redisCpuMs();
  gc();
  m.phase = phase;
  const cpu0 = process.cpuUsage();
  await run();
  // The writer's own deliveries come last: wait for them too, so they are counted (and on the clock).
  if (m.hearsItself) await phase.waitFor(() => phase.keys[0]! >= phase.n * phase.width, 1000);
  const cpu = process.cpuUsage(cpu0);
  m.phase = null;
  const redisMs = (await redisCpuMs()) - redis0;
  const commands = await server.commandCounts();
  const scale = PER / phase.n;
  const latencies: number[] = [];
  let lost = 0;
  for (const r of RECEIVERS) {
    for (let i = 0; i < phase.n; i++) {
      const at = phase.doneAt[r]![i]!;
      if (Number.isNaN(at)) lost++;
      else latencies.push(at - phase.sentAt[i]!);
    }
  }
  const sorted = Float64Array.from(latencies).sort();
  const calls = (phase.calls[1]! + phase.calls[2]!) / 2;
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    lost,
    callsPerReceiver: calls * scale,
    keysPerCall: (phase.keys[1]! + phase.keys[2]!) / 2 / calls,
    writerSelf: phase.calls[0]! * scale,
    processMs: ((cpu.user + cpu.system) / 1000) * scale,
    redisMs: redisMs * scale,
    commands: Object.fromEntries(Object.entries(commands).map(([name, n]) => [name, n * scale])),
  };
}

type Mode = 'one at a time' | 'burst';
const MODES: Mode[] = ['one at a time', 'burst'];
let reconnectNo = 0;

/** `scale` < 1: the warm-up's shorter run. */
function runMode(m: Mechanism, mode: Mode, scale = 1): Promise<Sample> {
  const SEQ_N = Math.round(SEQ * scale);
  const BURST_N = Math.round(BURST * scale);
  // The same keys every round: tracking's SETs overwrite instead of growing the keyspace.
  const tag = `${m.prefix}${mode === 'burst' ? 'b' : 's'}:`;
  if (mode === 'one at a time') {
    const phase = new Phase(tag, SEQ_N, 1);
    return measure(m, phase, async () => {
      for (let i = 0; i < SEQ_N; i++) {
        const keys = phase.keysOf(i);
        phase.sentAt[i] = performance.now();
        await m.invalidate(keys);
        if (m.receives) await phase.waitFor(() => phase.complete(i), 200);
        await tick();
      }
    });
  }
  const phase = new Phase(tag, BURST_N, BURST_KEYS);
  const keys = Array.from({ length: BURST_N }, (_, i) => phase.keysOf(i));
  return measure(m, phase, async () => {
    const replies: Promise<unknown>[] = new Array(BURST_N);
    for (let i = 0; i < BURST_N; i++) {
      phase.sentAt[i] = performance.now();
      replies[i] = m.invalidate(keys[i]!);
    }
    await Promise.all(replies);
    if (m.receives) await phase.waitFor(() => RECEIVERS.every((r) => phase.done[r] === BURST_N), 5000);
  });
}

interface Recovery {
  /** Per receiver: ms from the kill to the first delivery of an invalidation sent after it (null: none). */
  recoveredMs: (number | null)[];
  /** Per receiver: invalidations sent after the kill that never arrived. */
  lost: number[];
  sentAfter: number;
  flowingBefore: boolean;
}

async function reconnect(m: Mechanism, c: ReconnectCase): Promise<Recovery> {
  await c.prepare?.();
  const capacity = Math.ceil((RECOVER_MS + 1000) / TICK_MS);
  const phase = new Phase(`${m.prefix}r${reconnectNo++}:`, capacity, 1);
  m.phase = phase;
  let sent = 0;
  let running = true;
  const ticker = (async () => {
    while (running && sent < capacity) {
      const i = sent++;
      phase.sentAt[i] = performance.now();
      m.invalidate(phase.keysOf(i)).catch(() => {});
      await sleep(TICK_MS);
    }
  })();
  await sleep(100);
  const flowingBefore = RECEIVERS.every((r) => phase.done[r]! > 0);
  await c.kill();
  const killAt = performance.now();
  const killIndex = sent;
  const recoveredAt = (r: number) => {
    for (let i = killIndex; i < sent; i++) if (!Number.isNaN(phase.doneAt[r]![i]!)) return i;
    return -1;
  };
  await phase.waitFor(() => RECEIVERS.every((r) => recoveredAt(r) >= 0), RECOVER_MS);
  await sleep(50);
  running = false;
  await ticker;
  await sleep(50);
  m.phase = null;
  const recoveredMs: (number | null)[] = [];
  const lost: number[] = [];
  for (const r of RECEIVERS) {
    let earliest = Number.POSITIVE_INFINITY;
    let missing = 0;
    for (let i = killIndex; i < sent; i++) {
      const at = phase.doneAt[r]![i]!;
      if (Number.isNaN(at)) missing++;
      else earliest = Math.min(earliest, at);
    }
    recoveredMs.push(Number.isFinite(earliest) ? earliest - killAt : null);
    lost.push(missing);
  }
  return { recoveredMs, lost, sentAfter: sent - killIndex, flowingBefore };
}

// --- the run ----------------------------------------------------------------------------------------

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(3) : v.toFixed(1));

try {
  const info = await server.cli('INFO', 'server');
  console.log(
    `redis-server ${/redis_version:(\S+)/.exec(info)?.[1]} on :${server.port}; Node ${process.version}; ${INSTANCES} instances (1 writer, 2 receivers) per mechanism in this process; ${ROUNDS} rounds`,
  );
  const mechanisms = [
    await nodeRedisPubSub(),
    await ioredisPubSub(),
    await nodeRedisTracking(),
    await ioredisTracking(),
    await writesOnly(false),
    await writesOnly(true),
  ];
  const samples = new Map<Mechanism, Map<Mode, Sample[]>>(
    mechanisms.map((m) => [m, new Map(MODES.map((mode) => [mode, []]))]),
  );
  // Warm-up: a short run of each mode per mechanism, not kept.
  for (const m of mechanisms) for (const mode of MODES) await runMode(m, mode, 0.2);
  for (let r = 0; r < ROUNDS; r++) {
    const order = mechanisms.map((_, i) => mechanisms[(i + r) % mechanisms.length]!);
    for (const mode of MODES)
      for (const m of order) {
        const s = await runMode(m, mode);
        if (m.receives && s.lost > 0)
          throw new Error(`${m.name}, ${mode}: ${s.lost} invalidations not delivered`);
        samples.get(m)!.get(mode)!.push(s);
      }
  }

  const recoveries: { m: Mechanism; c: ReconnectCase; r: Recovery }[] = [];
  // Tracking first: CLIENT KILL TYPE pubsub also kills the redirect subscribers of ioredis tracking.
  for (const m of [mechanisms[2]!, mechanisms[3]!, mechanisms[0]!, mechanisms[1]!])
    for (const c of m.reconnects) recoveries.push({ m, c, r: await reconnect(m, c) });

  // --- report ---------------------------------------------------------------------------------------

  const med = (m: Mechanism, mode: Mode, k: keyof Omit<Sample, 'commands'>) =>
    median(
      samples
        .get(m)!
        .get(mode)!
        .map((s) => s[k]),
    );
  console.log(
    `\nlatency, ms from the writer's call to a receiver's callback (both receivers; median of ${ROUNDS} rounds of p50/p99/max)`,
  );
  console.log(
    `  ${pad('mechanism', 30)}${pad(`one at a time (${SEQ} x 1 key)`, 32)}burst (${BURST} x ${BURST_KEYS} keys, no waiting)`,
  );
  console.log(
    `  ${pad('', 30)}${lpad('p50', 8)}${lpad('p99', 8)}${lpad('max', 8)}        ${lpad('p50', 8)}${lpad('p99', 8)}${lpad('max', 8)}`,
  );
  for (const m of mechanisms.filter((x) => x.receives)) {
    const row = MODES.map((mode) =>
      ['p50', 'p99', 'max'].map((k) => lpad(ms(med(m, mode, k as 'p50')), 8)).join(''),
    );
    console.log(`  ${pad(m.name, 30)}${row.join('        ')}`);
  }

  console.log(`\ncost per ${PER.toLocaleString('en')} invalidations (median of ${ROUNDS} rounds)`);
  console.log(
    `  ${pad('mechanism', 30)}${pad('mode', 15)}${lpad('cb/recv', 9)}${lpad('keys/cb', 9)}${lpad('self', 7)}${lpad('proc CPU ms', 13)}${lpad('Redis CPU ms', 14)}  Redis commands`,
  );
  for (const m of mechanisms)
    for (const mode of MODES) {
      const cmds = samples.get(m)!.get(mode)!.at(-1)!.commands;
      const text = Object.entries(cmds)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${Math.round(n)}`)
        .join(', ');
      console.log(
        `  ${pad(m.name, 30)}${pad(mode, 15)}${lpad(m.receives ? med(m, mode, 'callsPerReceiver').toFixed(0) : '-', 9)}${lpad(m.receives ? med(m, mode, 'keysPerCall').toFixed(1) : '-', 9)}${lpad(m.receives ? med(m, mode, 'writerSelf').toFixed(0) : '-', 7)}${lpad(med(m, mode, 'processMs').toFixed(0), 13)}${lpad(med(m, mode, 'redisMs').toFixed(0), 14)}  ${text || '-'}`,
      );
    }
  console.log(
    '  cb/recv: delivery callbacks per receiver; keys/cb: keys each carried; self: the writer instance hearing its own',
  );

  console.log(
    `\nreconnect: one invalidation every ${TICK_MS} ms; receiving connections killed; library default reconnect strategies`,
  );
  console.log(
    `  ${pad('mechanism', 30)}${pad('killed', 44)}${pad('recovers?', 11)}${pad('ms to next delivery r1/r2', 28)}lost r1/r2 (of sent after kill)`,
  );
  for (const { m, c, r } of recoveries) {
    const back = r.recoveredMs.every((v) => v !== null);
    console.log(
      `  ${pad(m.name, 30)}${pad(c.label, 44)}${pad(!r.flowingBefore ? 'NOT FLOWING' : back ? 'yes' : 'no', 11)}${pad(r.recoveredMs.map((v) => (v === null ? `none in ${RECOVER_MS}` : v.toFixed(0))).join(' / '), 28)}${r.lost.join(' / ')} of ${r.sentAfter}`,
    );
  }
  console.log(
    `  connection errors seen: ${mechanisms
      .filter((m) => m.receives)
      .map((m) => `${m.name} ${m.errors}`)
      .join(', ')} ('error' events; node-redis needs a listener or the process dies)`,
  );

  console.log('\nRedis Cluster');
  console.log(
    '  pub/sub   PUBLISH is forwarded to every node of the cluster (subscribe on any node; every message crosses the cluster bus to all nodes);',
  );
  console.log(
    '            SPUBLISH/SSUBSCRIBE (7.0+) keep a channel on the shard owning its slot (node-redis cluster.sSubscribe, ioredis Cluster shardedSubscribers).',
  );
  console.log(
    '  tracking  per connection and per node: an invalidation comes only from the node owning the key, so every instance must track (BCAST PREFIX)',
  );
  console.log(
    '            on a connection to every master, and re-arm on failover / resharding / reconnect (node-redis createCluster clientSideCache does per-node default-mode tracking, not BCAST).',
  );

  const f = (m: Mechanism, mode: Mode, k: keyof Omit<Sample, 'commands'>, d = 0) =>
    med(m, mode, k).toFixed(d);
  const [nrPs, ioPs, nrTr, ioTr, nrSet, ioSet] = mechanisms as [
    Mechanism,
    Mechanism,
    Mechanism,
    Mechanism,
    Mechanism,
    Mechanism,
  ];
  const seq: Mode = 'one at a time';
  const lat = (m: Mechanism) => `${f(m, seq, 'p50', 3)}/${f(m, seq, 'p99', 2)}`;
  /** Tracking's cost beyond the same SETs with nobody tracking. */
  const over = (m: Mechanism, base: Mechanism, k: 'redisMs' | 'processMs') => {
    const mine = samples.get(m)!.get('burst')!;
    const theirs = samples.get(base)!.get('burst')!;
    const d = mine.map((s, r) => s[k] - theirs[r]![k]);
    return `${median(d).toFixed(0)} [${Math.min(...d).toFixed(0)}..${Math.max(...d).toFixed(0)}]`;
  };
  const back = (m: Mechanism, label: string) => {
    const x = recoveries.find((y) => y.m === m && y.c.label === label)!.r;
    return x.recoveredMs.every((v) => v !== null)
      ? `back after ${Math.max(...x.recoveredMs.map(Number)).toFixed(0)} ms, ${Math.max(...x.lost)} lost`
      : `never (${Math.max(...x.lost)} of ${x.sentAfter} lost)`;
  };
  const [kill, rearm] = nrTr.reconnects.map((c) => c.label) as [string, string];
  const [ioKill, ioRedirect] = ioTr.reconnects.map((c) => c.label) as [string, string];
  const lines = [
    `latency one at a time is alike: p50/p99 ms pub/sub ${lat(nrPs)} (node-redis), ${lat(ioPs)} (ioredis),`,
    `tracking ${lat(nrTr)} (node-redis RESP3), ${lat(ioTr)} (ioredis REDIRECT).`,
    `burst, per ${PER} x ${BURST_KEYS} keys, the bus alone (tracking minus the same SETs untracked: median [range] of rounds), node-redis / ioredis:`,
    `Redis CPU pub/sub ${f(nrPs, 'burst', 'redisMs')} / ${f(ioPs, 'burst', 'redisMs')} ms vs tracking ${over(nrTr, nrSet, 'redisMs')} / ${over(ioTr, ioSet, 'redisMs')} ms; process CPU pub/sub ${f(nrPs, 'burst', 'processMs')} / ${f(ioPs, 'burst', 'processMs')} ms vs tracking ${over(nrTr, nrSet, 'processMs')} / ${over(ioTr, ioSet, 'processMs')} ms:`,
    `tracking coalesces (${f(nrTr, 'burst', 'callsPerReceiver')} / ${f(ioTr, 'burst', 'callsPerReceiver')} pushes per receiver instead of ${PER} messages), pub/sub sends one per call.`,
    `reconnect: pub/sub resubscribes by itself: node-redis ${back(nrPs, nrPs.reconnects[0]!.label)}, ioredis ${back(ioPs, ioPs.reconnects[0]!.label)};`,
    `tracking never by itself: node-redis ${back(nrTr, kill)}, ${back(nrTr, rearm)} when the app re-arms on 'ready';`,
    `ioredis tracking conn killed: ${back(ioTr, ioKill)}; subscriber killed: ${back(ioTr, ioRedirect)} (resubscribed, redirect id stale).`,
    'Tracking also broadcasts every write under the prefix (cache fills too), carries no origin (NOLOOP helps only',
    'for writes on the tracking connection itself), needs node-redis internals (_getQueue) for BCAST pushes,',
    'and a tracking connection per master on Cluster.',
    'Choice: pub/sub (PUBLISH; SPUBLISH on Cluster): same latency, heals itself, explicit messages with an origin;',
    'batch keys per tick into one message to get the burst cost down; after any reconnect a receiver must still',
    'drop its in-process tier (pub/sub loses what was published while it was away).',
  ];
  console.log('\nchoice');
  for (const line of lines) console.log(`  ${line}`);

  for (const m of mechanisms) await m.close();
} finally {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // already closed
    }
  }
  await server.close();
}
console.log(
  `\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; load average at start ${startLoad}, at end ${loadavg()[0]!.toFixed(2)} (other processes share the cores)`,
);
