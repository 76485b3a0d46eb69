/**
 * `npm start` (until the Yoga example server lands): a resolver-shaped walk over users → posts that
 * would issue one query per row without a loader, printed with the batches loaderkit sends instead.
 */
import { DataLoader, defineLoaders } from '../src/index.js';

interface User {
  id: number;
  name: string;
  postIds: number[];
}
interface Post {
  id: number;
  title: string;
  authorId: number;
}

const users = new Map<number, User>(
  Array.from({ length: 10 }, (_, i) => [
    i + 1,
    { id: i + 1, name: `user ${i + 1}`, postIds: [] as number[] },
  ]),
);
const posts = new Map<number, Post>();
for (let id = 1; id <= 40; id++) {
  const authorId = ((id * 7) % 10) + 1;
  posts.set(id, { id, title: `post ${id}`, authorId });
  users.get(authorId)!.postIds.push(id);
}

let queries = 0;
const query = async <T>(
  table: string,
  rows: Map<number, T>,
  ids: readonly number[],
): Promise<Map<number, T>> => {
  queries++;
  console.log(`  SELECT * FROM ${table} WHERE id IN (${ids.join(', ')})`);
  await new Promise((resolve) => setTimeout(resolve, 2));
  return new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id)!] as const] : [])));
};

const onBatch = (event: {
  loader: string | null;
  keys: readonly unknown[];
  reason: string;
  durationMs: number;
}) =>
  console.log(
    `    ↳ ${event.loader}: ${event.keys.length} keys, dispatched on ${event.reason}, ${event.durationMs.toFixed(1)} ms`,
  );

async function main(): Promise<void> {
  const userLoader = new DataLoader<number, User | null>((ids) => query('users', users, ids), {
    name: 'users',
    onBatch,
  });
  const postLoader = new DataLoader<number, Post | null>((ids) => query('posts', posts, ids), {
    name: 'posts',
    onBatch,
  });

  console.log('query { users { posts { author { name } } } } with loaders:');
  const all = await userLoader.loadMany([...users.keys()]);
  const authors = await Promise.all(
    all.map(async (user) => {
      if (user === null || user instanceof Error) return [];
      const userPosts = await postLoader.loadMany(user.postIds);
      return Promise.all(
        userPosts.map(async (post) =>
          post && !(post instanceof Error) ? (await userLoader.load(post.authorId))?.name : null,
        ),
      );
    }),
  );
  const rows = authors.flat().length;
  console.log(
    `\n${rows} post authors resolved with ${queries} queries; without loaders it would take ${1 + users.size + rows}.`,
  );

  // The same walk as two requests with per-request loaders over a shared cache: the second request
  // is answered from memory, without a query.
  const createLoaders = defineLoaders({
    users: {
      batch: (ids: readonly number[]) => query('users', users, ids),
      shared: { scope: 'global', ttl: 60_000 },
    },
  });
  for (const request of ['first', 'second']) {
    const before = queries;
    const loaders = createLoaders({});
    await loaders.users.loadMany([...users.keys()]);
    const stats = loaders.users.stats();
    console.log(
      `\n${request} request: ${queries - before} queries, ${stats.sharedHits} shared hits, ${stats.misses} misses`,
    );
  }
  await createLoaders.close();
  console.log('\nRun `npm run bench` to compare against npm dataloader.');
}

await main();
