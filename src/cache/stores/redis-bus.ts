/**
 * The invalidation bus transport of the Redis store (../../bus/bus.ts): Redis pub/sub on one channel.
 * Messages are PUBLISHed on the store's client and heard on a dedicated subscriber connection (by
 * default a duplicate of the client, made, owned and closed by the store). Heartbeats are PINGs on the
 * subscriber connection: Redis answers them in order after every message it pushed there before.
 *
 * Works alike with node-redis (`redis` 5, 6) and ioredis (5, 6), RESP2 or RESP3. On every (re)connection of
 * the subscriber the transport tells the bus of a gap and subscribes again itself (whatever the client's
 * own resubscription does), before the bus's next heartbeat goes out; a heartbeat is only sent once that
 * subscription was answered. Nothing waits for a connection: a publish or ping while the connection is
 * not ready rejects at once, and at most MAX_IN_FLIGHT publishes wait for replies (a hung server grows no
 * queue).
 */
import type { BusTransport, TransportListener } from '../../bus/bus.js';
import { deadline, raced } from '../../bus/deadline.js';
import { describe } from '../../errors.js';
import { fnv1a, slotOf } from './cluster-slots.js';
import { listenToErrors, type RedisPort, scriptingRefused } from './redis-port.js';

export interface RedisInvalidationOptions {
  /**
   * The connection that listens. Default: `client.duplicate()`, connected by the store when the first
   * shared loader uses it and closed by `store.close()` (it never keeps the process alive). A
   * connection you pass is yours: the store subscribes it and unsubscribes it on close, nothing more.
   * It must be a client of the same kind (node-redis or ioredis) used for nothing else while subscribed.
   */
  subscriber?: unknown;
  /** The pub/sub channel. Every loaderkit on one Redis may share it (messages name their loaders). Default: `'loaderkit:invalidate'`. */
  channel?: string;
  /**
   * Milliseconds between heartbeats on the subscriber connection. Default: `500`.
   */
  heartbeatMs?: number;
  /**
   * The bound: milliseconds after the last answered heartbeat was sent that the in-process tier is still
   * read. Past it (the channel is down or Redis hangs), shared loads skip the in-process tier (they read
   * Redis or the source) until a heartbeat is answered again, and then start from an emptied in-process
   * tier. Also how long `invalidateScope` waits at most for instances that do not acknowledge. Must be
   * more than `heartbeatMs`. Default: `2000`.
   */
  staleAfterMs?: number;
  /** Milliseconds a PUBLISH may take before it counts as failed. Default: `100`. */
  timeoutMs?: number;
}

export const INVALIDATION_OPTIONS = ['subscriber', 'channel', 'heartbeatMs', 'staleAfterMs', 'timeoutMs'];

/** Publishes waiting for a reply at most; more fail at once (counted by the bus). */
const MAX_IN_FLIGHT = 256;

/** The listening connection, whichever client it is. */
interface Subscriber {
  ready(): boolean;
  /** Subscribes to the channel (again); resolves once Redis answered. */
  subscribe(): Promise<void>;
  ping(): Promise<unknown>;
  /** Calls `changed` on every connection and disconnection; returns what stops it. */
  onConnection(changed: (ready: boolean) => void): () => void;
  close(): Promise<void>;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new TypeError(
      `createRedisStore option invalidation.${name} must be a finite number of milliseconds > 0, but got: ${describe(value)}.`,
    );
  return value;
}

/** The transport of one Redis store; `client` is the store's, for PUBLISH. */
export function redisBus(
  storeName: string,
  client: object,
  port: RedisPort,
  options: RedisInvalidationOptions,
  onError: (error: unknown) => void,
): BusTransport {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(
      `createRedisStore option invalidation must be false or an object, but got: ${describe(options)}.`,
    );
  for (const name of Object.keys(options))
    if (!INVALIDATION_OPTIONS.includes(name))
      throw new TypeError(
        `createRedisStore: unknown option invalidation.${name}; valid options: ${INVALIDATION_OPTIONS.join(', ')}.`,
      );
  const channel = options.channel ?? 'loaderkit:invalidate';
  if (typeof channel !== 'string' || channel === '')
    throw new TypeError(
      `createRedisStore option invalidation.channel must be a non-empty string, but got: ${describe(channel)}.`,
    );
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 500);
  const staleAfterMs = positive('staleAfterMs', options.staleAfterMs, 2000);
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 100);
  if (!(staleAfterMs > heartbeatMs))
    throw new TypeError(
      `createRedisStore option invalidation.staleAfterMs (${staleAfterMs}) must be more than heartbeatMs (${heartbeatMs}).`,
    );
  const given = options.subscriber;
  if (port.cluster && given !== undefined)
    throw new TypeError(
      "createRedisStore option invalidation.subscriber cannot be used with a Redis Cluster client: the store listens on a connection of its own to the master of the channel's slot, and follows a failover.",
    );
  if (
    !port.cluster &&
    given === undefined &&
    typeof (client as { duplicate?: unknown }).duplicate !== 'function'
  )
    throw new TypeError(
      'createRedisStore: the client has no duplicate() to make the invalidation subscriber from; pass invalidation.subscriber, or invalidation: false.',
    );
  if (given !== undefined && !isSubscriber(given, port.client))
    throw new TypeError(
      `createRedisStore option invalidation.subscriber must be a ${port.client} client like the store's client, but got: ${describe(given)}.`,
    );

  let subscriber: Subscriber | null = null;
  let stop: (() => void) | null = null;
  /** The bus listening (set once by listen). */
  let listening: TransportListener | null = null;
  /** Whether the listening connection is subscribed now (a ping is only a heartbeat then). */
  let subscribed = false;
  /** The ping waiting for its answer: never more than one (a hung server grows no queue of them). */
  let pinging: Promise<unknown> | null = null;
  let inFlight = 0;
  let closed = false;
  /** Whether the server runs our presence script; false once it refused EVAL. */
  let scripting = true;
  // One hash tag for both, so that the presence script's keys share a slot on Redis Cluster: the channel
  // itself, or a hash of it where a brace in it would make another tag (or none).
  const tag = /[{}]/.test(channel) ? fnv1a(channel) : channel;
  const registry = `{${tag}}:instances`;
  const presence = (origin: string) => `{${tag}}:instance:${origin}`;

  const notReady = (what: string) =>
    new Error(
      `redis store ${JSON.stringify(storeName)}: the ${port.client} ${what} connection is not ready (nothing waits for it).`,
    );
  const closedError = (method: string) =>
    new Error(`redis store ${JSON.stringify(storeName)} is closed (${method}).`);
  /** A command on the store's client, under the signal and the bound of unanswered calls. */
  const send = (args: readonly string[], signal: AbortSignal, key: string) => {
    if (closed) return Promise.reject(closedError(args[0]!));
    if (!port.ready()) return Promise.reject(notReady('client'));
    if (inFlight >= MAX_IN_FLIGHT)
      return Promise.reject(
        new Error(`redis store ${JSON.stringify(storeName)}: ${inFlight} calls unanswered.`),
      );
    inFlight++;
    return raced(
      port.command(args, key).finally(() => inFlight--),
      signal,
    );
  };

  /** Makes what `make` gives the listening connection (owned: made by the store, closed by it). */
  const attach = (make: () => unknown, owned: boolean) => {
    const listener = listening!;
    let current: Subscriber;
    let source: unknown;
    try {
      source = make();
      current = subscriberOf(source, port.client, channel, owned, port.cluster, (text) =>
        listener.message(text),
      );
    } catch (error) {
      // Never trusted then: shared loads read Redis, not the in-process tier.
      onError(error);
      return;
    }
    subscriber = current;
    attachedAt = performance.now();
    const stopErrors = listenToErrors(source as Parameters<typeof listenToErrors>[0], onError);
    // A connection of the store's own keeps a listener for good: one that errs after the store let go of
    // it (while closing) must not crash the process with an unheard `error` event.
    if (owned) (source as { on(event: 'error', listener: () => void): unknown }).on('error', () => {});
    let generation = 0;
    const resubscribe = () => {
      const mine = ++generation;
      current.subscribe().then(
        () => {
          if (mine !== generation || closed) return;
          subscribed = true;
          subscribedAt = performance.now();
          // Subscribed (again): the bus probes before it trusts anything.
          listener.gap();
        },
        (error: unknown) => {
          onError(error);
          // On a Cluster: maybe a node that no longer serves the slot (MOVED): try the one known now.
          if (port.cluster && mine === generation && !closed) {
            stale = true;
            detach();
            attachLater();
          }
        },
      );
    };
    const stopConnection = current.onConnection((ready) => {
      generation++;
      subscribed = false;
      pinging = null;
      listener.gap();
      if (ready) resubscribe();
      // On a Cluster the connection is to the master of the channel's slot, which a failover replaces:
      // drop it, and connect again to whichever master the client knows by then.
      else if (port.cluster) {
        stale = true;
        detach();
        attachLater();
      }
    });
    // The user closing their client closes the subscriber made from it (else its reconnect timers
    // would keep the process alive).
    const stopFollowing = owned ? followEnd(client, () => void current.close()) : () => {};
    // The client reconnecting (maybe to another server, behind a failover) is a gap too: the next
    // heartbeat probes that both connections reach one Redis.
    const stopWatching = watchConnection(client, () => listener.gap());
    stop = () => {
      stopConnection();
      stopErrors();
      stopFollowing();
      stopWatching();
    };
    if (current.ready()) resubscribe();
  };

  /** Closes the listening connection (a later attach makes another). */
  const detach = () => {
    const current = subscriber;
    stop?.();
    stop = null;
    subscriber = null;
    subscribed = false;
    pinging = null;
    void current?.close().catch(() => {});
  };

  /**
   * Whether the next shard connection should first have the client read the topology again: the last
   * one was lost before it subscribed, or heartbeats kept failing on it (its master may hang, or be
   * gone while the client still names it).
   */
  let stale = false;
  /** When the current subscription was answered, and when its connection was made (performance.now()). */
  let subscribedAt = 0;
  let attachedAt = 0;
  /** Whether a shard connection is being made (one at a time). */
  let attaching = false;
  let attachTimer: ReturnType<typeof setTimeout> | null = null;
  /** Tries attachShard again a heartbeat from now (never keeps the process alive). */
  const attachLater = () => {
    if (attachTimer !== null || closed) return;
    attachTimer = setTimeout(() => {
      attachTimer = null;
      void attachShard();
    }, heartbeatMs);
    attachTimer.unref?.();
  };
  /** On a Cluster: listens on a connection of its own to the master of the channel's slot. */
  const attachShard = async () => {
    // The user closed their client: nothing to follow any more.
    if (attaching || closed || subscriber !== null || listening === null || clientEnded(client)) return;
    attaching = true;
    try {
      if (stale) {
        stale = false;
        await refreshTopology(client, timeoutMs);
        if (closed || subscriber !== null) return;
      }
      const source = await shardConnection(client, channel, storeName);
      if (closed || subscriber !== null) await closeQuietly(source);
      else attach(() => source, true);
    } catch (error) {
      onError(error);
      attachLater();
    } finally {
      attaching = false;
    }
  };

  return {
    name: storeName,
    heartbeatMs,
    staleAfterMs,
    timeoutMs,
    // On a Cluster a shard channel's subscription goes without the connection (its slot moved, a planned
    // failover): an answered PING proves nothing then, a probe heard back does.
    probeEveryBeat: port.cluster,
    lost() {
      // Heartbeats keep failing (trust lapsed) on a subscription, or a connection still not subscribed,
      // older than the bound: it may be gone silently, or stuck at a master that hangs (Cluster). Make a
      // new one at whichever master the client knows for the slot, after asking it to learn the
      // topology again (ioredis; node-redis learns it from a MOVED). At most once per bound, so that a
      // subscription being made gets its time.
      if (!port.cluster || subscriber === null) return;
      if (performance.now() - (subscribed ? subscribedAt : attachedAt) < staleAfterMs) return;
      stale = true;
      detach();
      attachLater();
    },
    listen(listener: TransportListener) {
      if (closed || listening !== null) return;
      listening = listener;
      if (port.cluster) void attachShard();
      else attach(() => given ?? (client as { duplicate(): unknown }).duplicate(), given === undefined);
    },
    async publish(text, signal) {
      // On a Cluster, SPUBLISH: the message stays on the channel's shard, where our subscriber listens
      // (a PUBLISH would travel the cluster bus to every node, in no order with our heartbeats).
      return Number(await send([port.cluster ? 'SPUBLISH' : 'PUBLISH', channel, text], signal, channel));
    },
    async ping(signal) {
      const current = subscriber;
      // The user closed their client without store.close(): the subscriber made from it goes too.
      if (given === undefined && current !== null && clientEnded(client)) void current.close();
      if (closed || current === null || !current.ready() || !subscribed) throw notReady('subscriber');
      // Never a second PING while one is unanswered (a hung server grows no queue), and never credit a
      // heartbeat with an older PING: it only proves what came before that one.
      if (pinging !== null)
        throw new Error(`redis store ${JSON.stringify(storeName)}: a PING is unanswered.`);
      const mine = current.ping();
      pinging = mine;
      const clear = () => {
        if (pinging === mine) pinging = null;
      };
      mine.then(clear, clear);
      await raced(mine, signal);
    },
    async announce(origin, ttlMs, signal) {
      if (closed) throw closedError('announce');
      if (!port.ready()) throw notReady('client');
      const replies = await raced(
        port.pipeline(
          [
            ['PSETEX', presence(origin), String(ttlMs), '1'],
            ['SADD', registry, origin],
          ],
          [presence(origin), registry],
        ),
        signal,
      );
      const failed = replies.find((reply) => reply instanceof Error);
      if (failed !== undefined) throw failed;
    },
    async present(signal) {
      if (scripting) {
        try {
          // Atomically: the registered origins whose presence has not expired; the others leave the set.
          const reply = await send(['EVAL', PRESENT, '1', registry, presence('')], signal, registry);
          if (!Array.isArray(reply))
            throw new TypeError(
              `redis store ${JSON.stringify(storeName)}: the presence script answered ${describe(reply)}.`,
            );
          return reply.map(String);
        } catch (error) {
          if (!(error instanceof Error) || !scriptingRefused(error)) throw error;
          scripting = false;
        }
      }
      // Without scripts: the set, then which of its presence keys exist (the set is not pruned).
      const origins = await send(['SMEMBERS', registry], signal, registry);
      if (!Array.isArray(origins) || origins.length === 0) return [];
      const names = origins.map(String);
      const keys = await send(['MGET', ...names.map(presence)], signal, registry);
      if (!Array.isArray(keys))
        throw new TypeError(
          `redis store ${JSON.stringify(storeName)}: MGET of presence keys answered ${describe(keys)}.`,
        );
      return names.filter((_, i) => keys[i] !== null);
    },
    async leave(origin) {
      // Best effort: a closing instance is not waited for by the others' scope invalidations.
      const limit = deadline(timeoutMs);
      await send(['DEL', presence(origin)], limit.signal, registry).catch(() => {});
      limit.clear();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (attachTimer !== null) clearTimeout(attachTimer);
      stop?.();
      const limit = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref?.());
      await Promise.race([subscriber?.close().catch(() => {}), limit]);
    },
  };
}

/** The registered origins (KEYS[1], a set) whose presence key (ARGV[1] .. origin) exists; drops the rest. */
const PRESENT = `local out = {}
for _, origin in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. origin) == 1 then out[#out + 1] = origin
  else redis.call('SREM', KEYS[1], origin) end
end
return out`;

/** Whether the user's client was closed for good (quit, destroy, disconnect): it will not reconnect. */
function clientEnded(client: object): boolean {
  const c = client as { isOpen?: unknown; status?: unknown };
  return c.isOpen === false || c.status === 'end';
}

/** Calls `changed` whenever the client's connection is lost or made again; returns what stops it. */
function watchConnection(client: object, changed: () => void): () => void {
  const c = client as {
    on?: (event: string, f: () => void) => unknown;
    off?: (event: string, f: () => void) => unknown;
  };
  if (typeof c.on !== 'function' || typeof c.off !== 'function') return () => {};
  const events = ['ready', 'reconnecting'];
  for (const event of events) c.on(event, changed);
  return () => {
    for (const event of events) c.off!(event, changed);
  };
}

/** Calls `ended` when the client ends for good (closed by its owner); returns what stops listening. */
function followEnd(client: object, ended: () => void): () => void {
  const c = client as {
    on?: (event: string, f: () => void) => unknown;
    off?: (event: string, f: () => void) => unknown;
  };
  if (typeof c.on !== 'function' || typeof c.off !== 'function') return () => {};
  const listener = () => ended();
  c.on('end', listener);
  return () => c.off!('end', listener);
}

/** The part of a node-redis client (v5, v6) a subscriber uses. */
interface NodeRedisSubscriber {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  sSubscribe?(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  unref?(): void;
  destroy?(): void;
  disconnect?(): Promise<unknown>;
}

/** The part of an ioredis client (v5, v6) a subscriber uses. */
interface IoRedisSubscriber {
  readonly status: string;
  readonly stream?: { unref?(): void };
  connect(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  ssubscribe?(channel: string): Promise<unknown>;
  call(command: string): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  disconnect(): void;
}

/** Whether a value looks like a client of `kind` that can subscribe. */
function isSubscriber(client: unknown, kind: string): boolean {
  if (typeof client !== 'object' || client === null) return false;
  const c = client as Record<string, unknown>;
  if (typeof c.subscribe !== 'function' || typeof c.on !== 'function') return false;
  return kind === 'node-redis' ? typeof c.isReady === 'boolean' : typeof c.status === 'string';
}

/** The listening connection over a client; `sharded`: SSUBSCRIBE (a Cluster's shard channel). */
function subscriberOf(
  client: unknown,
  kind: string,
  channel: string,
  owned: boolean,
  sharded: boolean,
  message: (text: string) => void,
): Subscriber {
  if (!isSubscriber(client, kind))
    throw new TypeError(
      `redis store: ${kind} client.duplicate() gave no client that can subscribe: ${describe(client)}.`,
    );
  return kind === 'node-redis'
    ? nodeRedisSubscriber(client as NodeRedisSubscriber, channel, owned, sharded, message)
    : ioRedisSubscriber(client as IoRedisSubscriber, channel, owned, sharded, message);
}

/**
 * A new connection (not yet connected, for the store to own) to the master that serves the slot of
 * `channel`, as the Cluster client knows it now: the duplicate of that master's node connection, so
 * that it has the client's options and address mapping.
 */
async function shardConnection(cluster: object, channel: string, storeName: string): Promise<unknown> {
  const slot = slotOf(channel);
  const c = cluster as {
    slots?: ReadonlyArray<unknown>;
    nodeClient?: (node: unknown) => Promise<{ duplicate(): unknown }>;
    nodes?: (role: string) => Array<{ options: { host?: string; port?: number }; duplicate(): unknown }>;
  };
  if (typeof c.nodeClient === 'function') {
    // node-redis: slots[slot] is the shard, with its master node.
    const master = (c.slots?.[slot] as { master?: unknown } | undefined)?.master;
    if (master === undefined)
      throw new Error(`redis store: the cluster client knows no master of slot ${slot}.`);
    return (await c.nodeClient(master)).duplicate();
  }
  // ioredis: slots[slot] lists `host:port` of the master, then replicas.
  const address = (c.slots?.[slot] as readonly string[] | undefined)?.[0];
  const node = c.nodes?.('master').find(({ options }) => `${options.host}:${options.port}` === address);
  if (node === undefined)
    throw new Error(
      `redis store ${JSON.stringify(storeName)}: the cluster client knows no master of slot ${slot} (channel ${JSON.stringify(channel)}).`,
    );
  return node.duplicate();
}

/**
 * Asks a Cluster client to read the slots' owners again: ioredis `refreshSlotsCache`; node-redis has no
 * public way, so its slot table's `rediscover` (declared in its types, `_slots`), from a master whose
 * connection is ready. Resolves when done or after `ms`; never rejects.
 */
function refreshTopology(cluster: object, ms: number): Promise<void> {
  const c = cluster as {
    refreshSlotsCache?: (callback?: (error?: unknown) => void) => void;
    _slots?: { rediscover?: (startWith: unknown) => Promise<unknown> };
    masters?: ReadonlyArray<{ client?: { isReady?: boolean } }>;
  };
  const limit = new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());
  const refreshed = new Promise<void>((resolve) => {
    try {
      if (typeof c.refreshSlotsCache === 'function') c.refreshSlotsCache(() => resolve());
      else if (typeof c._slots?.rediscover === 'function') {
        const start = c.masters?.find((master) => master.client?.isReady === true)?.client;
        if (start === undefined) resolve();
        else
          c._slots.rediscover(start).then(
            () => resolve(),
            () => resolve(),
          );
      } else resolve();
    } catch {
      resolve(); // a refresh already running
    }
  });
  return Promise.race([refreshed, limit]);
}

/** Closes a connection the store made and will not use. */
async function closeQuietly(connection: unknown): Promise<void> {
  const c = connection as { destroy?(): void; disconnect?(): unknown };
  try {
    if (typeof c.destroy === 'function') c.destroy();
    else await c.disconnect?.();
  } catch {
    // never connected
  }
}

/** Calls `changed(true)` on `ready`, `changed(false)` on each of `downs`; returns what stops it. */
function onConnectionEvents(
  sub: {
    on(event: string, listener: (...args: unknown[]) => void): unknown;
    off(event: string, listener: (...args: unknown[]) => void): unknown;
  },
  downs: readonly string[],
  changed: (ready: boolean) => void,
): () => void {
  const up = () => changed(true);
  const down = () => changed(false);
  sub.on('ready', up);
  for (const event of downs) sub.on(event, down);
  return () => {
    sub.off('ready', up);
    for (const event of downs) sub.off(event, down);
  };
}

/** Calls a method of a client object, turning what it throws into a rejection. */
function attempt<T>(call: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

function nodeRedisSubscriber(
  sub: NodeRedisSubscriber,
  channel: string,
  owned: boolean,
  sharded: boolean,
  message: (text: string) => void,
): Subscriber {
  // One listener per store: node-redis unsubscribes the channel once its last listener goes.
  const listener = (text: string) => message(text);
  if (owned) {
    sub.unref?.();
    // Its own retries reconnect it; errors go to the store's listener.
    if (!sub.isOpen) sub.connect().catch(() => {});
  }
  return {
    ready: () => sub.isReady,
    subscribe: () =>
      attempt(() => (sharded ? sub.sSubscribe!(channel, listener) : sub.subscribe(channel, listener))).then(
        () => {},
      ),
    ping: () => attempt(() => sub.sendCommand(['PING'])),
    onConnection: (changed) => onConnectionEvents(sub, ['end', 'reconnecting'], changed),
    async close() {
      if (owned) {
        try {
          if (typeof sub.destroy === 'function') sub.destroy();
          else await sub.disconnect?.();
        } catch {
          // already closed
        }
      } else await attempt(() => sub.unsubscribe(channel, listener)).catch(() => {});
    },
  };
}

/** Stores subscribed through one ioredis connection, per channel: it unsubscribes when the last closes. */
const ioRedisUsers = new WeakMap<object, Map<string, number>>();

function ioRedisSubscriber(
  sub: IoRedisSubscriber,
  channel: string,
  owned: boolean,
  sharded: boolean,
  message: (text: string) => void,
): Subscriber {
  const listener = (...args: unknown[]) => {
    if (args[0] === channel && typeof args[1] === 'string') message(args[1]);
  };
  const event = sharded ? 'smessage' : 'message';
  sub.on(event, listener);
  let users = ioRedisUsers.get(sub);
  if (users === undefined) {
    users = new Map();
    ioRedisUsers.set(sub, users);
  }
  users.set(channel, (users.get(channel) ?? 0) + 1);
  const unref = () => sub.stream?.unref?.();
  if (owned) {
    sub.on('connect', unref);
    unref();
  }
  // A client made with lazyConnect waits for a first command that a subscriber never gets otherwise.
  if (sub.status === 'wait') sub.connect().catch(() => {});
  return {
    ready: () => sub.status === 'ready',
    subscribe: () =>
      attempt(() => (sharded ? sub.ssubscribe!(channel) : sub.subscribe(channel))).then(() => {}),
    ping: () => attempt(() => sub.call('ping')),
    onConnection: (changed) => onConnectionEvents(sub, ['close', 'reconnecting'], changed),
    async close() {
      sub.off(event, listener);
      const left = (users.get(channel) ?? 1) - 1;
      if (left > 0) users.set(channel, left);
      else users.delete(channel);
      if (owned) {
        sub.off('connect', unref);
        sub.disconnect();
      } else if (left === 0) await attempt(() => sub.unsubscribe(channel)).catch(() => {});
    },
  };
}
