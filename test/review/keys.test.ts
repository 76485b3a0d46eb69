import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../src/index.js';

interface Ctx {
  tenant: string;
}

describe('review: keys and scopes', () => {
  it('a request whose context moved to another tenant fails closed on hits too, not only on misses', async () => {
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], ctx: Ctx) => ids.map((id) => ({ id, tenant: ctx.tenant })),
          shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
        },
      },
      { store: createMemoryStore() },
    );
    await createLoaders({ tenant: 'a' }).items.load(1); // tenant a's entry for key 1
    const ctx = { tenant: 'a' };
    const items = createLoaders(ctx).items;
    await items.load(2); // the request's scope is 'a'
    ctx.tenant = 'b'; // the context now says tenant b
    const miss = items.load(3);
    await expect(miss).rejects.toThrow(/scope changed/);
    // the same request, same context: a key that is a hit in tenant a's scope
    await expect(items.load(1)).rejects.toThrow(/scope changed/);
  });
});
