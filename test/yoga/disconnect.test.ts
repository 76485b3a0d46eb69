/**
 * Issue #10, through Yoga: request B joins request A's in-flight shared load; A's client goes away
 * (its request signal aborts); B still gets its data. The batch function honours its signal.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { type BatchLoadContext, defineLoaders, type LoadersOf } from '../../src/index.js';
import { useLoaders } from '../../src/yoga/use-loaders.js';
import { deferred, untilOrAborted } from '../helpers.js';

describe('useLoaders with a shared loader: one client going away', () => {
  it("never fails another client's request waiting on the same shared load", async () => {
    const gate = deferred<void>();
    const started = deferred<void>();
    const sourceSignals: AbortSignal[] = [];
    const createLoaders = defineLoaders({
      users: {
        batch: async (ids: readonly number[], _ctx: unknown, { signal }: BatchLoadContext) => {
          sourceSignals.push(signal);
          started.resolve();
          await untilOrAborted(gate.promise, signal);
          return ids.map((id) => ({ id, name: `user ${id}` }));
        },
        shared: { scope: 'global', ttl: 60_000 },
      },
    });
    type Ctx = LoadersOf<typeof createLoaders>;
    const schema = makeExecutableSchema({
      typeDefs: 'type User { id: Int!, name: String! } type Query { user(id: Int!): User }',
      resolvers: { Query: { user: (_: unknown, args: { id: number }, ctx: Ctx) => ctx.users.load(args.id) } },
    });
    const yoga = createYoga({ schema, plugins: [useLoaders(createLoaders)], maskedErrors: false });
    const ask = (signal?: AbortSignal) =>
      yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(id: 1) { name } }' }),
        ...(signal ? { signal } : {}),
      });
    const clientA = new AbortController();
    const a = Promise.resolve(ask(clientA.signal)).catch((error: unknown) => error);
    await started.promise;
    const b = ask();
    // Let B's load join A's flight before A goes away.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    clientA.abort(new Error('client A went away'));
    await a;
    expect(sourceSignals).toHaveLength(1);
    expect(sourceSignals[0]!.aborted).toBe(false);
    gate.resolve();
    const response = await b;
    expect(await response.json()).toEqual({ data: { user: { name: 'user 1' } } });
    expect(sourceSignals).toHaveLength(1);
    await yoga.dispose();
  });
});
