import { makeExecutableSchema } from '@graphql-tools/schema';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders, type LoadersOf } from '../../src/index.js';
import { useLoaders } from '../../src/yoga/use-loaders.js';

interface Post {
  id: number;
  authorId: number;
}

const users = new Map(
  [1, 2, 3].map((id) => [id, { id, name: `user ${id}`, postIds: [id * 10, id * 10 + 1] }]),
);
const posts = new Map<number, Post>(
  [10, 11, 20, 21, 30, 31].map((id) => [id, { id, authorId: ((id % 3) + 1) as number }]),
);

const typeDefs = /* GraphQL */ `
  type User { id: Int!, name: String!, posts: [Post!]! }
  type Post { id: Int!, author: User }
  type Query { users: [User!]!, user(id: Int!): User }
  type Subscription { ticks: Int! }
`;

function setup(options: { key?: string; trace?: boolean | { header: string } } = {}) {
  const calls: Record<string, number[][]> = { users: [], posts: [] };
  const createLoaders = defineLoaders({
    users: {
      batch: async (ids: readonly number[]) => {
        calls.users!.push([...ids]);
        return new Map(ids.flatMap((id) => (users.has(id) ? [[id, users.get(id)!] as const] : [])));
      },
    },
    posts: {
      batch: async (ids: readonly number[]) => {
        calls.posts!.push([...ids]);
        return ids.map((id) => posts.get(id) ?? null);
      },
    },
  });
  type Ctx = LoadersOf<typeof createLoaders>;
  const loadersOf = (ctx: Ctx & { loaders?: Ctx }) => (options.key ? ctx.loaders! : ctx);
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Query: {
        users: () => [...users.values()],
        user: (_: unknown, args: { id: number }, ctx: Ctx) => loadersOf(ctx).users.load(args.id),
      },
      User: {
        posts: (user: { postIds: number[] }, _: unknown, ctx: Ctx) =>
          loadersOf(ctx).posts.loadMany(user.postIds),
      },
      Post: { author: (post: Post, _: unknown, ctx: Ctx) => loadersOf(ctx).users.load(post.authorId) },
      Subscription: {
        ticks: {
          subscribe: async function* () {
            for (let i = 0; i < 3; i++) yield { ticks: i };
          },
        },
      },
    },
  });
  const yoga = createYoga({ schema, plugins: [useLoaders(createLoaders, options)], maskedErrors: false });
  return { yoga, calls, createLoaders };
}

async function post(yoga: ReturnType<typeof setup>['yoga'], body: unknown, init: RequestInit = {}) {
  const response = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
  return response.json();
}

describe('useLoaders', () => {
  it('puts the loaders on the context: a nested query costs one batch per level', async () => {
    const { yoga, calls } = setup();
    const result = await post(yoga, { query: '{ users { name posts { id author { name } } } }' });
    expect(result.errors).toBeUndefined();
    expect(result.data.users[0]).toEqual({
      name: 'user 1',
      posts: [
        { id: 10, author: { name: 'user 2' } },
        { id: 11, author: { name: 'user 3' } },
      ],
    });
    expect(calls.posts).toEqual([[10, 11, 20, 21, 30, 31]]);
    expect(calls.users).toEqual([[2, 3, 1]]);
  });

  it('nests the loaders under a key when asked', async () => {
    const { yoga, calls } = setup({ key: 'loaders' });
    const result = await post(yoga, { query: '{ a: user(id: 1) { name } b: user(id: 2) { name } }' });
    expect(result.data).toEqual({ a: { name: 'user 1' }, b: { name: 'user 2' } });
    expect(calls.users).toEqual([[1, 2]]);
  });

  it('gives every request its own loaders (no memo shared between operations)', async () => {
    const { yoga, calls } = setup();
    await post(yoga, { query: '{ user(id: 1) { name } }' });
    await post(yoga, { query: '{ user(id: 1) { name } }' });
    expect(calls.users).toEqual([[1], [1]]);
  });

  it("wires the request's abort signal to the batch functions", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: AbortSignal[] = [];
    let entered!: () => void;
    const inBatch = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const createLoaders = defineLoaders({
      slow: {
        batch: async (keys: readonly number[], _ctx: unknown, { signal }) => {
          seen.push(signal);
          entered();
          await gate;
          return keys;
        },
      },
    });
    type Ctx = LoadersOf<typeof createLoaders>;
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { slow: Int }',
      resolvers: { Query: { slow: (_: unknown, __: unknown, ctx: Ctx) => ctx.slow.load(7) } },
    });
    const yoga = createYoga({ schema, plugins: [useLoaders(createLoaders)] });
    const controller = new AbortController();
    const pending = Promise.resolve(
      yoga.fetch('http://yoga/graphql?query={slow}', { signal: controller.signal }),
    ).catch((error: unknown) => error);
    await inBatch;
    expect(seen[0]!.aborted).toBe(false);
    controller.abort(new Error('client went away'));
    expect(seen[0]!.aborted).toBe(true);
    release();
    await pending;
  });

  it('starts each subscription event from an empty memo', async () => {
    let loads = 0;
    const createLoaders = defineLoaders({
      counter: {
        batch: async (keys: readonly string[]) => {
          loads++;
          return keys.map(() => loads);
        },
      },
    });
    type Ctx = LoadersOf<typeof createLoaders>;
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { ok: Boolean } type Subscription { tick: Int! }',
      resolvers: {
        Subscription: {
          tick: {
            subscribe: async function* () {
              for (let i = 0; i < 3; i++) yield {};
            },
            resolve: (_: unknown, __: unknown, ctx: Ctx) => ctx.counter.load('n'),
          },
        },
      },
    });
    const yoga = createYoga({ schema, plugins: [useLoaders(createLoaders)] });
    const response = await yoga.fetch('http://yoga/graphql?query=subscription{tick}', {
      headers: { accept: 'text/event-stream' },
    });
    const text = await response.text();
    const ticks = [...text.matchAll(/"tick":(\d+)/g)].map((m) => Number(m[1]));
    expect(ticks).toEqual([1, 2, 3]);
  });

  it('closes the store defineLoaders created when yoga is disposed', async () => {
    const store = createMemoryStore();
    let closed = 0;
    const watched = { ...store, close: async () => void closed++ };
    const createLoaders = defineLoaders(
      { a: { batch: async (k: readonly number[]) => k } },
      { store: watched },
    );
    const yoga = createYoga({
      schema: makeExecutableSchema({ typeDefs: 'type Query { ok: Boolean }' }),
      plugins: [useLoaders(createLoaders)],
    });
    await yoga.dispose();
    // A store passed in belongs to the caller: only a store defineLoaders made is closed.
    expect(closed).toBe(0);
    const own = defineLoaders({
      a: { batch: async (k: readonly number[]) => k, shared: { scope: 'global', ttl: 1000 } },
    });
    await own({}).a.load(1);
    expect(own.stats().store?.entries).toBe(1);
    const yoga2 = createYoga({
      schema: makeExecutableSchema({ typeDefs: 'type Query { ok: Boolean }' }),
      plugins: [useLoaders(own)],
    });
    await yoga2.dispose();
    expect(own.stats().store).toBeUndefined();
  });

  it('refuses a loader name that would hide a context property, and bad arguments', async () => {
    const createLoaders = defineLoaders({ request: { batch: async (k: readonly number[]) => k } });
    const yoga = createYoga({
      schema: makeExecutableSchema({ typeDefs: 'type Query { ok: Boolean }' }),
      plugins: [useLoaders(createLoaders)],
      maskedErrors: false,
    });
    const response = await yoga.fetch('http://yoga/graphql?query={ok}');
    const body = await response.text();
    expect(body).toContain('would hide the context');
    expect(() => useLoaders((() => ({})) as never)).toThrow(/takes the function defineLoaders returned/);
    expect(() => useLoaders(createLoaders, { key: '' })).toThrow(/key must be a non-empty string/);
  });

  it('reports each loader used in extensions.loaders when tracing', async () => {
    const { yoga } = setup({ trace: true });
    const result = await post(yoga, { query: '{ users { posts { author { name } } } }' });
    expect(result.extensions.loaders).toEqual({
      posts: expect.objectContaining({ loads: 6, batches: 1, keysPerBatch: 6, misses: 6, memoHits: 0 }),
      users: expect.objectContaining({ loads: 6, batches: 1, keysPerBatch: 3, misses: 3, memoHits: 3 }),
    });
    expect(result.extensions.loaders.users.sourceMs).toBeGreaterThanOrEqual(0);
  });

  it('traces only requests that send the allowed header, and nothing by default', async () => {
    const withHeader = setup({ trace: { header: 'x-loaders-trace' } });
    const query = { query: '{ user(id: 1) { name } }' };
    expect((await post(withHeader.yoga, query)).extensions).toBeUndefined();
    const traced = await post(withHeader.yoga, query, {
      headers: { 'content-type': 'application/json', 'x-loaders-trace': '1' },
    });
    expect(traced.extensions.loaders.users).toEqual(expect.objectContaining({ loads: 1, batches: 1 }));
    expect((await post(setup().yoga, query)).extensions).toBeUndefined();
    expect(() => useLoaders(setup().createLoaders, { trace: { header: '' } })).toThrow(/trace must be/);
  });
});
