/**
 * One small client port over the two Redis clients loaderkit supports, node-redis (`redis` 5 and 6) and
 * ioredis (5 and 6). The store (redis.ts) speaks only this port: raw commands, one pipelined round trip of
 * many commands (never MULTI), readiness, and the client's error events; a Redis Cluster client's port
 * (redis-cluster-port.ts) routes each command by its key. Clients are recognised by their
 * shape, so neither package is imported (both stay optional peers).
 *
 * Readiness is what keeps a dead Redis from growing a queue: a port whose connection is not ready refuses
 * at once instead of handing the command to the client, whose offline queue (on by default in both
 * clients) would hold it until a reconnect.
 */
import { describe } from '../../errors.js';
import type { RemoteNodeStats } from '../store.js';
import {
  ioRedisClusterPort,
  isIoRedisCluster,
  isNodeRedisCluster,
  nodeRedisClusterPort,
} from './redis-cluster-port.js';

export interface RedisPort {
  /** `'node-redis'` or `'ioredis'`. */
  readonly client: string;
  /**
   * Whether the client is a Redis Cluster client (redis-cluster-port.ts): every command must then name
   * its routing key, and the keys of one command must share one slot.
   */
  readonly cluster: boolean;
  /** Whether a command sent now goes out on an open, ready connection. */
  ready(): boolean;
  /** On a cluster: the node (`host:port`) a command routed by `key` goes to now, if the client knows. */
  nodeOf?(key: string): string | undefined;
  /** On a cluster: what each node answered so far (see RemoteStore.nodes). */
  nodes?(): readonly RemoteNodeStats[];
  /**
   * Sends one command (e.g. `['MGET', 'a', 'b']`) and resolves with its reply. `key` routes it on a
   * cluster (a key of the command; ignored by a client of one server).
   */
  command(args: readonly string[], key?: string): Promise<unknown>;
  /**
   * Sends commands in one round trip (on a cluster, one per node), without a transaction; resolves with
   * each reply or the Error that command failed with (rejects only when the round trip itself failed).
   * `keys[i]` routes `commands[i]` on a cluster.
   */
  pipeline(
    commands: ReadonlyArray<readonly string[]>,
    keys?: readonly (string | undefined)[],
  ): Promise<unknown[]>;
  /** Listens to the client's `error` events; returns what stops listening. */
  onError(listener: (error: unknown) => void): () => void;
}

/** The part of a node-redis client (v5, v6) the port uses. */
interface NodeRedisClient {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/** The part of an ioredis client (v5, v6) the port uses. */
interface IoRedisClient {
  readonly status: string;
  connect(): Promise<void>;
  call(command: string, ...args: string[]): Promise<unknown>;
  pipeline(commands: string[][]): { exec(): Promise<Array<[Error | null, unknown]> | null> };
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/** Anything with `error` events. */
interface ErrorEmitter {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/** One `error` listener per client, however many stores use it (no listener build-up). */
const errorListeners = new WeakMap<
  object,
  { readonly listeners: Set<(error: unknown) => void>; readonly dispatch: (error: unknown) => void }
>();

export function listenToErrors(client: ErrorEmitter, listener: (error: unknown) => void): () => void {
  let shared = errorListeners.get(client);
  if (shared === undefined) {
    const listeners = new Set<(error: unknown) => void>();
    const dispatch = (error: unknown) => {
      for (const each of listeners) each(error);
    };
    shared = { listeners, dispatch };
    errorListeners.set(client, shared);
    client.on('error', dispatch);
  }
  const { listeners, dispatch } = shared;
  // A wrapper per store, so the same function given twice is two listeners.
  const own = (error: unknown) => listener(error);
  listeners.add(own);
  return () => {
    if (!listeners.delete(own) || listeners.size > 0) return;
    client.off('error', dispatch);
    errorListeners.delete(client);
  };
}

function isNodeRedis(client: object): client is NodeRedisClient {
  const c = client as Record<string, unknown>;
  return typeof c.sendCommand === 'function' && typeof c.isReady === 'boolean' && typeof c.on === 'function';
}

function isIoRedis(client: object): client is IoRedisClient {
  const c = client as Record<string, unknown>;
  return (
    typeof c.call === 'function' &&
    typeof c.pipeline === 'function' &&
    typeof c.status === 'string' &&
    typeof c.on === 'function'
  );
}

/** A reply as a string where it is one: clients set up to map blob strings to Buffers give Buffers. */
function text(reply: unknown): unknown {
  if (reply instanceof Uint8Array)
    return Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString();
  if (Array.isArray(reply)) {
    for (let i = 0; i < reply.length; i++) if (reply[i] instanceof Uint8Array) return reply.map(text);
  }
  return reply;
}

function nodeRedisPort(client: NodeRedisClient): RedisPort {
  return {
    client: 'node-redis',
    cluster: false,
    ready: () => client.isReady,
    command: (args) => client.sendCommand(args as string[]).then(text),
    // node-redis writes the commands of one tick in one go: a pipeline without MULTI.
    pipeline: (commands) =>
      Promise.all(
        commands.map((args) =>
          client
            .sendCommand(args as string[])
            .then(text, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
        ),
      ),
    onError: (listener) => listenToErrors(client, listener),
  };
}

function ioRedisPort(client: IoRedisClient): RedisPort {
  return {
    client: 'ioredis',
    cluster: false,
    ready() {
      // A client made with lazyConnect connects on its first command, which a port that is not ready
      // never sends: connect it (once; its own retries take over from there).
      if (client.status === 'wait') client.connect().catch(() => {});
      return client.status === 'ready';
    },
    command: ([name, ...args]) => client.call(name!, ...args).then(text),
    async pipeline(commands) {
      // ioredis looks pipelined commands up as its methods, by lower-case name.
      const replies = await client
        .pipeline(commands.map(([name, ...args]) => [name!.toLowerCase(), ...args]))
        .exec();
      if (replies === null) throw new Error('ioredis pipeline was discarded');
      return replies.map(([error, reply]) => error ?? text(reply));
    },
    onError: (listener) => listenToErrors(client, listener),
  };
}

/**
 * The port of a user's client: a node-redis client (`createClient()` of `redis` 5 or 6) or an ioredis
 * client (`new Redis()` of `ioredis` 5 or 6), or a Redis Cluster client of either (`createCluster()`,
 * `new Cluster()`). Throws a TypeError naming what it got otherwise.
 */
export function redisPort(client: unknown): RedisPort {
  if (typeof client === 'object' && client !== null) {
    // Clusters first: a node-redis cluster has sendCommand too.
    if (isNodeRedisCluster(client))
      return nodeRedisClusterPort(client, text, (listener) => listenToErrors(client, listener));
    if (isIoRedisCluster(client))
      return ioRedisClusterPort(client, text, (listener) => listenToErrors(client, listener));
    if (isNodeRedis(client)) return nodeRedisPort(client);
    if (isIoRedis(client)) return ioRedisPort(client);
  }
  throw new TypeError(
    `createRedisStore option client must be a node-redis client (createClient() or createCluster() of redis 5 or 6) or an ioredis client (new Redis() or new Cluster() of ioredis 5 or 6), but got: ${describe(client)}.`,
  );
}

/**
 * A reply error saying the server runs no EVAL for us: the command renamed away or denied by ACL. Not
 * other errors that merely mention scripts or disabled writes (MISCONF, OOM, a key denied by ACL).
 */
export function scriptingRefused(error: Error): boolean {
  return /unknown command [`'"]?eval(?:sha)?\b|NOPERM.*[`'"]eval(?:sha)?[`'"] command/i.test(error.message);
}
