/**
 * The port (redis-port.ts) of a Redis Cluster client: node-redis `createCluster()` (`redis` 5, 6) or
 * ioredis `new Cluster()` (5, 6). A command is routed by its key (the caller names it: the first key of
 * a command whose keys all share one slot), and the commands of one `pipeline` call go out together per
 * node: one round trip per node touched, never a round trip per command. MOVED and ASK redirects, and
 * following a failover, are the client's own.
 */
import { slotOf } from './cluster-slots.js';
import type { RedisPort } from './redis-port.js';

/** The part of a node-redis cluster (v5, v6) the port uses. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly slots: ReadonlyArray<{ readonly master?: { readonly client?: { readonly isReady: boolean } } }>;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/** The part of an ioredis cluster (v5, v6) the port uses. */
export interface IoRedisCluster {
  readonly isCluster: true;
  readonly status: string;
  /** Per slot, the `host:port` of its master then its replicas (what the client last learnt). */
  readonly slots: ReadonlyArray<readonly string[] | undefined>;
  connect(): Promise<void>;
  call(command: string, ...args: string[]): Promise<unknown>;
  pipeline(commands: string[][]): { exec(): Promise<Array<[Error | null, unknown]> | null> };
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

export function isNodeRedisCluster(client: object): client is NodeRedisCluster {
  const c = client as Record<string, unknown>;
  return (
    typeof c.sendCommand === 'function' &&
    'masters' in c &&
    'slots' in c &&
    typeof c.isOpen === 'boolean' &&
    typeof c.on === 'function'
  );
}

export function isIoRedisCluster(client: object): client is IoRedisCluster {
  const c = client as Record<string, unknown>;
  return c.isCluster === true && typeof c.call === 'function' && typeof c.pipeline === 'function';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The error a command gets when the master of its key's slot has no ready connection. */
function nodeNotReady(key: string): Error {
  return new Error(
    `the connection to the master of slot ${slotOf(key)} is not ready; the command was not sent (nothing waits in the client's offline queue)`,
  );
}

/** Why a cluster command cannot be routed: the caller named no key. */
function unrouted(args: readonly string[]): never {
  throw new TypeError(`a Redis Cluster command needs a routing key: ${args[0]}`);
}

export function nodeRedisClusterPort(
  cluster: NodeRedisCluster,
  text: (reply: unknown) => unknown,
  onError: RedisPort['onError'],
): RedisPort {
  /** Whether the master of the key's slot has a ready connection (unknown slots are left to the client). */
  const nodeReady = (key: string) => cluster.slots[slotOf(key)]?.master?.client?.isReady !== false;
  const send = (args: readonly string[], key: string | undefined) => {
    if (key === undefined) unrouted(args);
    if (!nodeReady(key)) return Promise.reject(nodeNotReady(key));
    return cluster.sendCommand(key, false, args as string[]).then(text);
  };
  return {
    client: 'node-redis',
    cluster: true,
    // v6 also has isReady; v5 only isOpen. A node that is down is caught per command.
    ready: () => (cluster as { isReady?: boolean }).isReady ?? cluster.isOpen,
    command: send,
    // The node clients write the commands of one tick together: one round trip per node.
    pipeline: (commands, keys) =>
      Promise.all(commands.map((args, i) => send(args, keys?.[i]).catch(asError))),
    onError,
  };
}

export function ioRedisClusterPort(
  cluster: IoRedisCluster,
  text: (reply: unknown) => unknown,
  onError: RedisPort['onError'],
): RedisPort {
  const exec = async (commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> => {
    const replies = await cluster
      .pipeline(commands.map(([name, ...args]) => [name!.toLowerCase(), ...args]))
      .exec();
    if (replies === null) throw new Error('ioredis pipeline was discarded');
    return replies.map(([error, reply]) => error ?? text(reply));
  };
  return {
    client: 'ioredis',
    cluster: true,
    ready() {
      if (cluster.status === 'wait') cluster.connect().catch(() => {});
      return cluster.status === 'ready';
    },
    command(args, key) {
      if (key === undefined) unrouted(args);
      const [name, ...rest] = args;
      return cluster.call(name!, ...rest).then(text);
    },
    async pipeline(commands, keys) {
      // ioredis sends a pipeline to one node, and refuses one whose keys' slots live on different nodes:
      // one pipeline per node (grouped by the master and replicas the client knows for the slot).
      const groups = new Map<string, number[]>();
      commands.forEach((args, i) => {
        const key = keys?.[i];
        if (key === undefined) unrouted(args);
        const slot = slotOf(key);
        const node = cluster.slots[slot]?.join(';') ?? `slot ${slot}`;
        const group = groups.get(node);
        if (group === undefined) groups.set(node, [i]);
        else group.push(i);
      });
      const out: unknown[] = new Array(commands.length);
      await Promise.all(
        [...groups.values()].map(async (indices) => {
          let replies: unknown[];
          try {
            replies = await exec(indices.map((i) => commands[i]!));
          } catch (error) {
            replies = indices.map(() => asError(error));
          }
          indices.forEach((i, at) => {
            out[i] = replies[at];
          });
        }),
      );
      return out;
    },
    onError,
  };
}
