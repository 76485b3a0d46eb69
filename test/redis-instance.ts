/**
 * One "instance" as a child process, for multi-process tests on a private Redis: a shared loader over
 * its own Redis store (`REDIS_PORT`, `CLIENT` one of test/redis.ts CLIENTS, `LOCK` = the shared.lock
 * JSON, or "" for none), scoped by tenant. Its source reads the row's version from the "database", the
 * Redis key `db:<tenant>:<id>` (absent: 1), when called, then takes sourceMs. It answers messages from
 * its parent (IPC), tenant `acme` unless given:
 *   { load: { id, requests, sourceMs, tenant? } } → loads `id` in `requests` concurrent requests (each
 *     its own createLoaders); replies { loaded: { values, ms, sourceCalls, locks } }
 *   { invalidate: id, tenant? } / { invalidateScope: tenant } → replies { invalidated: true }
 * and tells { source: ids } when its source is called. Before its first message it replies
 * { ready: true }. A parent may SIGKILL it.
 */
import { defineLoaders } from '../src/index.js';
import { createRedisStore } from '../src/redis.js';
import { CLIENTS } from './redis.js';

const port = Number(process.env.REDIS_PORT);
const kind = CLIENTS.find((c) => c.name === process.env.CLIENT)!;
const lock = process.env.LOCK ? JSON.parse(process.env.LOCK) : undefined;
const client = await kind.connect(port);
const { createClient } = await import('redis');
/** The "database" (not the cache): its own connection. */
const db = createClient({ url: `redis://127.0.0.1:${port}` });
db.on('error', () => {}); // the parent kills the server at the end
await db.connect();
let sourceCalls = 0;
let sourceMs = 0;
const create = defineLoaders(
  {
    users: {
      batch: async (ids: readonly number[], ctx: { tenant: string }) => {
        sourceCalls++;
        const versions = await db.mGet(ids.map((id) => `db:${ctx.tenant}:${id}`));
        process.send!({ source: ids, tenant: ctx.tenant });
        await new Promise((resolve) => setTimeout(resolve, sourceMs));
        return ids.map((id, i) => ({
          id,
          tenant: ctx.tenant,
          by: process.pid,
          version: Number(versions[i] ?? 1),
        }));
      },
      shared: {
        scope: (ctx: { tenant: string }) => ctx.tenant,
        ttl: 60_000,
        ...(lock === undefined ? {} : { lock }),
      },
    },
  },
  {
    remote: createRedisStore({ client: client.client }),
    remoteOptions: { timeoutMs: 200 },
    onError: () => {},
  },
);

interface Message {
  load?: { id: number; requests: number; sourceMs: number; tenant?: string };
  invalidate?: number;
  invalidateScope?: string;
  tenant?: string;
}

process.on('message', async (message: Message) => {
  if (message.invalidate !== undefined || message.invalidateScope !== undefined) {
    const done =
      message.invalidate !== undefined
        ? create.invalidate('users', [message.invalidate], { tenant: message.tenant ?? 'acme' })
        : create.invalidateScope('users', { tenant: message.invalidateScope! });
    await done.catch(() => {});
    process.send!({ invalidated: true });
    return;
  }
  const load = message.load;
  if (load === undefined) return;
  sourceMs = load.sourceMs;
  const started = performance.now();
  const values = await Promise.all(
    Array.from({ length: load.requests }, () =>
      create({ tenant: load.tenant ?? 'acme' }).users.load(load.id),
    ),
  );
  process.send!({
    loaded: { values, ms: performance.now() - started, sourceCalls, locks: create.stats().remote!.locks },
  });
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
