/**
 * The port (redis-port.ts) of a Redis Cluster client: node-redis `createCluster()` (`redis` 5, 6) or
 * ioredis `new Cluster()` (5, 6). A command is routed by its key (the caller names it: the first key of
 * a command whose keys all share one slot), and the commands of one `pipeline` call go out together per
 * node: one round trip per node touched, never a round trip per command. MOVED and ASK redirects, and
 * following a failover, are the client's own.
 */
import { LRUCache } from 'lru-cache';
import type { RemoteNodeStats } from '../store.js';
import { slotOf } from './cluster-slots.js';
import type { RedisPort } from './redis-port.js';

/** Nodes remembered in the per-node figures (a failover may bring new addresses; the oldest go). */
const MAX_NODES = 256;

/** Per-node counts of one port. */
function nodeCounter() {
  const counts = new LRUCache<string, { ok: number; errors: number; refused: number }>({ max: MAX_NODES });
  return {
    /** Counts one command's outcome at `node`. */
    add(node: string | undefined, outcome: 'ok' | 'errors' | 'refused') {
      const name = node ?? 'unknown';
      let entry = counts.get(name);
      if (entry === undefined) {
        entry = { ok: 0, errors: 0, refused: 0 };
        counts.set(name, entry);
      }
      entry[outcome]++;
    },
    /** A command's reply (as text) once it settled, counted at `node`. */
    settled(node: string | undefined, reply: Promise<unknown>, text: (reply: unknown) => unknown) {
      return reply.then(
        (value) => {
          this.add(node, 'ok');
          return text(value);
        },
        (error: unknown) => {
          this.add(node, 'errors');
          throw error;
        },
      );
    },
    snapshot(): RemoteNodeStats[] {
      return [...counts.entries()]
        .map(([node, c]) => ({ node, ...c }))
        .sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0));
    },
  };
}

/** The part of a node-redis cluster (v5, v6) the port uses. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly slots: ReadonlyArray<{
    readonly master?: { readonly address?: string; readonly client?: { readonly isReady: boolean } };
  }>;
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
  nodes(
    role: 'master',
  ): ReadonlyArray<{ readonly status: string; readonly options: { host?: string; port?: number } }>;
  refreshSlotsCache(callback?: (error?: unknown) => void): void;
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

/** ioredis connection states in which a command would wait for a reconnect. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

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
  const nodeOf = (key: string) => cluster.slots[slotOf(key)]?.master?.address;
  const counts = nodeCounter();
  const send = (args: readonly string[], key: string | undefined) => {
    if (key === undefined) unrouted(args);
    const node = nodeOf(key);
    if (!nodeReady(key)) {
      counts.add(node, 'refused');
      return Promise.reject(nodeNotReady(key));
    }
    return counts.settled(node, cluster.sendCommand(key, false, args as string[]), text);
  };
  return {
    client: 'node-redis',
    cluster: true,
    // v6 also has isReady; v5 only isOpen. A node that is down is caught per command.
    ready: () => (cluster as { isReady?: boolean }).isReady ?? cluster.isOpen,
    nodeOf,
    nodes: counts.snapshot,
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
  /** The connection status of each master the client holds, by `host:port` (as `slots` names them). */
  const masterStatus = () => {
    const status = new Map<string, string>();
    const masters = typeof cluster.nodes === 'function' ? cluster.nodes('master') : [];
    for (const node of masters) status.set(`${node.options.host}:${node.options.port}`, node.status);
    return status;
  };
  const counts = nodeCounter();
  const nodeOf = (key: string) => cluster.slots[slotOf(key)]?.[0];
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
    nodeOf,
    nodes: counts.snapshot,
    command(args, key) {
      if (key === undefined) unrouted(args);
      const [name, ...rest] = args;
      return counts.settled(nodeOf(key), cluster.call(name!, ...rest), text);
    },
    async pipeline(commands, keys) {
      // ioredis sends a pipeline to one node, and refuses one whose keys' slots live on different nodes:
      // one pipeline per node (grouped by the master and replicas the client knows for the slot).
      const status = masterStatus();
      const groups = new Map<string, number[]>();
      const out: unknown[] = new Array(commands.length);
      commands.forEach((args, i) => {
        const key = keys?.[i];
        if (key === undefined) unrouted(args);
        const slot = slotOf(key);
        const nodes = cluster.slots[slot];
        // A master whose connection is down (lost, reconnecting): not sent (ioredis would hold it in its
        // retries). One not connected yet (ioredis connects a node at its first command) or unknown is
        // left to the client.
        const master = nodes?.[0] === undefined ? undefined : status.get(nodes[0]);
        if (master !== undefined && DOWN.has(master)) {
          out[i] = nodeNotReady(key);
          counts.add(nodes?.[0], 'refused');
          return;
        }
        const node = nodes?.join(';') ?? `slot ${slot}`;
        const group = groups.get(node);
        if (group === undefined) groups.set(node, [i]);
        else group.push(i);
      });
      await Promise.all(
        [...groups.values()].map(async (indices) => {
          let replies: unknown[];
          try {
            replies = await exec(indices.map((i) => commands[i]!));
          } catch (error) {
            replies = indices.map(() => asError(error));
          }
          const node = nodeOf(keys![indices[0]!]!);
          indices.forEach((i, at) => {
            out[i] = replies[at];
            counts.add(node, replies[at] instanceof Error ? 'errors' : 'ok');
          });
        }),
      );
      // ioredis follows a redirect of a pipeline only when all its errors are the same one: after a
      // reshard a pipeline's MOVED replies are answered as they are, and its slot table is not
      // refreshed. Refresh it, and send those commands again one by one (which follows redirects).
      const moved: number[] = [];
      out.forEach((reply, i) => {
        if (reply instanceof Error && /^(MOVED|ASK) /.test(reply.message)) moved.push(i);
      });
      if (moved.length > 0) {
        try {
          cluster.refreshSlotsCache();
        } catch {
          // a refresh already running
        }
        await Promise.all(
          moved.map(async (i) => {
            const [name, ...rest] = commands[i]!;
            out[i] = await cluster.call(name!, ...rest).then(text, asError);
          }),
        );
      }
      return out;
    },
    onError,
  };
}
