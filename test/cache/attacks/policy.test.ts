import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../../src/index.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../../src/testing/index.js';
import { sleep } from '../harness.js';

interface Ctx {
  tenant: string;
}

describe('attack: policy callbacks and counters', () => {
  it('a grace refresh whose refreshContext lands in another scope must not write that data under the request scope', async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], ctx: Ctx) => ids.map((id) => ({ id, tenant: ctx.tenant })),
          shared: {
            scope: (ctx: Ctx) => ctx.tenant,
            ttl: 1000,
            jitter: 0,
            graceMs: 10_000,
            // a plausible bug: the refresh context drops/changes the tenant
            refreshContext: (_ctx: Ctx) => ({ tenant: 'b' }),
          },
        },
      },
      { store: createMemoryStore({ now }), now },
    );
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, tenant: 'a' });
    clock += 1500; // stale, within grace
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, tenant: 'a' });
    await sleep(5); // the background refresh ran
    // tenant a must never be served tenant b's row
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, tenant: 'a' });
  });

  it('a stale hit served within grace is not also counted as a miss (hit rate)', async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id })),
          shared: { scope: 'global', ttl: 1000, jitter: 0, graceMs: 10_000 },
        },
      },
      { store: createMemoryStore({ now }), now },
    );
    await createLoaders({ tenant: 'a' }).items.load(1); // 1 miss
    clock += 1500;
    await createLoaders({ tenant: 'a' }).items.load(1); // 1 stale hit (+ a background refresh)
    await sleep(5);
    const stats = createLoaders.stats().loaders.items;
    expect(stats.staleHits).toBe(1);
    // two lookups: one miss, one (stale) hit
    expect(stats.misses).toBe(1);
    expect(stats.sharedHitRate).toBe(0.5);
  });

  it('a wrong-length remote answer is one failure, not also "garbage" (values that were no entry of ours)', async () => {
    const chaos = chaosRemoteStore(createTestRemoteStore());
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], _ctx: Ctx) => ids.map((id) => ({ id })),
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { store: createMemoryStore(), remote: chaos.store, onError: () => {} },
    );
    chaos.answer('short', { times: 1 });
    await createLoaders({ tenant: 'a' }).items.load(1);
    const remote = createLoaders.stats().remote!;
    expect(remote.failures).toBe(1);
    expect(remote.garbage).toBe(0);
  });
});
