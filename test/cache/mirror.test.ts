/**
 * The in-process read path keeps a mirror of entries per scope; it must never outlive a change made
 * through another definition sharing the same store.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../src/index.js';

function twoDefinitionsOnOneStore() {
  const store = createMemoryStore();
  let call = 0;
  const spec = {
    users: {
      batch: async (ids: readonly number[]) => ids.map((id) => ({ id, call: ++call })),
      shared: { scope: 'global' as const, ttl: 60_000 },
    },
  };
  return { a: defineLoaders(spec, { store }), b: defineLoaders(spec, { store }), store };
}

describe('the mirror of in-process entries', () => {
  it('drops what another definition invalidated on the same store', async () => {
    const { a, b } = twoDefinitionsOnOneStore();
    expect(await a({}).users.load(1)).toEqual({ id: 1, call: 1 });
    expect(await a({}).users.load(1)).toEqual({ id: 1, call: 1 }); // now mirrored by a
    await b({}).users.invalidate(1);
    expect(await a({}).users.load(1)).toEqual({ id: 1, call: 2 });
  });

  it('sees another definition refresh an entry', async () => {
    const { a, b } = twoDefinitionsOnOneStore();
    await a({}).users.load(1);
    await a({}).users.load(1);
    expect(await b({}).users.refresh(1)).toEqual({ id: 1, call: 2 });
    expect(await a({}).users.load(1)).toEqual({ id: 1, call: 2 });
  });

  it('follows a scope invalidation made through another definition', async () => {
    const { a, b } = twoDefinitionsOnOneStore();
    await a({}).users.load(1);
    await a({}).users.load(1);
    await b.invalidateScope('users', {});
    expect(await a({}).users.load(1)).toEqual({ id: 1, call: 2 });
  });
});
