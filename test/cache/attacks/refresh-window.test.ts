import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../../src/index.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../../src/testing/index.js';
import { db, sleep } from '../harness.js';

interface Ctx {
  tenant: string;
}

describe('attack: refresh fence vs batch windows', () => {
  it('with batchWindowMs, a load made after refresh() but dispatched before the refresh batch sees the old remote value', async () => {
    const remote = chaosRemoteStore(createTestRemoteStore());
    const data = db();
    const calls: number[][] = [];
    const createLoaders = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], _ctx: Ctx) => {
            calls.push([...ids]);
            return ids.map((id) => ({ id, v: data.get(id) }));
          },
          batchWindowMs: 10,
          shared: { scope: 'global', ttl: 60_000, jitter: 0 },
        },
      },
      { store: createMemoryStore(), remote: remote.store, remoteOptions: { timeoutMs: 100 } },
    );
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, v: 1 });
    await sleep(5);
    const reader = createLoaders({ tenant: 'a' }).items;
    const five = reader.load(5); // opens the reader's batch window
    await sleep(4);
    data.set(1, 2);
    const refreshed = createLoaders({ tenant: 'a' }).items.refresh(1); // fenced at the call
    await sleep(1);
    const later = reader.load(1); // a load after the fence
    await five;
    expect(await refreshed).toEqual({ id: 1, v: 2 });
    expect(await later).toEqual({ id: 1, v: 2 });
  });
});
