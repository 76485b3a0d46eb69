import { makeExecutableSchema } from '@graphql-tools/schema';
import { createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStore, defineLoaders, type LoadersOf } from '../../src/index.js';
import { type UseLoadersOptions, useLoaders } from '../../src/yoga/use-loaders.js';

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

function setup(options: UseLoadersOptions = {}) {
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

  it('refuses bad arguments at creation, echoing them', () => {
    const { createLoaders } = setup();
    expect(() => useLoaders((() => ({})) as never)).toThrow(/takes the function defineLoaders returned/);
    expect(() => useLoaders(createLoaders, { key: '' })).toThrow(
      /key must be a non-empty string, but got: ""/,
    );
    expect(() => useLoaders(createLoaders, { tarce: true } as never)).toThrow(
      new TypeError(
        'useLoaders: unknown option "tarce" (the options are key and trace), in: {"tarce":true}.',
      ),
    );
    expect(() => useLoaders(createLoaders, 'trace' as never)).toThrow(
      /takes an options object, but got: "trace"/,
    );
    expect(() => useLoaders(createLoaders, { trace: 'yes' as never })).toThrow(
      /trace must be a boolean, a function \(request, context\) => boolean or \{ header: string \}, but got: "yes"/,
    );
  });

  it.each(['request', 'params', 'waitUntil', 'req', 'res', 'constructor', 'toString'])(
    'refuses a loader named %j on the context at creation, and takes it under a key',
    async (name) => {
      const createLoaders = defineLoaders({ [name]: { batch: async (k: readonly number[]) => k } });
      expect(() => useLoaders(createLoaders)).toThrow(
        new RegExp(`loader "${name}" cannot sit on the context.*pass \\{ key: 'loaders' \\}`),
      );
      const schema = makeExecutableSchema({
        typeDefs: 'type Query { n: Int }',
        resolvers: {
          Query: {
            n: (_: unknown, __: unknown, ctx: { loaders: Record<string, { load(n: number): unknown }> }) =>
              ctx.loaders[name]!.load(7),
          },
        },
      });
      const yoga = createYoga({ schema, plugins: [useLoaders(createLoaders, { key: 'loaders' })] });
      expect(await post(yoga, { query: '{ n }' })).toEqual({ data: { n: 7 } });
    },
  );

  it('refuses a key Yoga uses at creation', () => {
    const { createLoaders } = setup();
    expect(() => useLoaders(createLoaders, { key: 'request' })).toThrow(/option key "request" would hide/);
  });

  it("answers a clear GraphQL error when the context already has a loader's name (masked errors on)", async () => {
    const createLoaders = defineLoaders({ users: { batch: async (k: readonly number[]) => k } });
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { ok: Boolean }',
      resolvers: { Query: { ok: () => true } },
    });
    for (const [plugin, message] of [
      [useLoaders(createLoaders), 'loader "users" would hide the context\'s own "users"'],
      [
        useLoaders(createLoaders, { key: 'users' }),
        'option key "users" would hide the context\'s own "users"',
      ],
    ] as const) {
      const yoga = createYoga({
        schema,
        context: () => ({ users: 'from the context factory' }),
        plugins: [plugin],
      });
      const response = await yoga.fetch('http://yoga/graphql?query={ok}');
      expect(response.status).toBe(500);
      const body = await response.json();
      expect(body.data).toBeUndefined();
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining(message),
          extensions: expect.objectContaining({ code: 'LOADERKIT_CONTEXT_CONFLICT' }),
        }),
      ]);
      expect(body.errors[0].message).not.toBe('Unexpected error.');
    }
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
  it('lets the server decide per request with a trace function of the request and the context', async () => {
    const seen: Array<[string, boolean]> = [];
    const { yoga } = setup({
      trace: (request, context) => {
        seen.push([request.url, typeof (context as { users?: unknown }).users === 'object']);
        return request.headers.get('authorization') === 'staff';
      },
    });
    const query = { query: '{ user(id: 1) { name } }' };
    // A client that sends the old header gets nothing: the server decides.
    const outsider = await post(yoga, query, {
      headers: { 'content-type': 'application/json', 'x-loaders-trace': '1' },
    });
    expect(outsider.extensions).toBeUndefined();
    const staff = await post(yoga, query, {
      headers: { 'content-type': 'application/json', authorization: 'staff' },
    });
    expect(staff.data).toEqual({ user: { name: 'user 1' } });
    expect(staff.extensions.loaders.users).toEqual(expect.objectContaining({ loads: 1, batches: 1 }));
    expect(seen).toEqual([
      ['http://yoga/graphql', true],
      ['http://yoga/graphql', true],
    ]);
  });

  describe('a trace function that throws or answers a non-boolean', () => {
    afterEach(() => vi.restoreAllMocks());

    it.each([
      [
        'throws',
        () => {
          throw new Error('no session store');
        },
        /trace function threw.*no session store/,
      ],
      ['answers a string', () => 'yes' as never, /must return a boolean, but returned "yes"/],
      [
        'answers a promise',
        (async () => true) as never,
        /must return a boolean, but returned a Promise \(the decision must be synchronous\)/,
      ],
      [
        // A rejected decision must not become an unhandled rejection (vitest fails the run on one).
        'answers a promise that rejects',
        (async () => {
          throw new Error('viewer lookup failed');
        }) as never,
        /must return a boolean, but returned a Promise \(the decision must be synchronous\)/,
      ],
    ] as const)('%s: the request succeeds untraced, reported once', async (_label, trace, warning) => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const { yoga } = setup({ trace });
      for (let i = 0; i < 2; i++) {
        const result = await post(yoga, { query: '{ user(id: 2) { name } }' });
        expect(result).toEqual({ data: { user: { name: 'user 2' } } });
      }
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(warning);
    });
  });
});
