/**
 * `npm start`: seeds the database (embedded PGlite, or PostgreSQL when DATABASE_URL is set) and
 * serves GraphiQL. With REDIS_URL set (`REDIS_URL=redis://127.0.0.1:6379 npm start`) the shared
 * loaders (the `shared` and `partly` modes) get a Redis tier under their in-process one, so several
 * example processes on one Redis share their hits, and the `renameUser` mutation on one reaches the
 * in-process tier of the others. Redis is optional and fails open: when it is down the example starts
 * anyway and the loaders go to the database until it is back.
 *
 * More settings: PORT (default 4000; 0 picks a free one), SKIP_SEED=1 (keep the tables: a second process
 * on the same PostgreSQL), REDIS_STALE_AFTER_MS (the store's `invalidation.staleAfterMs`, default 2000).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { createRedisStore } from '../../src/redis.js';
import { openDatabase } from './db.js';
import { defineExampleLoaders, definePartlyLoaders } from './loaders.js';
import { SEED, seed } from './seed.js';
import { createExampleYoga, type ExampleLoaderSets } from './server.js';

const port = Number(process.env.PORT ?? 4000);
const redisUrl = process.env.REDIS_URL || undefined;
const skipSeed = process.env.SKIP_SEED === '1';
const staleAfterMs = process.env.REDIS_STALE_AFTER_MS ? Number(process.env.REDIS_STALE_AFTER_MS) : undefined;
/** How long startup waits for Redis before serving without it (it keeps reconnecting meanwhile). */
const REDIS_CONNECT_WAIT_MS = 2000;

/** The URL without user name and password, for logs. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

/** Logs at most one message per second (Redis errors repeat on every reconnect attempt). */
function rateLimitedLog(prefix: string) {
  let last = 0;
  let dropped = 0;
  return (error: Error) => {
    const now = Date.now();
    if (now - last < 1000) {
      dropped++;
      return;
    }
    last = now;
    const more = dropped > 0 ? ` (${dropped} more since the last message)` : '';
    dropped = 0;
    console.error(`${prefix}: ${error.message || error.name}${more}`);
  };
}

/** A node-redis client that is connecting, and whether it became ready within `waitMs`. */
function connectRedis(url: string, waitMs: number) {
  const log = rateLimitedLog(`redis ${redacted(url)}`);
  const client = createClient({
    url,
    socket: {
      connectTimeout: waitMs,
      // Keep trying, backing off to one attempt every 2 s: the loaders use Redis again once it is back.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000),
    },
  });
  client.on('error', log);
  const connected = client.connect().then(
    () => true,
    (error: Error) => {
      log(error);
      return false;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  const ready = Promise.race([connected, timeout]).finally(() => clearTimeout(timer));
  return { client, ready };
}

// Redis connects while the database opens and seeds (the wait is bounded either way).
const redis = redisUrl === undefined ? undefined : connectRedis(redisUrl, REDIS_CONNECT_WAIT_MS);
const database = await openDatabase();
if (!skipSeed) await seed(database);
const redisReady = redis === undefined ? false : await redis.ready;

const sets: ExampleLoaderSets = {};
if (redis !== undefined) {
  // Store failures (Redis down, not ready yet) are logged once a second at most; loads go on.
  const onError = rateLimitedLog('loaderkit (redis tier)');
  // Invalidations reach the other processes on this Redis (on by default; a subscriber connection).
  const remote = createRedisStore({
    client: redis.client,
    ...(staleAfterMs === undefined ? {} : { invalidation: { staleAfterMs } }),
  });
  sets.shared = defineExampleLoaders({ shared: true, remote, onError });
  sets.partly = definePartlyLoaders({ remote, onError });
}
const yoga = createExampleYoga(database, sets);
const server = createServer(yoga);
server.listen(port, () => {
  const actual = (server.address() as AddressInfo).port;
  console.log(
    `loaderkit example on ${database.kind}: ${SEED.users} users, ${SEED.users * SEED.postsPerUser} posts, ` +
      `${SEED.users * SEED.postsPerUser * SEED.commentsPerPost} comments`,
  );
  if (redisUrl === undefined)
    console.log('Shared loaders: in-process only (set REDIS_URL to add a Redis tier)');
  else if (redisReady) console.log(`Shared loaders: in-process + Redis at ${redacted(redisUrl)}`);
  else
    console.log(
      `Shared loaders: in-process only for now: Redis at ${redacted(redisUrl)} is not reachable (retrying in the background)`,
    );
  // Tell when the Redis tier is (back) in use after a failed start or a lost connection.
  redis?.client.on('ready', () => console.log(`Shared loaders: Redis at ${redacted(redisUrl!)} is ready`));
  console.log(`GraphiQL: http://localhost:${actual}${yoga.graphqlEndpoint}`);
  console.log(
    'Headers: x-loaderkit-mode: naive | dataloader | loaders | shared | partly, x-loaders-trace: 1',
  );
});
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await yoga.dispose();
  await sets.partly?.close();
  if (redis !== undefined) {
    try {
      if (redis.client.isReady) await redis.client.close();
      else redis.client.destroy();
    } catch {
      // already closed
    }
  }
  await database.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
