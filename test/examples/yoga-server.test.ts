/**
 * The example server on embedded PGlite: exact SQL statement counts per operation, in-process
 * (`yoga.fetch`) and over real HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements, type Database, openDatabase } from '../../examples/yoga-server/db.js';
import { defineExampleLoaders } from '../../examples/yoga-server/loaders.js';
import { SEED, seed } from '../../examples/yoga-server/seed.js';
import { createExampleYoga } from '../../examples/yoga-server/server.js';

let database: Database;
let yoga: ReturnType<typeof createExampleYoga>;

beforeAll(async () => {
  database = await openDatabase('');
  await seed(database);
  yoga = createExampleYoga(database);
}, 60_000);

afterAll(async () => {
  await yoga.dispose();
  await database.close();
});

const NESTED = (limit: number) =>
  `{ users(limit: ${limit}) { name posts { title tags { name } comments { body author { name } } } } }`;

async function run(query: string, mode?: string, body?: unknown) {
  const response = await yoga.fetch('http://example/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(mode ? { 'x-loaderkit-mode': mode } : {}) },
    body: JSON.stringify(body ?? { query }),
  });
  return response.json();
}

describe('examples/yoga-server', () => {
  it('costs one statement per level with loaders, whatever the list sizes', async () => {
    for (const limit of [1, 3, 10]) {
      const result = await run(NESTED(limit));
      expect(result.errors).toBeUndefined();
      expect(result.data.users).toHaveLength(limit);
      expect(result.data.users[0].posts).toHaveLength(SEED.postsPerUser);
      // users list, then posts by author, then comments and tags by post, then comment authors.
      expect(result.extensions.sql).toEqual({ statements: 5, mode: 'loaders' });
    }
  });

  it('is N+1 in naive mode: one statement per field per row', async () => {
    const limit = 3;
    const result = await run(NESTED(limit), 'naive');
    const posts = limit * SEED.postsPerUser;
    const comments = posts * SEED.commentsPerPost;
    // 1 users + 1 per user (posts) + 2 per post (tags, comments) + 1 per comment (author)
    expect(result.extensions.sql.statements).toBe(1 + limit + 2 * posts + comments);
    expect(result.data).toEqual((await run(NESTED(limit))).data);
  });

  it('batches the same way with hand-wired npm dataloader (the comparison baseline)', async () => {
    const result = await run(NESTED(3), 'dataloader');
    expect(result.extensions.sql).toEqual({ statements: 5, mode: 'dataloader' });
    expect(result.data).toEqual((await run(NESTED(3))).data);
  });

  it('serves a warm shared cache with only the root statement', async () => {
    await run(NESTED(4), 'shared');
    const warm = await run(NESTED(4), 'shared');
    expect(warm.extensions.sql).toEqual({ statements: 1, mode: 'shared' });
    expect(warm.data).toEqual((await run(NESTED(4))).data);
  });

  it('gives each operation of a batched HTTP request its own loaders and count', async () => {
    const result = await run('', undefined, [{ query: NESTED(2) }, { query: '{ user(id: 7) { name } }' }]);
    expect(result).toHaveLength(2);
    expect(result[0].extensions.sql.statements).toBe(5);
    expect(result[1].extensions.sql.statements).toBe(1);
    expect(result[1].data).toEqual({ user: { name: 'user 7' } });
  });

  it('answers over real HTTP with the loader trace when asked', async () => {
    const server: Server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-loaders-trace': '1' },
        body: JSON.stringify({ query: NESTED(2) }),
      });
      const result = await response.json();
      expect(result.extensions.sql.statements).toBe(5);
      expect(result.extensions.loaders.postsByAuthor).toEqual(
        expect.objectContaining({ loads: 2, batches: 1, keysPerBatch: 2, misses: 2 }),
      );
      expect(result.extensions.loaders.commentsByPost).toEqual(
        expect.objectContaining({ loads: 20, batches: 1, keysPerBatch: 20 }),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps batching across @defer payloads, on one set of loaders for the whole operation', async () => {
    let statements = 0;
    const counted: Database = {
      ...database,
      query: (sql, params) => {
        statements++;
        return database.query(sql, params);
      },
    };
    const deferring = createExampleYoga(counted);
    const response = await deferring.fetch('http://example/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed', 'x-loaders-trace': '1' },
      body: JSON.stringify({
        query: '{ users(limit: 3) { name ... @defer { posts { title comments { author { name } } } } } }',
      }),
    });
    const text = await response.text();
    expect(response.headers.get('content-type')).toContain('multipart/mixed');
    const payloads = text
      .split(/\r?\n/)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    expect(payloads[0].data.users.map((u: { name: string }) => u.name)).toEqual([
      'user 1',
      'user 2',
      'user 3',
    ]);
    const deferred = payloads.flatMap(
      (p: { incremental?: Array<{ data: { posts: unknown[] } }> }) => p.incremental ?? [],
    );
    expect(deferred).toHaveLength(3);
    expect(deferred.every((d: { data: { posts: unknown[] } }) => d.data.posts.length === 10)).toBe(true);
    // root list, posts by author, comments by post, comment authors: one each, deferred or not.
    expect(statements).toBe(4);
    // The last payload carries the statement count and the loader trace of the whole operation.
    const last = payloads.at(-1);
    expect(last.hasNext).toBe(false);
    expect(last.extensions.sql).toEqual({ statements: 4, mode: 'loaders' });
    expect(last.extensions.loaders.postsByAuthor).toEqual(expect.objectContaining({ loads: 3, batches: 1 }));
    expect(last.extensions.loaders.commentsByPost).toEqual(
      expect.objectContaining({ loads: 30, batches: 1 }),
    );
    await deferring.dispose();
  });
});

/**
 * posts(20) → author → posts → comments → author: the root statement plus one per loader level (users,
 * postsByAuthor, commentsByPost, users). Posts 1–20 are by users 1 and 2; their comments' authors are
 * 50 other users. Keys that hit (memo or shared) resolve with their level's batch, so the children of
 * hits and misses share one batch.
 */
const LEVELS = '{ posts(limit: 20) { author { posts { comments { author { name } } } } } }';
const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe.each([
  { schedule: 'tick', adaptive: false },
  { schedule: 'adaptive', adaptive: true },
])('one statement per loader level when some keys hit ($schedule schedule)', ({ adaptive }) => {
  it.each([
    { warm: 'nothing', users: [] as number[], statements: 5 },
    { warm: 'one author', users: [1], statements: 5 },
    { warm: 'half the users', users: range(1, 99, 2), statements: 5 },
    // Every users level is answered from the shared cache: root, posts by author, comments by post.
    { warm: 'all users', users: range(1, 100), statements: 3 },
  ])('partly warm shared cache ($warm): $statements statements', async ({ users, statements }) => {
    const shared = defineExampleLoaders({ shared: true, adaptive });
    const server = createExampleYoga(database, { shared });
    try {
      const warming = countStatements(database);
      if (users.length > 0) await shared({ db: warming }).users.loadMany(users);
      expect(warming.statements).toBe(users.length > 0 ? 1 : 0);
      const response = await server.fetch('http://example/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-loaderkit-mode': 'shared' },
        body: JSON.stringify({ query: LEVELS }),
      });
      const result = await response.json();
      expect(result.errors).toBeUndefined();
      expect(result.extensions.sql).toEqual({ statements, mode: 'shared' });
      expect(result.data).toEqual((await run(LEVELS)).data);
    } finally {
      await server.dispose();
    }
  });

  it('a root load plus a deep query in one request: memo hits wait for their level (7 statements)', async () => {
    const loaders = defineExampleLoaders({ shared: false, adaptive });
    const server = createExampleYoga(database, { loaders });
    try {
      // Users 1 and 2 author posts 1–20 and are among the comment authors too: memo hits there whose
      // children (their posts, then those posts' tags) must join the misses' batches.
      const query =
        '{ user(id: 8) { name } posts(limit: 20) { author { posts { comments { author { posts { tags { name } } } } } } } }';
      const response = await server.fetch('http://example/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-loaders-trace': '1' },
        body: JSON.stringify({ query }),
      });
      const result = await response.json();
      expect(result.errors).toBeUndefined();
      expect(result.data.user).toEqual({ name: 'user 8' });
      // The root list, then one statement per loader level: users [8, 1, 2] (PGlite answers the root
      // list within the tick, so user 8 joins the authors), posts by author, comments by post, comment
      // authors, their posts, those posts' tags. (Hits that resolved early made it 10.)
      expect(result.extensions.sql).toEqual({ statements: 7, mode: 'loaders' });
      const batches = Object.fromEntries(
        Object.entries(result.extensions.loaders as Record<string, { batches: number }>).map(([name, t]) => [
          name,
          t.batches,
        ]),
      );
      expect(batches).toEqual({ users: 2, postsByAuthor: 2, commentsByPost: 1, tagsByPost: 1 });
    } finally {
      await server.dispose();
    }
  });
});

/** The same server on the machine's PostgreSQL (127.0.0.1:5432, trust auth) through `pg`. */
describe('examples/yoga-server on PostgreSQL (DATABASE_URL)', () => {
  const server = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

  it('seeds and answers with the same data and statement counts as on PGlite', async () => {
    const admin = await openDatabase(`${server}/test`);
    await admin.exec('DROP DATABASE IF EXISTS loaderkit_example WITH (FORCE)');
    await admin.exec('CREATE DATABASE loaderkit_example');
    await admin.close();
    const postgres = await openDatabase(`${server}/loaderkit_example`);
    expect(postgres.kind).toBe('postgres');
    const onPostgres = createExampleYoga(postgres);
    try {
      await seed(postgres);
      const ask = async (mode: string) => {
        const response = await onPostgres.fetch('http://example/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-loaderkit-mode': mode },
          body: JSON.stringify({ query: NESTED(3) }),
        });
        return response.json();
      };
      const loaders = await ask('loaders');
      expect(loaders.extensions.sql).toEqual({ statements: 5, mode: 'loaders' });
      expect(loaders.data).toEqual((await run(NESTED(3))).data);
      const naive = await ask('naive');
      expect(naive.extensions.sql.statements).toBe(1 + 3 + 2 * 30 + 150);
    } finally {
      await onPostgres.dispose();
      await postgres.close();
    }
  }, 60_000);
});
