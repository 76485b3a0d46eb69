/**
 * `npm run bench:yoga`: µs per request of the example server's nested query, in process: `yoga.fetch`
 * of examples/yoga-server (its schema, plugins and loaders, from src/ through tsx) over an in-memory
 * database that answers the example's SQL from JS arrays at once, so what is left is GraphQL, Yoga
 * and the loaders: far less noise than HTTP and PGlite, and the place to see what a request pays in
 * one mode and not in another. Modes run in rotating order within each round; figures are medians
 * over rounds, ratios are medians of the ratios within each round.
 *
 * BENCH_YOGA_ROUNDS (default 30), BENCH_YOGA_REQUESTS per mode per round (default 50),
 * BENCH_YOGA_CONCURRENCY requests in flight (default 1), BENCH_YOGA_MODES (default
 * dataloader,loaders,shared,partly), BENCH_YOGA_DB=pglite for the example's real database instead.
 */
import type { Database } from '../examples/yoga-server/db.js';
import { SEED } from '../examples/yoga-server/seed.js';
import { createExampleYoga } from '../examples/yoga-server/server.js';

const QUERY = '{ users(limit: 10) { name posts { title tags { name } comments { body author { name } } } } }';
const ROUNDS = Number(process.env.BENCH_YOGA_ROUNDS ?? 30);
const REQUESTS = Number(process.env.BENCH_YOGA_REQUESTS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_YOGA_CONCURRENCY ?? 1);
const MODES = (process.env.BENCH_YOGA_MODES ?? 'dataloader,loaders,shared,partly').split(',');

type Row = Record<string, unknown>;

/** The example's seed (examples/yoga-server/seed.ts) as arrays, and its statements over them. */
function memoryDatabase(): Database {
  const users: Row[] = [];
  const posts: Row[] = [];
  const comments: Row[] = [];
  const tags: Row[] = [];
  const postTags: Array<{ post_id: number; tag_id: number }> = [];
  const postCount = SEED.users * SEED.postsPerUser;
  for (let g = 1; g <= SEED.users; g++) users.push({ id: g, name: `user ${g}` });
  for (let g = 1; g <= postCount; g++)
    posts.push({ id: g, author_id: Math.floor((g - 1) / SEED.postsPerUser) + 1, title: `post ${g}` });
  for (let g = 1; g <= postCount * SEED.commentsPerPost; g++)
    comments.push({
      id: g,
      post_id: Math.floor((g - 1) / SEED.commentsPerPost) + 1,
      author_id: ((g * 7) % SEED.users) + 1,
      body: `comment ${g}`,
    });
  for (let g = 1; g <= SEED.tags; g++) tags.push({ id: g, name: `tag ${g}` });
  for (let p = 1; p <= postCount; p++) postTags.push({ post_id: p, tag_id: ((p * 3) % SEED.tags) + 1 });
  for (let p = 1; p <= postCount; p++) postTags.push({ post_id: p, tag_id: ((p * 3 + 7) % SEED.tags) + 1 });
  const byColumn = (rows: Row[], column: string) => {
    const index = new Map<unknown, Row[]>();
    for (const row of rows) {
      const list = index.get(row[column]);
      if (list) list.push(row);
      else index.set(row[column], [row]);
    }
    return index;
  };
  const usersById = byColumn(users, 'id');
  const postsByAuthor = byColumn(posts, 'author_id');
  const commentsByPost = byColumn(comments, 'post_id');
  const tagById = new Map(tags.map((tag) => [tag.id, tag]));
  const tagsByPost = new Map<number, Row[]>();
  for (const { post_id, tag_id } of postTags) {
    const list = tagsByPost.get(post_id) ?? [];
    list.push({ post_id, ...tagById.get(tag_id)! });
    tagsByPost.set(post_id, list);
  }
  for (const list of tagsByPost.values()) list.sort((a, b) => (a.id as number) - (b.id as number));
  const many = (index: Map<unknown, Row[]>, ids: readonly unknown[]) =>
    ids.flatMap((id) => index.get(id) ?? []);
  const answer = (sql: string, params: unknown[]): Row[] => {
    const [first] = params as [number | number[]];
    const ids = Array.isArray(first) ? first : [first];
    if (sql.startsWith('SELECT id, name FROM users ORDER BY id LIMIT'))
      return users.slice(0, first as number);
    if (sql.startsWith('SELECT id, author_id, title FROM posts ORDER BY id LIMIT'))
      return posts.slice(0, first as number);
    if (sql.startsWith('SELECT id, name FROM users WHERE')) return many(usersById, ids);
    if (sql.startsWith('SELECT id, author_id, title FROM posts WHERE')) return many(postsByAuthor, ids);
    if (sql.startsWith('SELECT id, post_id, author_id, body FROM comments')) return many(commentsByPost, ids);
    if (sql.startsWith('SELECT pt.post_id, t.id, t.name')) return many(tagsByPost, ids);
    if (sql.startsWith('SELECT t.id, t.name'))
      return many(tagsByPost, ids).map(({ id, name }) => ({ id, name }));
    throw new Error(`memory database: no answer for ${sql}`);
  };
  return {
    kind: 'pglite',
    // A copy per answer, as a driver returns new row objects for every query.
    query: async <R>(sql: string, params: unknown[] = []) =>
      answer(sql, params).map((row) => ({ ...row })) as R[],
    exec: async () => {},
    close: async () => {},
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  let database: Database;
  if (process.env.BENCH_YOGA_DB === 'pglite') {
    const { openDatabase } = await import('../examples/yoga-server/db.js');
    const { seed } = await import('../examples/yoga-server/seed.js');
    database = await openDatabase('');
    await seed(database);
  } else {
    database = memoryDatabase();
  }
  const yoga = createExampleYoga(database);
  const body = JSON.stringify({ query: QUERY });
  const request = async (mode: string) => {
    const response = await yoga.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-loaderkit-mode': mode },
      body,
    });
    return response.text();
  };
  // Every mode must answer the same data.
  const expected = JSON.parse(await request('naive')).data;
  for (const mode of MODES) {
    const answer = JSON.parse(await request(mode));
    if (JSON.stringify(answer.data) !== JSON.stringify(expected))
      throw new Error(`mode ${mode} answers differently: ${JSON.stringify(answer).slice(0, 300)}`);
  }
  // With --expose-gc (as `npm run bench:yoga` runs it), every sample starts on a clean young
  // generation, so where a collection falls does not decide which mode looks faster.
  const gc = (globalThis as { gc?: () => void }).gc;
  /** µs per request of `count` requests, `CONCURRENCY` at a time. */
  const time = async (mode: string, count: number) => {
    gc?.();
    const started = process.hrtime.bigint();
    let left = count;
    const chain = async () => {
      while (left-- > 0) await request(mode);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, chain));
    return Number(process.hrtime.bigint() - started) / 1000 / count;
  };
  console.log(`loaderkit in-process yoga.fetch: ${QUERY}`);
  console.log(
    `${process.env.BENCH_YOGA_DB === 'pglite' ? 'PGlite' : 'in-memory database'}; ` +
      `${ROUNDS} rounds x ${REQUESTS} requests per mode (rotating order), ${CONCURRENCY} in flight${gc ? ', gc before each' : ''}; node ${process.version}\n`,
  );
  for (let i = 0; i < 3; i++) for (const mode of MODES) await time(mode, REQUESTS);
  const samples = Object.fromEntries(MODES.map((mode) => [mode, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < MODES.length; j++) {
      const mode = MODES[(round + j) % MODES.length]!;
      samples[mode]!.push(await time(mode, REQUESTS));
    }
  }
  const rows = [['mode', 'µs/request', 'x dataloader (time)', 'q1-q3']];
  const quantile = (values: number[], q: number) =>
    [...values].sort((a, b) => a - b)[Math.round(q * (values.length - 1))]!;
  for (const mode of MODES) {
    const ratios = samples[mode]!.map((us, r) => us / (samples.dataloader?.[r] ?? Number.NaN));
    rows.push([
      mode,
      median(samples[mode]!).toFixed(1),
      `${median(ratios).toFixed(3)}x`,
      `${quantile(ratios, 0.25).toFixed(3)}-${quantile(ratios, 0.75).toFixed(3)}`,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
  await yoga.dispose();
  await database.close();
}

await main();
