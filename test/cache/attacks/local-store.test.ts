import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders, type LocalStore } from '../../../src/index.js';
import { db } from '../harness.js';

interface Ctx {
  tenant: string;
}

function withStore(store: LocalStore, data: ReturnType<typeof db>) {
  return defineLoaders(
    {
      items: {
        batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id, v: data.get(id) })),
        shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000 },
      },
    },
    { store, onError: () => {} },
  );
}

describe('attack: a failing local store and invalidation', () => {
  it('invalidate() whose local delete throws must not resolve while the old entry keeps being served', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'flaky',
      delete() {
        throw new Error('local delete failed');
      },
    };
    const data = db();
    const createLoaders = withStore(store, data);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    data.set(1, 2);
    const outcome = await createLoaders({ tenant: 'a' })
      .items.invalidate(1)
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const after = await createLoaders({ tenant: 'a' }).items.load(1);
    // either the invalidation says it failed, or the old value is never served again
    expect(outcome === 'rejected' || after.v === 2).toBe(true);
  });

  it('invalidateScope() whose deleteSpaces throws must not resolve while the old entries keep being served', async () => {
    const inner = createMemoryStore();
    const store: LocalStore = {
      ...inner,
      name: 'flaky',
      deleteSpaces() {
        throw new Error('local deleteSpaces failed');
      },
    };
    const data = db();
    const createLoaders = withStore(store, data);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    data.set(1, 2);
    const outcome = await createLoaders({ tenant: 'a' })
      .items.invalidateScope()
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const after = await createLoaders({ tenant: 'a' }).items.load(1);
    expect(outcome === 'rejected' || after.v === 2).toBe(true);
  });
});
