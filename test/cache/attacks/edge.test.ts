import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../../src/index.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../../src/testing/index.js';
import { sleep } from '../harness.js';

interface Ctx {
  tenant: string;
}

function pair() {
  const chaos = chaosRemoteStore(createTestRemoteStore());
  const calls: unknown[][] = [];
  const make = () =>
    defineLoaders(
      {
        items: {
          batch: async (ids: readonly unknown[], _ctx: Ctx) => {
            calls.push([...ids]);
            return ids.map((id) => ({ id: String(id) }));
          },
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { store: createMemoryStore(), remote: chaos.store, remoteOptions: { timeoutMs: 100 } },
    );
  return { a: make(), b: make(), chaos, calls };
}

describe('attack: odd keys through both tiers', () => {
  it('NaN, -0, bigint and huge string keys round-trip through the remote tier', async () => {
    const { a, b, calls } = pair();
    const big = 'x'.repeat(100_000);
    const keys: unknown[] = [Number.NaN, -0, 1n, big];
    await a({ tenant: 't' }).items.loadMany(keys as never[]);
    await sleep(10);
    const n = calls.length;
    const got = await b({ tenant: 't' }).items.loadMany(keys as never[]);
    expect(got).toEqual(keys.map((k) => ({ id: String(k) })));
    expect(calls.length).toBe(n); // all from the remote tier
  });

  it('a hung remote (ignoring its signal) with 100 concurrent requests: one source call, all answered', async () => {
    const { a, chaos, calls } = pair();
    chaos.hangIgnoringSignal('getMany');
    const all = await Promise.all(Array.from({ length: 100 }, () => a({ tenant: 't' }).items.load(7)));
    expect(all.every((v) => v.id === '7')).toBe(true);
    expect(calls.length).toBe(1);
  });
});
