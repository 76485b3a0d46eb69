/**
 * A blog: users → posts → comments (with authors) and tags. Every list field is N+1 without loaders.
 * The `mode` of a request picks how resolvers fetch: `naive` (one query per field), `dataloader`
 * (npm dataloader, wired by hand per request), `loaders` (loaderkit's per-request loaders), `shared`
 * (loaderkit's loaders over a shared cache), `partly` (a shared users loader that keeps only half the
 * users, the other loaders per request).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { LoadersOf } from '../../src/index.js';
import type { CountingDatabase } from './db.js';
import type { Comment, createRequestLoaders, Post, Tag, User } from './loaders.js';

export type Mode = 'naive' | 'dataloader' | 'loaders' | 'shared' | 'partly';
type Loaders = LoadersOf<typeof createRequestLoaders>;

/** What resolvers need of a set of loaders: loaderkit's and hand-wired dataloaders both fit. */
export type LoaderSet = { [N in keyof Loaders]: Pick<Loaders[N], 'load'> };

export interface Context {
  db: CountingDatabase;
  mode: Mode;
  loaders: Loaders;
  sharedLoaders: Loaders;
  /** Set in `dataloader` mode. */
  dataloaders?: LoaderSet;
  /** Set in `partly` mode. */
  partlyLoaders?: LoaderSet;
}

const typeDefs = /* GraphQL */ `
  type Query {
    users(limit: Int = 10): [User!]!
    user(id: Int!): User
    posts(limit: Int = 10): [Post!]!
  }
  type Mutation {
    "Renames a user: the row, then every loader that holds it (in process, in Redis, on every instance)."
    renameUser(id: Int!, name: String!): User
  }
  type User {
    id: Int!
    name: String!
    posts: [Post!]!
  }
  type Post {
    id: Int!
    title: String!
    author: User!
    comments: [Comment!]!
    tags: [Tag!]!
  }
  type Comment {
    id: Int!
    body: String!
    author: User!
  }
  type Tag {
    id: Int!
    name: String!
  }
`;

const loadersOf = (ctx: Context): LoaderSet | null => {
  switch (ctx.mode) {
    case 'naive':
      return null;
    case 'dataloader':
      return ctx.dataloaders!;
    case 'shared':
      return ctx.sharedLoaders;
    case 'partly':
      return ctx.partlyLoaders!;
    default:
      return ctx.loaders;
  }
};

const userById = async (ctx: Context, id: number) => {
  const loaders = loadersOf(ctx);
  if (loaders) return loaders.users.load(id);
  const [row] = await ctx.db.query<User>('SELECT id, name FROM users WHERE id = $1', [id]);
  return row ?? null;
};

const resolvers = {
  Mutation: {
    renameUser: async (_: unknown, args: { id: number; name: string }, ctx: Context) => {
      await ctx.db.query('UPDATE users SET name = $2 WHERE id = $1', [args.id, args.name]);
      // Drop the old row wherever it is kept: this request's memo, and the shared tiers of every
      // instance (the shared set's invalidate writes Redis's marker and tells the other processes).
      await Promise.all([ctx.loaders.users.invalidate(args.id), ctx.sharedLoaders.users.invalidate(args.id)]);
      return userById(ctx, args.id);
    },
  },
  Query: {
    users: (_: unknown, args: { limit: number }, ctx: Context) =>
      ctx.db.query<User>('SELECT id, name FROM users ORDER BY id LIMIT $1', [args.limit]),
    user: (_: unknown, args: { id: number }, ctx: Context) => userById(ctx, args.id),
    posts: (_: unknown, args: { limit: number }, ctx: Context) =>
      ctx.db.query<Post>('SELECT id, author_id, title FROM posts ORDER BY id LIMIT $1', [args.limit]),
  },
  User: {
    posts: (user: User, _: unknown, ctx: Context) =>
      loadersOf(ctx)?.postsByAuthor.load(user.id) ??
      ctx.db.query<Post>('SELECT id, author_id, title FROM posts WHERE author_id = $1 ORDER BY id', [
        user.id,
      ]),
  },
  Post: {
    author: (post: Post, _: unknown, ctx: Context) => userById(ctx, post.author_id),
    comments: (post: Post, _: unknown, ctx: Context) =>
      loadersOf(ctx)?.commentsByPost.load(post.id) ??
      ctx.db.query<Comment>(
        'SELECT id, post_id, author_id, body FROM comments WHERE post_id = $1 ORDER BY id',
        [post.id],
      ),
    tags: (post: Post, _: unknown, ctx: Context) =>
      loadersOf(ctx)?.tagsByPost.load(post.id) ??
      ctx.db.query<Tag>(
        'SELECT t.id, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = $1 ORDER BY t.id',
        [post.id],
      ),
  },
  Comment: {
    author: (comment: Comment, _: unknown, ctx: Context) => userById(ctx, comment.author_id),
  },
};

export const schema = makeExecutableSchema({ typeDefs, resolvers });
