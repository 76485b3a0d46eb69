/**
 * Type tests of defineLoaders (checked by `npx tsc --noEmit`; vitest runs the few runtime checks):
 * functions in a spec are typed from its batch function, without annotations.
 */
import type { ReadonlyDeep } from 'type-fest';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineLoaders, type LoaderSpec, loader, type RequestLoader } from '../src/index.js';

interface TenantCtx {
  tenantId: string;
}
interface User {
  id: number;
  name: string;
  tags: string[];
}
const user = (id: number): User => ({ id, name: `User ${id}`, tags: [] });

describe('defineLoaders: callbacks typed from the batch function', () => {
  it('types an unannotated shared.scope with the context of the batch function', async () => {
    const create = defineLoaders({
      users: {
        batch: async (ids: readonly number[], ctx: TenantCtx) =>
          ids.map((id) => ({ ...user(id), name: ctx.tenantId })),
        shared: {
          scope: (ctx) => {
            expectTypeOf(ctx).toEqualTypeOf<TenantCtx>();
            // @ts-expect-error: TenantCtx has no tenantIdTYPO
            void ctx.tenantIdTYPO;
            return ctx.tenantId;
          },
          ttl: (value, key) => {
            expectTypeOf(value).toEqualTypeOf<User>();
            expectTypeOf(key).toEqualTypeOf<number>();
            return value.id * 1_000;
          },
        },
      },
    });
    expect(await create({ tenantId: 'acme' }).users.load(1)).toMatchObject({ id: 1, name: 'acme' });
    await create.close();
  });

  it('types primes: the value is never null, for Map results and arrays with nulls alike', async () => {
    const create = defineLoaders({
      byId: {
        batch: async (ids: readonly number[]) => new Map(ids.map((id) => [id, user(id)] as const)),
        primes: {
          bySlug: (value, key) => {
            expectTypeOf(value).toEqualTypeOf<User>();
            expectTypeOf(key).toEqualTypeOf<number>();
            return `u${value.id}`;
          },
        },
      },
      bySlug: {
        batch: async (slugs: readonly string[]) =>
          slugs.map((slug) => (slug === 'nobody' ? null : user(Number(slug.slice(1))))),
        primes: {
          byId: (value, key) => {
            expectTypeOf(value).toEqualTypeOf<User>();
            expectTypeOf(key).toEqualTypeOf<string>();
            // @ts-expect-error: a User has no slug
            void value.slug;
            return value.id;
          },
        },
      },
    });
    const loaders = create({});
    expectTypeOf(loaders.byId.load).returns.toEqualTypeOf<Promise<User | null>>();
    expectTypeOf(loaders.bySlug.load).returns.toEqualTypeOf<Promise<User | null>>();
    const one = await loaders.byId.load(1);
    expect(await loaders.bySlug.load('u1')).toBe(one);
  });

  it('types cacheKey and a shared ttl of a Map answer with the key and the non-null value', () => {
    defineLoaders({
      users: {
        batch: async (keys: readonly { org: string; id: number }[]) =>
          new Map(keys.map((key) => [`${key.org}/${key.id}`, user(key.id)] as const)),
        cacheKey: (key) => {
          expectTypeOf(key).toEqualTypeOf<{ org: string; id: number }>();
          return `${key.org}/${key.id}`;
        },
        shared: {
          scope: 'global',
          ttl: (value) => {
            expectTypeOf(value).toEqualTypeOf<User>();
            return 1;
          },
        },
      },
    });
  });

  it('types loader() specs without shared as mutable', async () => {
    const create = defineLoaders({
      users: loader({ batch: async (ids: readonly number[]) => ids.map(user) }),
    });
    expectTypeOf(create({}).users).toEqualTypeOf<RequestLoader<number, User>>();
    (await create({}).users.load(1)).tags.push('x');
  });

  it('accepts a spec annotated with LoaderSpec<K, V, Ctx>, typed mutable', () => {
    const spec: LoaderSpec<number, User, unknown> = { batch: async (ids) => ids.map(user) };
    const create = defineLoaders({ users: spec });
    // Its batch function may answer with a Map, so a key can be absent: `| null`.
    expectTypeOf(create({}).users).toEqualTypeOf<RequestLoader<number, User | null>>();
  });

  it('keeps the loader() helper working', () => {
    const create = defineLoaders({
      users: loader({
        batch: async (ids: readonly number[], ctx: TenantCtx) =>
          ids.map((id) => user(id + ctx.tenantId.length)),
        shared: { scope: (ctx) => ctx.tenantId, ttl: 1_000 },
        primes: { users: (value) => value.id },
      }),
    });
    expectTypeOf(create).parameter(0).toEqualTypeOf<TenantCtx>();
    expectTypeOf(create({ tenantId: 't' }).users).toEqualTypeOf<RequestLoader<number, ReadonlyDeep<User>>>();
  });
});

describe('defineLoaders: shared values are typed readonly', () => {
  it('a spec with shared yields readonly values; one without stays mutable', async () => {
    const create = defineLoaders({
      shared: {
        batch: async (ids: readonly number[]) => ids.map(user),
        shared: { scope: 'global', ttl: 60_000 },
      },
      own: { batch: async (ids: readonly number[]) => ids.map(user) },
    });
    const loaders = create({});
    expectTypeOf(loaders.shared).toEqualTypeOf<RequestLoader<number, ReadonlyDeep<User>>>();
    expectTypeOf(loaders.own).toEqualTypeOf<RequestLoader<number, User>>();
    const cachedUser = await loaders.shared.load(1);
    // @ts-expect-error: a shared value is frozen
    expect(() => cachedUser.tags.push('x')).toThrow(TypeError);
    // @ts-expect-error: a shared value is frozen
    expect(() => (cachedUser.name = 'Mallory')).toThrow(TypeError);
    const ownUser = await loaders.own.load(1);
    ownUser.tags.push('x');
    expect(ownUser.tags).toEqual(['x']);
    await create.close();
  });

  it('a spec whose shared policy may be absent (spread in) keeps the value type of its batch function', () => {
    const specs = (share: boolean) => {
      const policy = share ? { shared: { scope: 'global' as const, ttl: 1_000 } } : {};
      return { users: { batch: async (ids: readonly number[]) => ids.map(user), ...policy } };
    };
    const loaders = defineLoaders(specs(true))({});
    // The type cannot tell whether it is shared: readonly would refuse mutations of unshared values.
    expectTypeOf(loaders.users).toEqualTypeOf<RequestLoader<number, User>>();
  });
});
