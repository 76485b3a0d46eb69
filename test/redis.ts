/**
 * Real Redis for tests and benchmarks: private redis-server processes on free ports (started, paused,
 * killed and restarted by the test), a TCP proxy that counts round trips, and the four clients loaderkit
 * supports (node-redis 5 and 6, ioredis 5 and 6). Every process started here is killed when the test
 * process exits.
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import net from 'node:net';
import { Cluster as IoCluster5, Redis as IoRedis5 } from 'ioredis';
import { Cluster as IoCluster6, Redis as IoRedis6 } from 'ioredis6';
import { createClient as createClient6, createCluster as createCluster6 } from 'redis';
import { createClient as createClient5, createCluster as createCluster5 } from 'redis5';
import type { CreateLoaders } from '../src/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Runs redis-cli against a port; rejects after `timeoutMs` (a paused server never answers). */
export function redisCli(port: number, args: readonly string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: timeoutMs },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
    );
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running process's pid (changes on restart). */
  readonly pid: number;
  /** SIGSTOP: the server hangs with its sockets open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, and waits for the process to be gone (connections are refused from then on). */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  cli(...args: string[]): Promise<string>;
  /** Calls per command since the last resetStats, from INFO commandstats (lower-case names). */
  commandCounts(): Promise<Record<string, number>>;
  resetStats(): Promise<void>;
  /** Kills the server for good. */
  close(): Promise<void>;
}

async function waitUntilUp(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    try {
      if ((await redisCli(port, ['PING'], 500)) === 'PONG') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on ${port} did not come up`);
}

/** Starts a private redis-server (no persistence) with extra config arguments, e.g. `['--maxmemory', '2mb']`. */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
      { stdio: 'ignore' },
    );
    started.add(child);
    child.on('exit', () => started.delete(child));
    await waitUntilUp(port, child);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
  await launch();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid!;
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    kill,
    restart: launch,
    cli: (...cliArgs) => redisCli(port, cliArgs),
    async commandCounts() {
      const info = await redisCli(port, ['INFO', 'commandstats']);
      const counts: Record<string, number> = {};
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        counts[match[1]!] = Number(match[2]);
      // The counting itself and the reset are not the code under test, nor are the invalidation bus's
      // heartbeats, which run in the background (PING on the subscriber; PSETEX and SADD announcing the
      // instance): test/cache/stores/redis-bus.test.ts counts those.
      for (const name of Object.keys(counts))
        if (/^(info|config|ping|psetex|sadd)\b/.test(name)) delete counts[name];
      return counts;
    },
    async resetStats() {
      await redisCli(port, ['CONFIG', 'RESETSTAT']);
    },
    close: kill,
  };
  return server;
}

/**
 * Where the RESP value starting at `at` ends, or -1 when `buffer` does not hold all of it yet. Reads
 * RESP2 and RESP3 replies and commands (arrays of bulk strings, or inline commands).
 */
function respEnd(buffer: Buffer, at: number): number {
  const line = buffer.indexOf('\r\n', at);
  if (line === -1) return -1;
  const type = String.fromCharCode(buffer[at]!);
  const head = buffer.toString('latin1', at + 1, line);
  let next = line + 2;
  switch (type) {
    case '$':
    case '!':
    case '=': {
      const length = Number(head);
      if (length < 0) return next;
      return buffer.length >= next + length + 2 ? next + length + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const count = Number(head) * (type === '%' || type === '|' ? 2 : 1);
      for (let i = 0; i < count; i++) {
        next = respEnd(buffer, next);
        if (next === -1) return -1;
      }
      return type === '|' ? respEnd(buffer, next) : next;
    }
    default:
      // + - : _ , # ( and inline commands: one line.
      return next;
  }
}

/** Counts the RESP values of one direction of a connection, and whether one is half received. */
function respCounter() {
  let pending: Buffer = Buffer.alloc(0);
  return {
    /** Values complete so far. */
    complete: 0,
    /** Bytes of a value begun but not complete. */
    get partial() {
      return pending.length > 0;
    },
    feed(chunk: Buffer) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (at < pending.length) {
        const end = respEnd(pending, at);
        if (end === -1) break;
        this.complete++;
        at = end;
      }
      pending = pending.subarray(at);
    },
  };
}

/**
 * A TCP proxy in front of a server that counts round trips: a client that sends while every command
 * it sent before has been answered starts a round trip. Commands pipelined together are one, however
 * the client's writes are cut into chunks (a chunk that ends inside a command cannot have been answered).
 */
export async function roundTripProxy(target: number): Promise<{
  readonly port: number;
  readonly roundTrips: number;
  reset(): void;
  close(): Promise<void>;
}> {
  let roundTrips = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const commands = respCounter();
    const replies = respCounter();
    client.on('data', (chunk: Buffer) => {
      if (!commands.partial && commands.complete === replies.complete) roundTrips++;
      commands.feed(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      replies.feed(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get roundTrips() {
      return roundTrips;
    },
    reset() {
      roundTrips = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A connected client of one of the supported libraries, and how to end it. */
export interface TestClient {
  readonly client: unknown;
  /** Ends the connection without waiting on the server (works on a dead or paused one). */
  close(): Promise<void>;
}

export interface ClientKind {
  readonly name: string;
  readonly library: 'node-redis' | 'ioredis';
  /**
   * Connects with the library's defaults (offline queue and retries on, as most users leave them),
   * except a fast reconnect so tests need not wait long after a restart.
   */
  connect(port: number): Promise<TestClient>;
}

// The two majors' generic client types do not unify.
type AnyCreateClient = (options: object) => any;

function nodeRedis(name: string, create: AnyCreateClient): ClientKind {
  return {
    name,
    library: 'node-redis',
    async connect(port) {
      const client = create({
        url: `redis://127.0.0.1:${port}`,
        socket: { reconnectStrategy: (retries: number) => Math.min(20 + retries * 20, 200) },
      });
      // No error listener of the test's own: the store's must keep the client from crashing the process.
      await client.connect();
      return {
        client,
        async close() {
          try {
            client.destroy();
          } catch {
            // already closed
          }
        },
      };
    },
  };
}

// The two majors' client classes do not unify.
type AnyIoRedis = new (options: object) => any;

function ioredis(name: string, Redis: AnyIoRedis): ClientKind {
  return {
    name,
    library: 'ioredis',
    async connect(port) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        retryStrategy: (times: number) => Math.min(20 + times * 20, 200),
      });
      await client.connect();
      return {
        client,
        async close() {
          client.disconnect(false);
        },
      };
    },
  };
}

/** Every supported client library and major version. */
export const CLIENTS: readonly ClientKind[] = [
  nodeRedis('redis 6', createClient6),
  nodeRedis('redis 5', createClient5),
  ioredis('ioredis 5', IoRedis5),
  ioredis('ioredis 6', IoRedis6),
];

/** One client per library (its newest major): fault tests run each. */
export const FAULT_CLIENTS: readonly ClientKind[] = [CLIENTS[0]!, CLIENTS[3]!];

/**
 * Waits until every given loader definition's invalidation bus trusts its in-process tier (subscribed,
 * first heartbeat answered), so that a test's counts start after the bus's own start-up.
 */
export async function busReady(
  ...definitions: Array<{ stats(): { bus?: { trusted: boolean } | undefined } }>
): Promise<void> {
  const end = Date.now() + 5000;
  while (!definitions.every((d) => d.stats().bus?.trusted !== false)) {
    if (Date.now() > end) throw new Error('the invalidation bus did not become trusted within 5 s');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** What an instance process (test/redis-instance.ts) answers for a load. */
export interface InstanceLoaded {
  values: Array<{ id: number; tenant: string; by: number; version: number }>;
  ms: number;
  sourceCalls: number;
  locks: { taken: number; waited: number; landed: number; timedOut: number };
}

const instances = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of instances) child.kill('SIGKILL');
});

/**
 * Starts an instance process (test/redis-instance.ts: a shared loader over its own Redis store on
 * `port`, with the `client` kind) and resolves its handle; `sources` records its source calls.
 */
export function startInstance(
  port: number,
  client: string,
  options: { lock?: object; sourceMs?: number } = {},
) {
  const child = fork('test/redis-instance.ts', [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      REDIS_PORT: String(port),
      CLIENT: client,
      LOCK: options.lock === undefined ? '' : JSON.stringify(options.lock),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  instances.add(child);
  child.once('exit', () => instances.delete(child));
  const sources: number[][] = [];
  /** The tenant of each source call. */
  const tenants: string[] = [];
  let onLoaded: ((loaded: InstanceLoaded) => void) | null = null;
  let onInvalidated: (() => void) | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
    child.on(
      'message',
      (message: {
        ready?: true;
        source?: number[];
        tenant?: string;
        loaded?: InstanceLoaded;
        invalidated?: true;
      }) => {
        if (message.ready) resolve();
        if (message.source) {
          sources.push(message.source);
          tenants.push(message.tenant ?? '');
        }
        if (message.loaded) onLoaded?.(message.loaded);
        if (message.invalidated) onInvalidated?.();
      },
    );
  });
  ready.catch(() => {});
  const ask = (message: object) =>
    new Promise<void>((resolve) => {
      onInvalidated = resolve;
      child.send(message);
    });
  return {
    child,
    sources,
    tenants,
    ready,
    /** Loads `id` in `requests` concurrent requests of the instance (of tenant `acme` unless given). */
    load(
      id: number,
      requests: number,
      sourceMs = options.sourceMs ?? 0,
      tenant = 'acme',
    ): Promise<InstanceLoaded> {
      return new Promise((resolve) => {
        onLoaded = resolve;
        child.send({ load: { id, requests, sourceMs, tenant } });
      });
    },
    invalidate: (id: number, tenant = 'acme') => ask({ invalidate: id, tenant }),
    invalidateScope: (tenant: string) => ask({ invalidateScope: tenant }),
  };
}

/** SIGKILLs every instance process still running. */
export function stopInstances(): void {
  for (const child of instances) child.kill('SIGKILL');
  instances.clear();
}

/** A local Redis Cluster of private redis-servers (see startCluster). */
export interface RedisCluster {
  /** Every node, masters first (in slot order of `redis-cli --cluster create`), then replicas. */
  readonly nodes: readonly RedisServer[];
  /** `host:port` of every node, for the clients' root nodes. */
  readonly addresses: readonly string[];
  /** `CLUSTER KEYSLOT key` on a node: the server's own answer. */
  keySlot(key: string): Promise<number>;
  /** The live master serving `slot` now, and its replica (if any), as the nodes say. */
  shardOf(slot: number): Promise<{ master: RedisServer; replica: RedisServer | undefined }>;
  /** Moves `slot` with its keys from its master to the master `to` (resharding, both stay up). */
  moveSlot(slot: number, to: RedisServer): Promise<void>;
  /** Kills every node for good. */
  close(): Promise<void>;
}

async function isLiveMaster(node: RedisServer): Promise<boolean> {
  try {
    return /role:master/.test(await node.cli('INFO', 'replication'));
  } catch {
    return false; // killed
  }
}

async function shardOf(nodes: readonly RedisServer[], slot: number) {
  for (const node of nodes) {
    if (!(await isLiveMaster(node))) continue;
    // Its own line of CLUSTER NODES lists the slots it serves.
    const line = (await node.cli('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!;
    const serves = line
      .split(' ')
      .slice(8)
      .some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return slot >= from! && slot <= to!;
      });
    if (!serves) continue;
    let replica: RedisServer | undefined;
    for (const other of nodes) {
      const info = await other.cli('INFO', 'replication').catch(() => '');
      if (new RegExp(`role:slave[\\s\\S]*master_port:${node.port}\\b`).test(info)) replica = other;
    }
    return { master: node, replica };
  }
  throw new Error(`no master serves slot ${slot}`);
}

/**
 * Starts a Redis Cluster on free ports: `masters` masters (each with `replicas` replicas), the slots
 * spread by `redis-cli --cluster create`, node timeout 1 s (a killed master fails over quickly); resolves
 * once every node says `cluster_state:ok`.
 */
export async function startCluster(masters = 3, replicas = 0): Promise<RedisCluster> {
  const { mkdirSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'loaderkit-cluster-'));
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      // A directory per node: a replica's full sync writes an RDB file there.
      const own = join(dir, `node-${i}`);
      mkdirSync(own);
      nodes.push(
        await startRedis([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${i}.conf`),
          '--cluster-node-timeout',
          '1000',
          // A replica syncs at once (else the master waits 5 s for more replicas, and a master killed
          // before that has no replica able to take over).
          '--repl-diskless-sync-delay',
          '0',
          '--dir',
          own,
          '--logfile',
          join(own, 'log'),
        ]),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
        (error, _stdout, stderr) =>
          error ? reject(new Error(`cluster create failed: ${stderr}`)) : resolve(),
      );
    });
    const end = Date.now() + 20_000;
    for (const node of nodes) {
      while (!/cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO'))) {
        if (Date.now() > end) throw new Error('the cluster did not come up');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    for (const replica of nodes.slice(masters)) {
      while (!/master_link_status:up/.test(await replica.cli('INFO', 'replication'))) {
        if (Date.now() > end) throw new Error('a replica did not sync');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return {
      nodes,
      addresses,
      keySlot: async (key) => Number(await nodes[0]!.cli('CLUSTER', 'KEYSLOT', key)),
      shardOf: (slot) => shardOf(nodes, slot),
      async moveSlot(slot, to) {
        const { master: from } = await shardOf(nodes, slot);
        const toId = (await to.cli('CLUSTER', 'MYID')).trim();
        await to.cli(
          'CLUSTER',
          'SETSLOT',
          String(slot),
          'IMPORTING',
          (await from.cli('CLUSTER', 'MYID')).trim(),
        );
        await from.cli('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
        const keys = (await from.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '10000'))
          .split('\n')
          .filter(Boolean);
        if (keys.length > 0)
          await from.cli('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
        for (const node of nodes)
          if (await isLiveMaster(node)) await node.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
      },
      async close() {
        for (const node of nodes) await node.close();
      },
    };
  } catch (error) {
    for (const node of nodes) await node.close();
    throw error;
  }
}

/**
 * A Cluster client of one of the supported libraries. `via` maps a node's port to the port the client
 * connects to instead (a round-trip proxy in front of the node); the nodes announce their own ports.
 */
export interface ClusterClientKind {
  readonly name: string;
  readonly library: 'node-redis' | 'ioredis';
  connect(cluster: RedisCluster, via?: ReadonlyMap<number, number>): Promise<TestClient>;
}

type AnyCreateCluster = (options: any) => any;

function nodeRedisCluster(name: string, create: AnyCreateCluster): ClusterClientKind {
  return {
    name,
    library: 'node-redis',
    async connect(cluster, via) {
      const port = (real: number) => via?.get(real) ?? real;
      const client = create({
        rootNodes: cluster.nodes.map((node) => ({ url: `redis://127.0.0.1:${port(node.port)}` })),
        nodeAddressMap: (address: string) => {
          const [host, real] = address.split(':');
          return { host: host!, port: port(Number(real)) };
        },
        defaults: {
          socket: { reconnectStrategy: (retries: number) => Math.min(20 + retries * 20, 200) },
        },
      });
      await client.connect();
      return {
        client,
        async close() {
          try {
            client.destroy();
          } catch {
            // already closed
          }
        },
      };
    },
  };
}

type AnyIoCluster = new (nodes: object[], options: object) => any;

function ioredisCluster(name: string, Cluster: AnyIoCluster): ClusterClientKind {
  return {
    name,
    library: 'ioredis',
    async connect(cluster, via) {
      const port = (real: number) => via?.get(real) ?? real;
      const natMap: Record<string, { host: string; port: number }> = {};
      for (const node of cluster.nodes)
        natMap[`127.0.0.1:${node.port}`] = { host: '127.0.0.1', port: port(node.port) };
      const client = new Cluster(
        cluster.nodes.map((node) => ({ host: '127.0.0.1', port: port(node.port) })),
        {
          natMap,
          lazyConnect: true,
          clusterRetryStrategy: (times: number) => Math.min(20 + times * 20, 200),
          redisOptions: { retryStrategy: (times: number) => Math.min(20 + times * 20, 200) },
        },
      );
      await client.connect();
      return {
        client,
        async close() {
          client.disconnect(false);
        },
      };
    },
  };
}

/** Every supported client library and major version, as a Cluster client. */
export const CLUSTER_CLIENTS: readonly ClusterClientKind[] = [
  nodeRedisCluster('redis 6', createCluster6),
  nodeRedisCluster('redis 5', createCluster5),
  ioredisCluster('ioredis 5', IoCluster5),
  ioredisCluster('ioredis 6', IoCluster6),
];

/**
 * Requests that keep loading (10 random keys of `keys` each, every 2 ms) from a `users` loader whose
 * rows are `{ id, name: 'user <id>' }`, while a test breaks Redis: what went wrong and how long loads took.
 */
export function traffic(createLoaders: CreateLoaders<any>, keys = 200) {
  let running = true;
  let failed = 0;
  let wrong = 0;
  let loads = 0;
  let slowest = 0;
  const inFlight = new Set<Promise<void>>();
  const one = async () => {
    const loaders = createLoaders({}) as unknown as {
      users: { load(id: number): Promise<{ id: number; name: string }> };
    };
    const ids = Array.from({ length: 10 }, () => Math.floor(Math.random() * keys));
    const started = performance.now();
    const results = await Promise.allSettled(ids.map((id) => loaders.users.load(id)));
    slowest = Math.max(slowest, performance.now() - started);
    results.forEach((result, i) => {
      loads++;
      if (result.status === 'rejected') failed++;
      else if (result.value.id !== ids[i] || result.value.name !== `user ${ids[i]}`) wrong++;
    });
  };
  const loop = (async () => {
    while (running) {
      const request = one();
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
      await sleep(2);
    }
  })();
  return {
    get figures() {
      return { loads, failed, wrong, slowest };
    },
    /** Forgets the slowest load so far (a new phase starts). */
    resetSlowest() {
      slowest = 0;
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return { loads, failed, wrong, slowest };
    },
  };
}

/** Waits until the loader answers from Redis again; resolves with how long that took. */
export async function untilRemoteHits(createLoaders: CreateLoaders<any>, boundMs: number) {
  const started = Date.now();
  const hits = () => createLoaders.stats().loaders.users!.remoteHits;
  const before = hits();
  while (hits() === before) {
    if (Date.now() - started > boundMs) throw new Error(`no Redis hit within ${boundMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}
