/**
 * The plugin's types, checked by `tsc --noEmit` (the `@ts-expect-error` lines must be errors) and
 * by vitest (`expectTypeOf`).
 */
import { createSchema, createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineLoaders, type LoadersOf, type RequestLoader } from '../../src/index.js';
import {
  type LoadersContextOf,
  type UseLoadersOptions,
  useLoaders,
  type YogaLoadersContext,
} from '../../src/yoga/use-loaders.js';

interface User {
  id: number;
  name: string;
}
interface Db {
  users(ids: readonly number[]): Promise<User[]>;
}
interface AppContext {
  db: Db;
  viewer: { staff: boolean };
}

const createLoaders = defineLoaders({
  users: { batch: (ids: readonly number[], ctx: { db: Db }) => ctx.db.users(ids) },
});
const plain = defineLoaders({ squares: { batch: async (ns: readonly number[]) => ns.map((n) => n * n) } });
declare const db: Db;
const typeDefs = 'type User { id: Int!, name: String! } type Query { user(id: Int!): User }';

describe('useLoaders types', () => {
  it('types the context resolvers see: ctx.users.load, and ctx.loaders.users with the key option', () => {
    type Context = YogaLoadersContext<typeof createLoaders>;
    expectTypeOf<Context['users']>().toEqualTypeOf<RequestLoader<number, User>>();
    expectTypeOf<Context['users']['load']>().returns.resolves.toEqualTypeOf<User>();
    expectTypeOf<Context>().toHaveProperty('db').toEqualTypeOf<Db>();
    expectTypeOf<Context>().toHaveProperty('request').toEqualTypeOf<Request>();
    type Keyed = YogaLoadersContext<typeof createLoaders, 'loaders'>;
    expectTypeOf<Keyed['loaders']['users']>().toEqualTypeOf<RequestLoader<number, User>>();
    expectTypeOf<Keyed>().not.toHaveProperty('users');
    expectTypeOf<LoadersContextOf<typeof createLoaders>>().toEqualTypeOf<{ db: Db }>();
    expectTypeOf<LoadersContextOf<typeof plain>>().toEqualTypeOf<{}>();

    // Resolvers typed by the derived context, under --strict, without a cast.
    const schema = createSchema<AppContext & LoadersOf<typeof createLoaders>>({
      typeDefs,
      resolvers: {
        Query: { user: (_parent: unknown, args: { id: number }, ctx) => ctx.users.load(args.id) },
      },
    });
    createYoga({
      schema,
      context: (): AppContext => ({ db, viewer: { staff: false } }),
      plugins: [useLoaders(createLoaders)],
    });
  });

  it('returns a Yoga Plugin whose context carries the loaders (flat, or under the key)', () => {
    const flat = useLoaders(createLoaders);
    expectTypeOf(flat).toExtend<Plugin<YogaInitialContext & { db: Db } & LoadersOf<typeof createLoaders>>>();
    type FlatContext = Parameters<NonNullable<typeof flat.onExecute>>[0]['args']['contextValue'];
    expectTypeOf<FlatContext['users']>().toEqualTypeOf<RequestLoader<number, User>>();
    expectTypeOf<FlatContext['db']>().toEqualTypeOf<Db>();

    const keyed = useLoaders(createLoaders, { key: 'loaders' });
    type KeyedContext = Parameters<NonNullable<typeof keyed.onExecute>>[0]['args']['contextValue'];
    expectTypeOf<KeyedContext['loaders']['users']>().toEqualTypeOf<RequestLoader<number, User>>();
    expectTypeOf<KeyedContext>().not.toHaveProperty('users');
  });

  it('checks a named Yoga context against what the batch functions need', () => {
    // Yoga's own context named (Yoga's typed style): it has db, so this compiles.
    createYoga<{}, AppContext>({
      schema: createSchema({ typeDefs }),
      context: () => ({ db, viewer: { staff: true } }),
      plugins: [useLoaders(createLoaders), useLoaders(createLoaders, { key: 'loaders' })],
    });
    // Its context has no db, which the users batch function reads.
    createYoga<{}, { viewer: { staff: boolean } }>({
      schema: createSchema({ typeDefs }),
      context: () => ({ viewer: { staff: true } }),
      // @ts-expect-error the Yoga context lacks what the batch functions need: db
      plugins: [useLoaders(createLoaders)],
    });
    // Its db is of another type.
    createYoga<{}, { db: string }>({
      schema: createSchema({ typeDefs }),
      context: () => ({ db: 'postgres://' }),
      // @ts-expect-error the Yoga context's db is not a Db
      plugins: [useLoaders(createLoaders, { key: 'loaders' })],
    });
    // Loaders that read no context fit any Yoga.
    createYoga<{}, { viewer: { staff: boolean } }>({
      schema: createSchema({ typeDefs }),
      context: () => ({ viewer: { staff: true } }),
      plugins: [useLoaders(plain)],
    });
  });

  it('types the options: key, and a trace function of the request and the context', () => {
    useLoaders(createLoaders, {
      trace: (request, ctx) => request.headers.has('x') && ctx.users !== undefined,
    });
    useLoaders(createLoaders, { key: 'loaders', trace: (_request, ctx) => ctx.loaders.users !== undefined });
    createYoga<{}, AppContext>({
      schema: createSchema({ typeDefs }),
      context: () => ({ db, viewer: { staff: true } }),
      plugins: [useLoaders(createLoaders, { trace: (_request, ctx) => ctx.viewer.staff })],
    });
    useLoaders(createLoaders, { trace: true });
    useLoaders(createLoaders, { trace: { header: 'x-loaders-trace' } });
    // Type errors first, and TypeErrors at run time too.
    // @ts-expect-error an unknown option
    expect(() => useLoaders(createLoaders, { tarce: true })).toThrow(/unknown option "tarce"/);
    // @ts-expect-error key is a string
    expect(() => useLoaders(createLoaders, { key: 1 })).toThrow(/key must be a non-empty string/);
    // @ts-expect-error trace decides with a boolean
    useLoaders(createLoaders, { trace: () => 'yes' });
    expectTypeOf<UseLoadersOptions['trace']>().toExtend<
      boolean | { header: string } | ((request: Request, context: never) => boolean) | undefined
    >();
  });
});
