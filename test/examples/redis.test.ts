/**
 * `REDIS_URL=… npm start`: example server processes (examples/yoga-server/main.ts) whose shared loaders
 * sit on one private Redis share their hits, and keep answering when it goes away; without REDIS_URL
 * the example starts and serves the shared mode in process. (Three processes: each opens and seeds its
 * own embedded database, which costs seconds of CPU.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../redis.js';
import { children, type Example, startExample, stopExample } from './example-process.js';

const NESTED = '{ users(limit: 3) { name posts { title tags { name } comments { body author { name } } } } }';

interface Trace {
  loads: number;
  memoHits: number;
  sharedHits: number;
  misses: number;
  batches: number;
}
interface Result {
  data: unknown;
  errors?: unknown;
  extensions: { sql: { statements: number; mode: string }; loaders: Record<string, Trace> };
}
interface Bench {
  shared: {
    loaders: Record<string, { sharedHits: number; remoteHits: number; sourceCalls: number; misses: number }>;
    remote: { calls: number; failures: number; pendingWrites: number } | null;
    bus: { trusted: boolean } | null;
  };
}

async function ask(example: Example, query = NESTED): Promise<Result> {
  const response = await fetch(example.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-loaderkit-mode': 'shared', 'x-loaders-trace': '1' },
    body: JSON.stringify({ query }),
  });
  expect(response.status).toBe(200);
  const result = (await response.json()) as Result;
  expect(result.errors).toBeUndefined();
  return result;
}

/** The example's `x-bench-stats` figures (that request is not counted and loads nothing). */
async function bench(example: Example): Promise<Bench> {
  const response = await fetch(example.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bench-stats': '1' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  return ((await response.json()) as { extensions: { bench: Bench } }).extensions.bench;
}

const sum = (trace: Record<string, Trace>, field: keyof Trace) =>
  Object.values(trace).reduce((total, line) => total + line[field], 0);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let redis: RedisServer;
let first: Example;
let second: Example;
let embedded: Example;

beforeAll(async () => {
  redis = await startRedis();
  [first, second, embedded] = await Promise.all([
    // A long bound: with Redis gone, each keeps reading its in-process tier for the whole test.
    startExample({ REDIS_URL: redis.url, REDIS_STALE_AFTER_MS: '600000' }),
    startExample({ REDIS_URL: redis.url, REDIS_STALE_AFTER_MS: '600000' }),
    startExample({}),
  ]);
  // Counts below start once both hear each other (their in-process tiers are read from then on).
  for (const example of [first, second])
    await until(
      'its invalidation bus trusts its in-process tier',
      async () => (await bench(example)).shared.bus?.trusted === true,
    );
}, 40_000);

afterAll(async () => {
  await Promise.all([...children].map(stopExample));
  await redis?.close();
});

describe('examples/yoga-server with REDIS_URL', () => {
  it('says its shared loaders are on Redis', () => {
    for (const example of [first, second])
      expect(example.output()).toContain(`Shared loaders: in-process + Redis at ${redis.url}`);
  });

  it('two processes on one Redis share hits: the second answers from Redis with no SQL for the loaders', async () => {
    const cold = await ask(first);
    // The root list, then users, posts by author, comments and tags by post from the database.
    expect(cold.extensions.sql).toEqual({ statements: 5, mode: 'shared' });
    const written = sum(cold.extensions.loaders, 'misses');
    expect(written).toBeGreaterThan(0);
    // The write-back runs behind the response: wait until every missed key landed in Redis.
    await until(
      'the write-back of process #1 landed in Redis',
      async () =>
        Number(await redis.cli('DBSIZE')) >= written &&
        (await bench(first)).shared.remote?.pendingWrites === 0,
    );
    await redis.resetStats();

    const warm = await ask(second);
    expect(warm.data).toEqual(cold.data);
    // Only the root list (not a loader) reached SQL: every loader key was a shared hit, from Redis.
    expect(warm.extensions.sql).toEqual({ statements: 1, mode: 'shared' });
    for (const [name, line] of Object.entries(warm.extensions.loaders)) {
      expect(line.misses, name).toBe(0);
      expect(line.sharedHits, name).toBe(line.loads - line.memoHits);
    }
    const { shared } = await bench(second);
    for (const [name, stats] of Object.entries(shared.loaders)) {
      expect(stats.sourceCalls, name).toBe(0);
      expect(stats.remoteHits, name).toBe(stats.sharedHits);
    }
    expect(sum(warm.extensions.loaders, 'sharedHits')).toBeGreaterThan(0);
    expect(shared.remote).toEqual(expect.objectContaining({ failures: 0 }));

    const counts = await redis.commandCounts();
    expect(counts.mget).toBeGreaterThan(0);
    expect(counts.set ?? 0).toBe(0);
    const hits = /keyspace_hits:(\d+)/.exec(await redis.cli('INFO', 'stats'));
    expect(Number(hits?.[1])).toBeGreaterThan(0);

    // Process #2 keeps them in process now: its next answer does not go to Redis either.
    await redis.resetStats();
    const again = await ask(second);
    expect(again.data).toEqual(cold.data);
    expect(again.extensions.sql.statements).toBe(1);
    expect((await redis.commandCounts()).mget ?? 0).toBe(0);
  });

  it('fails open: with Redis gone, both keep answering (from process, and from SQL for the rest)', async () => {
    await redis.kill();
    // User 50 is cached (every user wrote a comment of posts 1–30), its posts and their comments are not.
    const query = '{ user(id: 50) { name posts { title comments { body } } } }';
    const expected = await ask(embedded, query);
    for (const example of [first, second]) {
      // The posts by author and comments by post go to SQL, without waiting on Redis.
      const started = performance.now();
      const uncached = await ask(example, query);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(uncached.data).toEqual(expected.data);
      expect(uncached.extensions.sql.statements).toBe(2);
      // Cached in process: only the root list.
      const cached = await ask(example);
      expect(cached.extensions.sql.statements).toBe(1);
    }
    expect(first.child.exitCode).toBeNull();
    expect(second.child.exitCode).toBeNull();
  });
});

describe('examples/yoga-server without Redis', () => {
  it('without REDIS_URL: starts in-process only and serves the shared mode', async () => {
    expect(embedded.output()).toContain('Shared loaders: in-process only (set REDIS_URL');
    const cold = await ask(embedded);
    expect(cold.extensions.sql).toEqual({ statements: 5, mode: 'shared' });
    const warm = await ask(embedded);
    expect(warm.extensions.sql).toEqual({ statements: 1, mode: 'shared' });
    expect(warm.data).toEqual(cold.data);
    expect((await bench(embedded)).shared.remote).toBeNull();
  });
});
