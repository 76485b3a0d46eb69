/**
 * Issue #10: a `ttl` function that throws or returns no usable lifetime (NaN, -1, Infinity, undefined,
 * '1000') used to fail the load and its whole batch. Now the value is served to its callers and not
 * cached, and onError hears of it once per loader: a TypeError naming the loader and echoing the ttl.
 */
import { describe, expect, it } from 'vitest';
import { cached } from '../../src/index.js';
import { harness, type Item } from './harness.js';

const bad: Array<[string, () => unknown, RegExp]> = [
  [
    'throws',
    () => {
      throw new Error('ttl exploded');
    },
    /threw.*ttl exploded/,
  ],
  ['returns NaN', () => Number.NaN, /got: NaN/],
  ['returns -1', () => -1, /got: -1/],
  ['returns Infinity', () => Infinity, /got: Infinity/],
  ['returns undefined', () => undefined, /got: undefined/],
  ["returns '1000'", () => '1000', /got: "1000"/],
];

describe('a ttl function that throws or returns a bad lifetime', () => {
  for (const [what, ttl, echo] of bad) {
    it(`${what}: the load resolves with the value, nothing is cached, onError is told once`, async () => {
      const h = harness({ shared: { ttl: ttl as () => number } });
      // A batch of two: neither key fails.
      expect(await h.request().items.loadMany([1, 2])).toEqual([
        { id: 1, tenant: 'acme', call: 1 },
        { id: 2, tenant: 'acme', call: 1 },
      ]);
      // Not cached: the next request goes to the source again.
      const again = (await h.request().items.load(1)) as Item;
      expect(again).toEqual({ id: 1, tenant: 'acme', call: 2 });
      expect(h.keys()).toEqual([[1, 2], [1]]);
      expect(h.create.stats().loaders.items.writes).toBe(0);
      // Reported once for the loader, however many values it was asked about.
      expect(h.errors).toHaveLength(1);
      expect(h.errors[0]).toBeInstanceOf(TypeError);
      expect(h.errors[0]!.message).toMatch(/^Loader "items": shared\.ttl\(value, key\)/);
      expect(h.errors[0]!.message).toMatch(echo);
      expect(h.errors[0]!.message).toMatch(/served but not cached/);
    });
  }

  it('a ttl that is bad for one value only leaves the others cached', async () => {
    const h = harness({ shared: { ttl: (value: Item) => (value.id === 2 ? Number.NaN : 1_000) } });
    expect(await h.request().items.loadMany([1, 2, 3])).toHaveLength(3);
    expect(await h.request().items.loadMany([1, 2, 3])).toEqual([
      { id: 1, tenant: 'acme', call: 1 },
      { id: 2, tenant: 'acme', call: 2 },
      { id: 3, tenant: 'acme', call: 1 },
    ]);
    expect(h.keys()).toEqual([[1, 2, 3], [2]]);
    expect(h.errors).toHaveLength(1);
  });

  it('cached(fn): a throwing ttl serves the result, uncached, and reports once', async () => {
    const errors: Error[] = [];
    let calls = 0;
    const rate = cached(
      async (currency: string) => {
        calls++;
        return { currency, rate: calls };
      },
      {
        name: 'rates',
        scope: 'global',
        ttl: () => {
          throw new Error('no ttl today');
        },
        onError: (error) => errors.push(error),
      },
    );
    expect(await rate('EUR')).toEqual({ currency: 'EUR', rate: 1 });
    expect(await rate('EUR')).toEqual({ currency: 'EUR', rate: 2 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/"rates".*no ttl today/);
    await rate.close();
  });
});
