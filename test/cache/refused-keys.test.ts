/**
 * Issue #10: a key `encodeKey` cannot encode faithfully (symbol-keyed, non-enumerable or non-index
 * array properties) used to share an entry with its twin that differs only there. Through a loader,
 * such a key now rejects its load with the key's TypeError: no source call, nothing shared.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../src/index.js';

interface Ctx {
  tenant: string;
}
type Key = Record<string | symbol, unknown> | unknown[];

function setup() {
  const calls: Key[][] = [];
  const errors: Error[] = [];
  const store = createMemoryStore({ now: () => 1_000 });
  const create = defineLoaders(
    {
      reports: {
        batch: async (keys: readonly Key[], ctx: Ctx) => {
          calls.push([...keys]);
          return keys.map((key) => ({ for: ctx.tenant, call: calls.length, key: JSON.stringify(key) }));
        },
        shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, jitter: 0 },
      },
    },
    { store, now: () => 1_000, onError: (error) => errors.push(error) },
  );
  return { create, calls, errors };
}

const who = Symbol('who');
const twins: Array<[string, () => Key, () => Key, RegExp]> = [
  [
    'a symbol-keyed property',
    () => ({ id: 1, [who]: 'alice' }),
    () => ({ id: 1, [who]: 'bob' }),
    /symbol-keyed/,
  ],
  [
    'a non-enumerable property',
    () => Object.defineProperty({ id: 1 }, 'who', { value: 'alice', enumerable: false }),
    () => Object.defineProperty({ id: 1 }, 'who', { value: 'bob', enumerable: false }),
    /non-enumerable/,
  ],
  [
    'a non-index array property',
    () => Object.assign([1], { who: 'alice' }),
    () => Object.assign([1], { who: 'bob' }),
    /non-index property/,
  ],
];

describe('keys that cannot be encoded faithfully, through a shared loader', () => {
  for (const [problem, first, second, message] of twins) {
    it(`a key with ${problem} rejects clearly, is never loaded and never shared with its twin`, async () => {
      const { create, calls } = setup();
      const a = create({ tenant: 'acme' }).reports.load(first() as never);
      await expect(a).rejects.toThrow(TypeError);
      await expect(a).rejects.toThrow(message);
      await expect(a).rejects.toThrow(/must be plain data/);
      // Before: the twin got the first key's cached value (no source call), a wrong answer.
      const b = create({ tenant: 'acme' }).reports.load(second() as never);
      await expect(b).rejects.toThrow(message);
      expect(calls).toEqual([]);
      // The loader keeps working for plain keys.
      expect(await create({ tenant: 'acme' }).reports.load({ id: 1 } as never)).toMatchObject({
        for: 'acme',
      });
      expect(calls.length).toBe(1);
    });
  }
});

describe('a refused key in a batch of good ones', () => {
  it('rejects only its own load: the other keys of the batch are loaded and shared', async () => {
    const { create, calls } = setup();
    const loaders = create({ tenant: 'acme' });
    const [bad, good] = await Promise.allSettled([
      loaders.reports.load({ id: 1, [who]: 'alice' }),
      loaders.reports.load({ id: 2 }),
    ]);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/symbol-keyed/);
    expect(good).toEqual({ status: 'fulfilled', value: { for: 'acme', call: 1, key: '{"id":2}' } });
    expect(calls).toEqual([[{ id: 2 }]]);
    // The good key was shared: a new request gets it without a source call.
    await expect(create({ tenant: 'acme' }).reports.load({ id: 2 })).resolves.toEqual({
      for: 'acme',
      call: 1,
      key: '{"id":2}',
    });
    expect(calls).toHaveLength(1);
  });
});
