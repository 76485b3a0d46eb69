/**
 * Memory stays within the store's bounds (issue #10, §2): whatever the shared tier keeps beside the
 * store (namespaces, keys, flights) is bounded by the store's own limits or a small constant. Each row
 * of README's table is one test here, with its heap figure: retained heap after the workload (and after
 * its requests ended) against a bound far below what main retained.
 */
import { describe, expect, it } from 'vitest';
import { cached, createMemoryStore, defineLoaders } from '../../src/index.js';
import { createTestRemoteStore } from '../../src/testing/index.js';
import { retainedHeap } from '../helpers.js';
import { flush, harness } from './harness.js';

const MB = 1024 * 1024;

/** Runs `work` and returns the heap it left retained, in MB (printed for README's table). */
async function retainedBy(label: string, work: () => Promise<void>): Promise<number> {
  const before = await retainedHeap();
  await work();
  const after = await retainedHeap();
  const mb = (after - before) / MB;
  console.log(`memory bound: ${label}: +${mb.toFixed(1)} MB retained`);
  return mb;
}

describe('the shared tier keeps no more than its store bounds', () => {
  it('2,000,000 integer keys in one scope (store of 1000 entries): no store key is interned', async () => {
    const store = createMemoryStore({ maxEntries: 1_000 });
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[]) => ids.map((id) => id * 2),
          shared: { scope: 'global', ttl: 3_600_000 },
        },
      },
      { store },
    );
    const mb = await retainedBy('2,000,000 integer keys', async () => {
      const keys = new Array<number>(10_000);
      for (let start = 0; start < 2_000_000; start += keys.length) {
        for (let i = 0; i < keys.length; i++) keys[i] = start + i;
        await create({}).items.loadMany(keys);
      }
    });
    expect(store.stats().entries).toBe(1_000);
    expect(mb).toBeLessThan(8);
  }, 60_000);

  it('cached(): 300,000 calls with 200-character arguments (store of 1000 entries)', async () => {
    const store = createMemoryStore({ maxEntries: 1_000 });
    const fn = cached(async (text: string) => text.length, {
      name: 'length',
      scope: 'global',
      ttl: 3_600_000,
      store,
    });
    const pad = 'x'.repeat(190);
    const mb = await retainedBy('cached(), 300,000 calls', async () => {
      for (let i = 0; i < 300_000; i += 1_000) {
        const calls: Promise<number>[] = [];
        for (let j = 0; j < 1_000; j++) calls.push(fn(`${pad}${String(i + j).padStart(10, '0')}`));
        await Promise.all(calls);
      }
    });
    expect(store.stats().entries).toBe(1_000);
    expect(mb).toBeLessThan(8);
  }, 60_000);

  it('2000 distinct 100 KB keys (store of 1 MB): nothing of them is left after the requests', async () => {
    const store = createMemoryStore({ maxEntries: 1_000, maxBytes: MB });
    const create = defineLoaders(
      {
        items: {
          batch: async (keys: readonly string[]) => keys.map((key) => key.length),
          shared: { scope: 'global', ttl: 3_600_000 },
        },
      },
      { store },
    );
    const mb = await retainedBy('2000 keys of 100 KB', async () => {
      for (let i = 0; i < 2_000; i++) {
        const key = `${String(i).padStart(6, '0')}${'k'.repeat(100 * 1024)}`;
        await create({}).items.load(key);
      }
    });
    expect(store.stats().bytes).toBeLessThanOrEqual(MB);
    expect(mb).toBeLessThan(8);
  }, 60_000);

  it('2500 scopes x 40 values of 5 KB (maxBytes 1 MB): no per-scope copies beside the store', async () => {
    const store = createMemoryStore({ maxEntries: 100_000, maxBytes: MB });
    const create = defineLoaders(
      {
        items: {
          batch: async (ids: readonly number[], ctx: { tenant: string }) =>
            ids.map((id) => ({ id, tenant: ctx.tenant, body: 'b'.repeat(2_560) })),
          shared: { scope: (ctx: { tenant: string }) => ctx.tenant, ttl: 3_600_000 },
        },
      },
      { store },
    );
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const mb = await retainedBy('2500 scopes x 40 values of 5 KB', async () => {
      for (let t = 0; t < 2_500; t++) {
        await create({ tenant: `t${t}` }).items.loadMany(ids);
        // A second request of the scope reads the entries back (the path that filled mirrors).
        await create({ tenant: `t${t}` }).items.loadMany(ids);
      }
    });
    expect(store.stats().bytes).toBeLessThanOrEqual(MB);
    expect(store.stats().entries).toBeLessThanOrEqual(Math.ceil(MB / 5_120));
    expect(mb).toBeLessThan(8);
  }, 60_000);
});

describe('an entry read from the remote tier is charged by its size', () => {
  const big = 'x'.repeat(60_000); // 120 KB at two bytes a character
  function setup(maxBytes: number) {
    const store = createMemoryStore({ maxBytes });
    const remote = createTestRemoteStore();
    const writer = harness({ remote, answer: (id) => ({ id, text: big }) });
    const reader = harness({ remote, store, answer: (id) => ({ id, text: big }) });
    return { store, writer, reader };
  }

  it('a value larger than the in-process bound is read remotely each time, never kept beside it', async () => {
    const { store, writer, reader } = setup(100_000);
    await writer.request().items.load(1);
    await flush();
    for (let i = 0; i < 3; i++)
      expect(((await reader.request().items.load(1)) as { text: string }).text).toBe(big);
    expect(reader.create.stats().loaders.items).toMatchObject({ remoteHits: 3, sourceCalls: 0 });
    expect(store.stats?.().bytes).toBe(0);
  });

  it('one that fits is kept, charged about the bytes of its text', async () => {
    const { store, writer, reader } = setup(1_000_000);
    await writer.request().items.load(1);
    await flush();
    for (let i = 0; i < 3; i++)
      expect(((await reader.request().items.load(1)) as { text: string }).text).toBe(big);
    expect(reader.create.stats().loaders.items).toMatchObject({
      remoteHits: 1,
      sharedHits: 3,
      sourceCalls: 0,
    });
    const bytes = store.stats?.().bytes ?? 0;
    expect(bytes).toBeGreaterThan(2 * big.length);
    expect(bytes).toBeLessThan(2 * big.length + 1_000);
  });
});
