/**
 * One read per key: a load that misses the request memo reads the local tier once (its peek), the remote
 * tier once (its batch), and the source once; a key written to the scope between the peek and the batch
 * is read again, so the hit is not lost.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../src/index.js';
import { createTestRemoteStore } from '../../src/testing/index.js';
import { deferred } from '../helpers.js';
import { type Ctx, watchedStore } from './harness.js';

function setup(options: { manual?: boolean; remote?: boolean } = {}) {
  const watched = watchedStore(createMemoryStore({ maxEntries: 1000 }));
  const remoteStore = createTestRemoteStore();
  const remoteReads: string[][] = [];
  const calls: number[][] = [];
  const gates: Array<ReturnType<typeof deferred<void>>> = [];
  const create = defineLoaders(
    {
      items: {
        batch: async (ids: readonly number[], _ctx: Ctx) => {
          calls.push([...ids]);
          if (options.manual) {
            const gate = deferred<void>();
            gates.push(gate);
            await gate.promise;
          }
          return ids.map((id) => ({ id }));
        },
        ...(options.manual ? { batchWindowMs: 50 } : {}),
        shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, jitter: 0 },
      },
    },
    {
      store: watched.store,
      ...(options.remote
        ? {
            remote: {
              ...remoteStore,
              getMany(keys: readonly string[], signal: AbortSignal) {
                remoteReads.push([...keys]);
                return remoteStore.getMany(keys, signal);
              },
              setMany: remoteStore.setMany.bind(remoteStore),
              deleteMany: remoteStore.deleteMany.bind(remoteStore),
              close: remoteStore.close.bind(remoteStore),
            },
          }
        : {}),
    },
  );
  return { create, watched, calls, gates, remoteReads };
}

describe('one read per key', () => {
  it('a cold miss reads the local tier once per key, and a warm hit once', async () => {
    const { create, watched, calls } = setup();
    const first = create({ tenant: 'acme' });
    expect(await Promise.all([1, 2, 3].map((id) => first.items.load(id)))).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
    expect(watched.reads).toEqual([1, 2, 3]);
    expect(calls).toEqual([[1, 2, 3]]);

    const second = create({ tenant: 'acme' });
    await Promise.all([1, 2, 3].map((id) => second.items.load(id)));
    expect(watched.reads).toEqual([1, 2, 3, 1, 2, 3]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('with a remote tier: one local read per key, one remote read of the keys and the generation', async () => {
    const { create, watched, calls, remoteReads } = setup({ remote: true });
    const loaders = create({ tenant: 'acme' });
    await Promise.all([1, 2].map((id) => loaders.items.load(id)));
    expect(watched.reads).toEqual([1, 2]);
    expect(calls).toEqual([[1, 2]]);
    expect(remoteReads.map((keys) => keys.length)).toEqual([3]);
  });

  it('a key another request wrote between the peek and the batch is read again, not loaded again', async () => {
    vi.useFakeTimers();
    try {
      const { create, watched, calls, gates } = setup({ manual: true });
      const a = create({ tenant: 'acme' }).items.load(1);
      await vi.advanceTimersByTimeAsync(50); // A's batch goes out: its source call is held
      expect(calls).toEqual([[1]]);

      const b = create({ tenant: 'acme' }).items.load(1); // B peeks while A's flight is open: absent
      await vi.advanceTimersByTimeAsync(10);
      gates[0]!.resolve(); // A's value lands in the local tier
      expect(await a).toEqual({ id: 1 });
      await vi.advanceTimersByTimeAsync(50); // only now B's batch goes out
      expect(await b).toEqual({ id: 1 });
      expect(calls).toEqual([[1]]);
      expect(watched.reads).toEqual([1, 1, 1]); // A's peek, B's peek, B's batch (the scope was written)
    } finally {
      vi.useRealTimers();
    }
  });

  it('a batch with a key that was not peeked absent reads all its keys', async () => {
    const { create, watched, calls } = setup();
    const loaders = create({ tenant: 'acme' });
    await Promise.all([
      loaders.items.load(1),
      loaders.items.load(2, { signal: new AbortController().signal }),
    ]);
    expect(calls).toEqual([[1, 2]]);
    expect(watched.reads).toEqual([1, 1, 2]);
  });

  it('keys split over several batches are read again (the peek does not know which batch a key is in)', async () => {
    const watched = watchedStore(createMemoryStore({ maxEntries: 1000 }));
    const calls: number[][] = [];
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], _ctx: Ctx) => {
            calls.push([...ids]);
            return ids.map((id) => ({ id }));
          },
          maxBatchSize: 2,
          shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, jitter: 0 },
        },
      },
      { store: watched.store },
    );
    const loaders = create({ tenant: 'acme' });
    await Promise.all([1, 2, 3].map((id) => loaders.items.load(id)));
    expect(calls).toEqual([[1, 2], [3]]);
    expect(watched.reads).toEqual([1, 2, 3, 1, 2, 3]);
  });
});
