/**
 * `npm run bench:request`: the loader layer of one request of the example's nested query, without
 * GraphQL: µs per request of the loads its resolvers make (10 users → 100 posts → their tags,
 * comments and authors → the comments' authors: 810 loads over 4 loaders, in 4 tiers), against
 * batch functions that answer from arrays at once. Ways of wiring the loaders, run in rotating order
 * within each round (medians over rounds, ratios medians of per-round ratios):
 *   dataloader      4 npm DataLoaders made per request (the example's hand-wired mode)
 *   kit-core        4 loaderkit DataLoaders made per request (the same wiring, loaderkit's core)
 *   createLoaders   defineLoaders → createLoaders(ctx, { signal }) per request, as useLoaders does
 *   plugin-key      useLoaders(createLoaders, { key: 'loaders', trace: { header } }) hooks called per
 *                   request (onContextBuilding, onExecute), loaders read from ctx.loaders (the example)
 *   plugin-key-no-trace  the same without the trace option (onExecute returns at once)
 *   plugin-getters  useLoaders(createLoaders) without key: a getter per loader on each context
 * A per-request cost of loaderkit's layers shows as createLoaders / kit-core, of the plugin as
 * plugin-* / createLoaders. The built package (dist/), like `npm run bench`.
 * BENCH_REQ_ROUNDS (default 40), BENCH_REQ_REPEATS requests per sample (default 200).
 */
import NpmDataLoader from 'dataloader';
import { kit, kitYoga } from './kit.js';

const { DataLoader, defineLoaders } = kit;
const { useLoaders } = kitYoga;

const ROUNDS = Number(process.env.BENCH_REQ_ROUNDS ?? 40);
const REPEATS = Number(process.env.BENCH_REQ_REPEATS ?? 200);

// The example's seed shapes (examples/yoga-server/seed.ts): 100 users, 10 posts each, 5 comments
// and 2 tags per post.
interface User {
  id: number;
  name: string;
}
const USERS: User[] = Array.from({ length: 101 }, (_, id) => ({ id, name: `user ${id}` }));
const POSTS_BY_AUTHOR = USERS.map((user) =>
  Array.from({ length: 10 }, (_, i) => ({ id: (user.id - 1) * 10 + i + 1, author_id: user.id })),
);
const COMMENTS_BY_POST = Array.from({ length: 1001 }, (_, post) =>
  Array.from({ length: 5 }, (_, i) => {
    const g = (post - 1) * 5 + i + 1;
    return { id: g, post_id: post, author_id: ((g * 7) % 100) + 1 };
  }),
);
const TAGS_BY_POST = Array.from({ length: 1001 }, (_, post) => [
  { id: ((post * 3) % 20) + 1 },
  { id: ((post * 3 + 7) % 20) + 1 },
]);

interface Ctx {
  statements: number;
}
const batches = {
  users: async (ids: readonly number[], ctx: Ctx) => {
    ctx.statements++;
    return ids.map((id) => USERS[id] ?? null);
  },
  postsByAuthor: async (ids: readonly number[], ctx: Ctx) => {
    ctx.statements++;
    return ids.map((id) => POSTS_BY_AUTHOR[id]!);
  },
  commentsByPost: async (ids: readonly number[], ctx: Ctx) => {
    ctx.statements++;
    return ids.map((id) => COMMENTS_BY_POST[id]!);
  },
  tagsByPost: async (ids: readonly number[], ctx: Ctx) => {
    ctx.statements++;
    return ids.map((id) => TAGS_BY_POST[id]!);
  },
};

type Loader<V> = { load(key: number): Promise<V> };
interface Set {
  users: Loader<User | null>;
  postsByAuthor: Loader<Array<{ id: number; author_id: number }>>;
  commentsByPost: Loader<Array<{ id: number; author_id: number }>>;
  tagsByPost: Loader<Array<{ id: number }>>;
}

/** The resolvers' loads of the nested query, tier by tier as graphql-js runs them. */
async function query(loaders: Set): Promise<number> {
  let names = 0;
  await Promise.all(
    USERS.slice(1, 11).map(async (user) => {
      const posts = await loaders.postsByAuthor.load(user.id);
      await Promise.all(
        posts.map(async (post) => {
          const [author, tags, comments] = await Promise.all([
            loaders.users.load(post.author_id),
            loaders.tagsByPost.load(post.id),
            loaders.commentsByPost.load(post.id),
          ]);
          names += author === null ? 0 : 1;
          names += tags.length;
          const authors = await Promise.all(comments.map((c) => loaders.users.load(c.author_id)));
          names += authors.length;
        }),
      );
    }),
  );
  return names;
}

const createLoaders = defineLoaders({
  users: { batch: batches.users },
  postsByAuthor: { batch: batches.postsByAuthor },
  commentsByPost: { batch: batches.commentsByPost },
  tagsByPost: { batch: batches.tagsByPost },
});

const keyed = useLoaders(createLoaders, { key: 'loaders', trace: { header: 'x-loaders-trace' } });
const keyedUntraced = useLoaders(createLoaders, { key: 'loaders' });
const getters = useLoaders(createLoaders);
const request = new Request('http://bench/graphql', { method: 'POST' });

/** The hooks Yoga calls per operation, on a context like Yoga's (request, params). */
function viaPlugin(
  plugin: { onContextBuilding?: unknown; onExecute?: unknown },
  read: (ctx: Record<string, unknown>) => Set,
) {
  return async () => {
    const context: Record<string, unknown> = { request, params: {}, statements: 0 };
    const extendContext = (extra: object) => Object.assign(context, extra);
    // The hook payloads are Yoga's; only these fields are read.
    (plugin.onContextBuilding as any)({ context, extendContext });
    (plugin.onExecute as any)?.({ args: { contextValue: context } });
    return query(read(context));
  };
}

const MODES: Record<string, () => Promise<number>> = {
  dataloader: () => {
    const ctx = { statements: 0 };
    return query({
      users: new NpmDataLoader((ids: readonly number[]) => batches.users(ids, ctx)),
      postsByAuthor: new NpmDataLoader((ids: readonly number[]) => batches.postsByAuthor(ids, ctx)),
      commentsByPost: new NpmDataLoader((ids: readonly number[]) => batches.commentsByPost(ids, ctx)),
      tagsByPost: new NpmDataLoader((ids: readonly number[]) => batches.tagsByPost(ids, ctx)),
    });
  },
  'kit-core': () => {
    const ctx = { statements: 0 };
    return query({
      users: new DataLoader((ids: readonly number[]) => batches.users(ids, ctx)),
      postsByAuthor: new DataLoader((ids: readonly number[]) => batches.postsByAuthor(ids, ctx)),
      commentsByPost: new DataLoader((ids: readonly number[]) => batches.commentsByPost(ids, ctx)),
      tagsByPost: new DataLoader((ids: readonly number[]) => batches.tagsByPost(ids, ctx)),
    });
  },
  createLoaders: () => query(createLoaders({ statements: 0 }, { signal: request.signal })),
  'plugin-key': viaPlugin(keyed, (ctx) => ctx.loaders as Set),
  'plugin-key-no-trace': viaPlugin(keyedUntraced, (ctx) => ctx.loaders as Set),
  'plugin-getters': viaPlugin(getters, (ctx) => ctx as unknown as Set),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.round(q * (values.length - 1))]!;

const gc = (globalThis as { gc?: () => void }).gc;
async function time(run: () => Promise<number>): Promise<number> {
  gc?.();
  const started = process.hrtime.bigint();
  for (let i = 0; i < REPEATS; i++) await run();
  return Number(process.hrtime.bigint() - started) / 1000 / REPEATS;
}

const names = Object.keys(MODES);
const expected = await MODES.dataloader!();
for (const name of names) {
  const got = await MODES[name]!();
  if (got !== expected) throw new Error(`${name} answered ${got} names, dataloader ${expected}`);
}
for (let i = 0; i < 3; i++) for (const name of names) await time(MODES[name]!);
const samples = Object.fromEntries(names.map((name) => [name, [] as number[]]));
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(round + j) % names.length]!;
    samples[name]!.push(await time(MODES[name]!));
  }
}
console.log(
  `loaderkit request layer: the nested query's 810 loads per request, ${ROUNDS} rounds x ${REPEATS} requests` +
    `${gc ? ', gc before each sample' : ''}; node ${process.version}\n`,
);
const rows = [['wiring', 'µs/request', 'x dataloader', 'q1-q3', 'x kit-core', 'x createLoaders']];
const ratio = (name: string, other: string) => {
  const ratios = samples[name]!.map((us, r) => us / samples[other]![r]!);
  return [median(ratios), quantile(ratios, 0.25), quantile(ratios, 0.75)] as const;
};
for (const name of names) {
  const [dl, q1, q3] = ratio(name, 'dataloader');
  rows.push([
    name,
    median(samples[name]!).toFixed(1),
    `${dl.toFixed(3)}x`,
    `${q1.toFixed(2)}-${q3.toFixed(2)}`,
    `${ratio(name, 'kit-core')[0].toFixed(3)}x`,
    `${ratio(name, 'createLoaders')[0].toFixed(3)}x`,
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows)
  console.log(
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
