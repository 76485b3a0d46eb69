/**
 * The example's loaders: one SQL statement per batch, whatever the number of keys.
 */
import { defineLoaders, type RemoteStore } from '../../src/index.js';
import type { CountingDatabase } from './db.js';

export interface User {
  id: number;
  name: string;
}
export interface Post {
  id: number;
  author_id: number;
  title: string;
}
export interface Comment {
  id: number;
  post_id: number;
  author_id: number;
  body: string;
}
export interface Tag {
  id: number;
  name: string;
}

export interface ExampleContext {
  db: CountingDatabase;
}

/** Rows grouped by a column, in the order of `keys` (an empty list for a key with no rows). */
function groupBy<Row>(keys: readonly number[], rows: Row[], column: (row: Row) => number): Row[][] {
  const groups = new Map<number, Row[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(column(row))?.push(row);
  return keys.map((key) => groups.get(key)!);
}

/** One SQL statement per batch of keys. Shared by loaderkit's specs and the hand-wired dataloaders. */
export const batches = {
  users: async (ids: readonly number[], ctx: ExampleContext) => {
    const rows = await ctx.db.query<User>('SELECT id, name FROM users WHERE id = ANY($1::int[])', [ids]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  },
  postsByAuthor: async (authorIds: readonly number[], ctx: ExampleContext) =>
    groupBy(
      authorIds,
      await ctx.db.query<Post>(
        'SELECT id, author_id, title FROM posts WHERE author_id = ANY($1::int[]) ORDER BY id',
        [authorIds],
      ),
      (post) => post.author_id,
    ),
  commentsByPost: async (postIds: readonly number[], ctx: ExampleContext) =>
    groupBy(
      postIds,
      await ctx.db.query<Comment>(
        'SELECT id, post_id, author_id, body FROM comments WHERE post_id = ANY($1::int[]) ORDER BY id',
        [postIds],
      ),
      (comment) => comment.post_id,
    ),
  tagsByPost: async (postIds: readonly number[], ctx: ExampleContext) => {
    const rows = await ctx.db.query<Tag & { post_id: number }>(
      'SELECT pt.post_id, t.id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = ANY($1::int[]) ORDER BY t.id',
      [postIds],
    );
    return groupBy(postIds, rows, (row) => row.post_id).map((tags) =>
      tags.map(({ id, name }) => ({ id, name })),
    );
  },
};

/** How the example's loaders batch and cache (tests build their own sets with other settings). */
export interface ExampleLoaderSettings {
  /** Back every loader with a shared in-process cache (public data: scope 'global'). */
  shared: boolean;
  /** The adaptive schedule instead of the tick. */
  adaptive?: boolean;
  /**
   * A remote tier under the in-process one (`createRedisStore({ client })` of `loaderkit/redis`), so
   * several server processes share their hits. Only for a shared set. Default: none.
   */
  remote?: RemoteStore;
  /** Store failures (e.g. Redis down). Default: loaderkit's (`console.warn`, rate-limited). */
  onError?: (error: Error) => void;
}

/** The shared keys' prefix: keeps the example's entries apart from others on the same Redis. */
export const SHARED_PREFIX = 'loaderkit-example';

/** A fresh set of the example's loaders (a shared set has its own store). */
export function defineExampleLoaders({ shared, adaptive = false, remote, onError }: ExampleLoaderSettings) {
  if (remote !== undefined && !shared) throw new TypeError('defineExampleLoaders: remote needs shared: true');
  const policy = shared ? { shared: { scope: 'global' as const, ttl: 30_000 } } : {};
  const schedule = adaptive ? { adaptive: true } : {};
  return defineLoaders(
    {
      users: { batch: batches.users, ...schedule, ...policy },
      postsByAuthor: { batch: batches.postsByAuthor, ...schedule, ...policy },
      commentsByPost: { batch: batches.commentsByPost, ...schedule, ...policy },
      tagsByPost: { batch: batches.tagsByPost, ...schedule, ...policy },
    },
    { prefix: SHARED_PREFIX, ...(remote ? { remote } : {}), ...(onError ? { onError } : {}) },
  );
}

/** How the `partly` set caches: optionally over a remote tier too. */
export interface PartlyLoaderSettings {
  remote?: RemoteStore;
  onError?: (error: Error) => void;
}

/**
 * A partly warm shared cache (the `partly` mode of `npm run bench:e2e`): only the users loader is
 * shared, and only even user ids are kept (a TTL of 0 stores nothing, in process or remote), so in
 * steady state about half of the users lookups that reach the shared tier hit and the rest go to SQL,
 * however long the server runs. The other loaders are per request. Its keys have their own prefix, so
 * on one Redis they never meet the `shared` set's users.
 */
export function definePartlyLoaders({ remote, onError }: PartlyLoaderSettings = {}) {
  return defineLoaders(
    {
      postsByAuthor: { batch: batches.postsByAuthor },
      commentsByPost: { batch: batches.commentsByPost },
      tagsByPost: { batch: batches.tagsByPost },
      users: {
        batch: batches.users,
        shared: { scope: 'global', ttl: (user) => (user.id % 2 === 0 ? 30_000 : 0) },
      },
    },
    { prefix: `${SHARED_PREFIX}-partly`, ...(remote ? { remote } : {}), ...(onError ? { onError } : {}) },
  );
}

/** Loaders per request only. */
export const createRequestLoaders = defineExampleLoaders({ shared: false });
/** The same loaders backed by a shared in-process cache (public data: scope 'global'). */
export const createSharedLoaders = defineExampleLoaders({ shared: true });
/** The `partly` set in process only (see definePartlyLoaders). */
export const createPartlyLoaders = definePartlyLoaders();
