/**
 * A remote store on Redis (`loaderkit/redis`), over a node-redis or ioredis client the user passes. One
 * batch is one MGET (its keys and the scope's generation); a write-back is one EVAL of a script that runs
 * `SET key value PX ms` for each entry where its condition holds (one command, so one write on the
 * socket and one round trip however large: a pipeline of many SETs is cut into several writes by
 * node-redis past 16 KB); an invalidation's marker is such a write too. Where scripting is off (EVAL
 * renamed or denied), write-backs are a pipeline of SETs instead, conditional ones as SET NX.
 * Deadlines, the circuit breaker and the checks of every answer are the resilient facade's
 * (remote/resilient.ts), which wraps every remote store alike; this file only speaks Redis. A value of
 * another type at one of our keys (a hash, a list) reads as absent (MGET answers nil for it) and is
 * replaced by the next write.
 */
import { createHash } from 'node:crypto';
import { describe } from '../../errors.js';
import { isolateOnError } from '../../observe/report.js';
import type { RemoteStore, RemoteWrite } from '../store.js';
import { clusterKey, groupBySlot } from './cluster-slots.js';
import { type RedisInvalidationOptions, redisBus } from './redis-bus.js';
import { type RedisPort, redisPort, scriptingRefused } from './redis-port.js';

export interface RedisStoreOptions {
  /**
   * A connected node-redis client (`createClient()` of `redis` 5 or 6, after `await client.connect()`)
   * or ioredis client (`new Redis()` of `ioredis` 5 or 6). Required. The store never closes it: it is
   * yours. Its offline queue and retries may stay as you set them: while the connection is not ready the
   * store sends nothing (the load goes to the source), so nothing of loaderkit's waits in that queue.
   */
  client: unknown;
  /** The store's name in statistics and errors. Default: `'redis'`. */
  name?: string;
  /**
   * Told about the client's `error` events (connection lost, refused…), which the store listens to so
   * that a client without a listener of yours does not crash the process (node-redis throws an `error`
   * event nobody listens to). Failed calls reach `onError` of `defineLoaders` anyway. Isolated: what it
   * throws is swallowed. Default: nothing (the events are only kept from crashing the process).
   */
  onError?: (error: Error) => void;
  /**
   * Invalidation across instances (see README "Many instances"): `invalidate`, `refresh` and
   * `invalidateScope` on one instance reach the in-process tier of every instance on this Redis, over
   * pub/sub on a subscriber connection of the store's own; and no instance reads its in-process tier
   * while it cannot hear the others for longer than `staleAfterMs`. `false` turns it off (one instance
   * only, or `shared.l1Ttl` as the bound). Default: on, with the defaults of RedisInvalidationOptions.
   */
  invalidation?: false | RedisInvalidationOptions;
  /**
   * On Redis Cluster, which keys share a slot (see README "Redis Cluster"). `'per-key'`: each key is
   * hashed whole, so a scope's keys spread over every node and a batch costs one round trip per node
   * touched (one command per slot, pipelined per node). `'per-scope'`: every key of one (loader, scope)
   * pair, with its generation and locks, shares one slot, so a batch is one command in one round trip,
   * and the whole scope lives on one node (a big or hot scope makes that node hot). Either way no `{` or
   * `}` in a key, scope or prefix forms a hash tag. Unused with a client of one server. Default:
   * `'per-key'`.
   */
  slots?: 'per-key' | 'per-scope';
}

const OPTIONS = ['client', 'name', 'onError', 'invalidation', 'slots'];

/**
 * Sets each key of KEYS from ARGV, three per key: value, ms, condition. The condition is '' (always),
 * '0' (only where the key holds nothing; a value of another type counts as nothing, as MGET answers),
 * '=' and the exact value the key must hold, or '#' and the SHA-1 (hex) of that value (long values: the
 * write does not carry the old value back). Answers how many were written.
 */
const SET_ALL = `local n = 0
for i = 1, #KEYS do
  local c = ARGV[i * 3]
  local ok = c == ''
  if not ok then
    local cur = redis.pcall('GET', KEYS[i])
    if type(cur) ~= 'string' then cur = false end
    local kind = string.sub(c, 1, 1)
    if c == '0' then ok = cur == false
    elseif kind == '#' then ok = cur ~= false and redis.sha1hex(cur) == string.sub(c, 2)
    else ok = cur == string.sub(c, 2) end
  end
  if ok then
    redis.call('SET', KEYS[i], ARGV[i * 3 - 2], 'PX', ARGV[i * 3 - 1])
    n = n + 1
  end
end
return n`;

/** Takes each lock of KEYS nobody holds, as ARGV[1] for ARGV[2] ms; answers 1 or 0 per key. */
const ACQUIRE = `local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
end
return out`;

/** Deletes each lock of KEYS that ARGV[1] still holds. */
const RELEASE = `for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SHAS = new Map([SET_ALL, ACQUIRE, RELEASE].map((script) => [script, sha1(script)]));

/** The script's condition argument of a write. */
function condition(write: RemoteWrite): string {
  const expected = write.ifValue;
  if (expected === undefined) return '';
  if (expected === null) return '0';
  return expected.length <= DIGEST_ABOVE ? `=${expected}` : `#${sha1(expected)}`;
}

/** (Node, script) pairs remembered as cached on a Cluster before the memory starts over. */
const MAX_SCRIPT_NODES = 1024;

/** Expected values longer than this (UTF-16 units) are compared by digest. */
const DIGEST_ABOVE = 64;

/**
 * The most entries and value bytes (UTF-16 units) one EVAL carries. A script blocks the server while it
 * runs, and Redis evicts (under maxmemory) only between commands, counting the command being read: a
 * huge write-back is cut into several scripts, pipelined.
 */
const WRITES_PER_SCRIPT = 1000;
const CHARS_PER_SCRIPT = 64 * 1024;

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error), { cause: error });
}

/** The error a write-back answers when some of its replies are errors; undefined when none is. */
function failedWrites(
  name: string,
  replies: readonly unknown[],
  total: number,
  what: string,
): Error | undefined {
  let failed = 0;
  let first: Error | undefined;
  for (const reply of replies)
    if (reply instanceof Error) {
      failed++;
      first ??= reply;
    }
  if (first === undefined) return undefined;
  return new Error(
    `redis store ${JSON.stringify(name)}: ${failed} of ${total} ${what} failed: ${first.message}`,
    { cause: first },
  );
}

/**
 * The answers of per-group array replies (an MGET or a script per slot) put back in key order; throws
 * when one failed or is not an array of its group's length.
 */
function spread(
  replies: readonly unknown[],
  groups: readonly (readonly number[])[],
  total: number,
  what: string,
): unknown[] {
  const out: unknown[] = new Array(total);
  groups.forEach((group, j) => {
    const reply = replies[j];
    if (reply instanceof Error) throw reply;
    if (!Array.isArray(reply) || reply.length !== group.length)
      throw new TypeError(`${what}: a reply of ${group.length} was expected, but got: ${describe(reply)}.`);
    group.forEach((i, at) => {
      out[i] = reply[at];
    });
  });
  return out;
}

/** Why a Redis call was not made: the connection is not ready (it would have waited in a queue). */
export class RedisNotReadyError extends Error {
  override readonly name = 'RedisNotReadyError';
}

/**
 * Creates a remote store on Redis; pass it as `remote` to `defineLoaders` (or `cached`):
 * `defineLoaders(specs, { remote: createRedisStore({ client }) })`.
 */
export function createRedisStore(options: RedisStoreOptions): RemoteStore {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(
      `createRedisStore takes an options object ({ client }), but got: ${describe(options)}.`,
    );
  for (const name of Object.keys(options))
    if (!OPTIONS.includes(name))
      throw new TypeError(
        `createRedisStore: unknown option ${JSON.stringify(name)}; valid options: ${OPTIONS.join(', ')}.`,
      );
  const port = redisPort(options.client);
  const name = options.name ?? 'redis';
  if (typeof name !== 'string' || name === '')
    throw new TypeError(
      `createRedisStore option name must be a non-empty string, but got: ${describe(name)}.`,
    );
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw new TypeError(
      `createRedisStore option onError must be a function of the error, but got: ${describe(options.onError)}.`,
    );
  const slots = options.slots ?? 'per-key';
  if (slots !== 'per-key' && slots !== 'per-scope')
    throw new TypeError(
      `createRedisStore option slots must be 'per-key' or 'per-scope', but got: ${describe(slots)}.`,
    );
  const report = options.onError === undefined ? null : isolateOnError(options.onError);
  const stopListening = port.onError((error) => report?.(asError(error)));
  const invalidation = options.invalidation ?? {};
  const bus =
    invalidation === false
      ? undefined
      : redisBus(name, options.client as object, port, invalidation, (error) => report?.(asError(error)));
  let closed = false;
  /** Whether write-backs go out as EVAL of SET_ALL; false once the server refused scripting. */
  let scripting = true;
  /** The Redis key of one of loaderkit's keys: itself on one server, behind a hash tag on a Cluster. */
  const redisKey = port.cluster ? clusterKey(slots) : (key: string) => key;
  /** The indices of (Redis) keys per command: all in one on one server, one command per slot on a Cluster. */
  const perCommand = port.cluster
    ? groupBySlot
    : (keys: readonly string[]): number[][] => [keys.map((_, i) => i)];

  /** On a Cluster: the (node, script) pairs known to have the script cached (bounded). */
  const scriptsOn = new Set<string>();
  /**
   * Sends commands in one round trip (one per node on a Cluster), `keys[i]` routing `commands[i]`;
   * answers each reply or its Error. On a Cluster scripts go as EVALSHA (a script per slot would carry
   * its text many times), except the first of a pipeline on a node not known to have the script: that
   * one goes as EVAL, which caches it for the EVALSHAs behind it on that node. A node that answers
   * NOSCRIPT anyway (restarted, failed over) gets those commands again as EVAL.
   */
  const send = async (commands: string[][], keys: readonly string[]): Promise<unknown[]> => {
    if (commands.length === 1 && !port.cluster)
      return [await port.command(commands[0]!).catch((error: unknown) => asError(error))];
    if (!port.cluster) return port.pipeline(commands);
    const teaching = new Set<string>();
    const known: Array<string | undefined> = new Array(commands.length);
    const sent = commands.map((args, i) => {
      const sha = args[0] === 'EVAL' ? SHAS.get(args[1]!) : undefined;
      if (sha === undefined) return args;
      const pair = `${port.nodeOf?.(keys[i]!) ?? ''} ${sha}`;
      known[i] = pair;
      if (!scriptsOn.has(pair) && !teaching.has(pair)) {
        teaching.add(pair);
        return args;
      }
      return ['EVALSHA', sha, ...args.slice(2)];
    });
    const replies = await port.pipeline(sent, keys);
    const unknown: number[] = [];
    replies.forEach((reply, i) => {
      const pair = known[i];
      if (pair === undefined) return;
      if (reply instanceof Error && /^NOSCRIPT/.test(reply.message)) {
        scriptsOn.delete(pair);
        if (sent[i] !== commands[i]) unknown.push(i);
      } else if (!(reply instanceof Error)) {
        if (scriptsOn.size >= MAX_SCRIPT_NODES) scriptsOn.clear();
        scriptsOn.add(pair);
      }
    });
    if (unknown.length > 0) {
      const again = await port.pipeline(
        unknown.map((i) => commands[i]!),
        unknown.map((i) => keys[i]!),
      );
      unknown.forEach((i, at) => {
        replies[i] = again[at];
      });
    }
    return replies;
  };

  const setWithPipeline = async (writes: readonly RemoteWrite[]) => {
    // Without scripts there is no compare-and-set: a conditional write is SET NX, made only where the key
    // holds nothing (never over an invalidation marker: a key that held one stays a miss until it expires).
    const keys = writes.map((write) => redisKey(write.key));
    const replies = await port.pipeline(
      writes.map((write, i) =>
        write.ifValue === undefined
          ? ['SET', keys[i]!, write.value, 'PX', String(write.ttlMs)]
          : ['SET', keys[i]!, write.value, 'PX', String(write.ttlMs), 'NX'],
      ),
      keys,
    );
    const error = failedWrites(name, replies, writes.length, 'SETs');
    if (error !== undefined) throw error;
    // A SET NX that found the key taken answers nil.
    return replies.filter((reply) => reply !== null).length;
  };

  const setWithScript = async (writes: readonly RemoteWrite[]) => {
    const keys = writes.map((write) => redisKey(write.key));
    const commands: string[][] = [];
    const routes: string[] = [];
    for (const group of perCommand(keys)) {
      let start = 0;
      while (start < group.length) {
        let end = start;
        let chars = 0;
        while (
          end < group.length &&
          end - start < WRITES_PER_SCRIPT &&
          (end === start || chars < CHARS_PER_SCRIPT)
        )
          chars += writes[group[end++]!]!.value.length;
        const args = ['EVAL', SET_ALL, String(end - start)];
        for (let i = start; i < end; i++) args.push(keys[group[i]!]!);
        for (let i = start; i < end; i++) {
          const write = writes[group[i]!]!;
          args.push(write.value, String(write.ttlMs), condition(write));
        }
        commands.push(args);
        routes.push(keys[group[start]!]!);
        start = end;
      }
    }
    const replies = await send(commands, routes);
    const refused = replies.find((reply) => reply instanceof Error && scriptingRefused(reply));
    if (refused !== undefined) {
      // Write-backs already in the air may be refused too: each falls back, one tells.
      if (scripting)
        report?.(
          new Error(
            `redis store ${JSON.stringify(name)}: the server refused EVAL (${(refused as Error).message}); write-backs are pipelined SETs from now on.`,
            { cause: refused },
          ),
        );
      scripting = false;
      return setWithPipeline(writes);
    }
    const error = failedWrites(name, replies, replies.length, 'write-back scripts');
    if (error !== undefined) throw error;
    let made = 0;
    for (const reply of replies) made += Number(reply);
    return Number.isFinite(made) ? made : undefined;
  };

  /**
   * Refuses a call that would wait: after close, or with no ready connection. Signals are not read (see
   * ignoresSignal): a command sent cannot be called back, and loaderkit's deadline does not wait for it.
   */
  const usable = (method: string) => {
    if (closed) throw new Error(`redis store ${JSON.stringify(name)} is closed (${method}).`);
    if (!port.ready())
      throw new RedisNotReadyError(
        `redis store ${JSON.stringify(name)}: the ${port.client} connection is not ready; ${method} was not sent (nothing waits in the client's offline queue).`,
      );
  };

  const store: RemoteStore = {
    name,
    ...(bus === undefined ? {} : { bus }),
    async getMany(keys: readonly string[], _signal: AbortSignal): Promise<ReadonlyArray<string | null>> {
      if (keys.length === 0) return [];
      usable('getMany');
      if (!port.cluster) return (await port.command(['MGET', ...keys])) as ReadonlyArray<string | null>;
      const mapped = keys.map(redisKey);
      const groups = perCommand(mapped);
      const replies = await send(
        groups.map((group) => ['MGET', ...group.map((i) => mapped[i]!)]),
        groups.map((group) => mapped[group[0]!]!),
      );
      return spread(replies, groups, keys.length, 'MGETs') as ReadonlyArray<string | null>;
    },
    async setMany(writes: readonly RemoteWrite[], _signal: AbortSignal): Promise<number | undefined> {
      if (writes.length === 0) return 0;
      usable('setMany');
      return scripting ? setWithScript(writes) : setWithPipeline(writes);
    },
    async deleteMany(keys: readonly string[], _signal: AbortSignal): Promise<void> {
      if (keys.length === 0) return;
      usable('deleteMany');
      const mapped = keys.map(redisKey);
      const groups = perCommand(mapped);
      const replies = await send(
        groups.map((group) => ['DEL', ...group.map((i) => mapped[i]!)]),
        groups.map((group) => mapped[group[0]!]!),
      );
      const error = failedWrites(name, replies, replies.length, 'DELs');
      if (error !== undefined) throw error;
    },
    ...(port.nodes === undefined ? {} : { nodes: port.nodes }),
    locks: {
      async acquire(keys, token, ttlMs, signal) {
        if (keys.length === 0) return [];
        usable('locks.acquire');
        const mapped = keys.map(redisKey);
        if (keys.length === 1 || !scripting) {
          const replies = await port.pipeline(
            mapped.map((key) => ['SET', key, token, 'NX', 'PX', String(ttlMs)]),
            mapped,
          );
          const error = failedWrites(name, replies, keys.length, 'lock SETs');
          if (error !== undefined) throw error;
          return replies.map((reply) => reply !== null);
        }
        const groups = perCommand(mapped);
        const replies = await send(
          groups.map((group) => [
            'EVAL',
            ACQUIRE,
            String(group.length),
            ...group.map((i) => mapped[i]!),
            token,
            String(ttlMs),
          ]),
          groups.map((group) => mapped[group[0]!]!),
        );
        if (replies.some((reply) => reply instanceof Error && scriptingRefused(reply))) {
          scripting = false;
          return this.acquire(keys, token, ttlMs, signal);
        }
        return spread(replies, groups, keys.length, 'lock scripts').map((taken) => Number(taken) === 1);
      },
      async release(keys, token, _signal) {
        if (keys.length === 0) return;
        usable('locks.release');
        const mapped = keys.map(redisKey);
        const groups = perCommand(mapped);
        const routes = groups.map((group) => mapped[group[0]!]!);
        if (scripting) {
          const replies = await send(
            groups.map((group) => [
              'EVAL',
              RELEASE,
              String(group.length),
              ...group.map((i) => mapped[i]!),
              token,
            ]),
            routes,
          );
          if (!replies.some((reply) => reply instanceof Error && scriptingRefused(reply))) {
            const error = failedWrites(name, replies, replies.length, 'lock release scripts');
            if (error !== undefined) throw error;
            return;
          }
          scripting = false;
        }
        // Without scripts: read, then delete those still ours (a lock that expired and was taken again
        // in between may go too: one source call more, never a wrong value).
        const held = spread(
          await send(
            groups.map((group) => ['MGET', ...group.map((i) => mapped[i]!)]),
            routes,
          ),
          groups,
          keys.length,
          'lock reads',
        );
        const ours = mapped.filter((_, i) => held[i] === token);
        if (ours.length === 0) return;
        const oursGroups = perCommand(ours);
        await send(
          oursGroups.map((group) => ['DEL', ...group.map((i) => ours[i]!)]),
          oursGroups.map((group) => ours[group[0]!]!),
        );
      },
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      stopListening();
      await bus?.close();
    },
  };
  // Not enumerable: a store made by spreading this one (`{ ...store, getMany: wrapper }`) does not
  // inherit it, so a wrapper that reads signals is given its own per call.
  Object.defineProperty(store, 'ignoresSignal', { value: true, enumerable: false });
  return store;
}

export type { RedisPort };
