/**
 * Two example server processes on one Redis and one PostgreSQL (issue #12 §5): a mutation on #1 reaches
 * #2's in-process tier (the next read on #2 sees the new value, long before any TTL), and #1 killed in
 * the middle of a request leaves #2 serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/yoga-server/db.js';
import { type RedisServer, startRedis } from '../redis.js';
import { children, type Example, startExample, stopExample } from './example-process.js';

const postgres = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const DATABASE = 'loaderkit_instances';

interface Answer {
  data?: { user?: { name: string } | null; renameUser?: { name: string } | null };
  errors?: unknown;
  extensions: { sql: { statements: number } };
}

async function post(example: Example, query: string): Promise<Answer> {
  const response = await fetch(example.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-loaderkit-mode': 'shared' },
    body: JSON.stringify({ query }),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as Answer;
  expect(answer.errors).toBeUndefined();
  return answer;
}

const nameOf = async (example: Example, id: number) =>
  (await post(example, `{ user(id: ${id}) { name } }`)).data!.user!.name;

let redis: RedisServer;
let first: Example;
let second: Example;

beforeAll(async () => {
  redis = await startRedis();
  const admin = await openDatabase(`${postgres}/test`);
  await admin.exec(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.exec(`CREATE DATABASE ${DATABASE}`);
  await admin.close();
  const env = { REDIS_URL: redis.url, DATABASE_URL: `${postgres}/${DATABASE}` };
  first = await startExample(env); // seeds the tables
  second = await startExample({ ...env, SKIP_SEED: '1' });
}, 60_000);

afterAll(async () => {
  await Promise.all([...children].map(stopExample));
  await redis?.close();
});

describe('two example processes on one Redis and one PostgreSQL', () => {
  it('a mutation on #1: the next read on #2 sees the new name, though #2 kept the old one in process', async () => {
    expect(await nameOf(second, 7)).toBe('user 7');
    const cached = await post(second, '{ user(id: 7) { name } }');
    expect(cached.extensions.sql.statements).toBe(0); // in #2's in-process tier now
    const renamed = await post(first, 'mutation { renameUser(id: 7, name: "Ada") { name } }');
    expect(renamed.data!.renameUser!.name).toBe('Ada');
    // The shared TTL is 30 s: without the message #2 would answer "user 7" that long.
    const started = Date.now();
    let name = await nameOf(second, 7);
    while (name !== 'Ada' && Date.now() - started < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      name = await nameOf(second, 7);
    }
    expect(name).toBe('Ada');
    expect(await nameOf(first, 7)).toBe('Ada');
    // Others are untouched on both.
    expect(await nameOf(second, 8)).toBe('user 8');
  });

  it('#1 killed in the middle of a request: #2 keeps serving, from its tiers and the database', async () => {
    const inFlight = post(first, '{ users(limit: 50) { name posts { title comments { body } } } }').catch(
      (error: unknown) => error,
    );
    first.child.kill('SIGKILL');
    await inFlight; // answered or cut: either way #1 is gone
    for (let id = 1; id <= 20; id++) expect(await nameOf(second, id)).toBe(id === 7 ? 'Ada' : `user ${id}`);
    expect(second.child.exitCode).toBeNull();
  });
});
