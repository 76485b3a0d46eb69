import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';

/** A loader over `String(key)` values that records every batch call. */
function recordingLoader<K>(options?: ConstructorParameters<typeof DataLoader<K, string>>[1]) {
  const calls: K[][] = [];
  const loader = new DataLoader<K, string>(async (keys) => {
    calls.push([...keys]);
    return keys.map((k) => `v${String(k)}`);
  }, options);
  return { loader, calls };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DataLoader basics', () => {
  it('batches keys loaded in one tick, in load() order, each key once', async () => {
    const { loader, calls } = recordingLoader<number>();
    const values = await Promise.all([loader.load(2), loader.load(1), loader.load(2)]);
    expect(values).toEqual(['v2', 'v1', 'v2']);
    expect(calls).toEqual([[2, 1]]);
  });

  it('lets loads made in promise callbacks of the same tick join the batch', async () => {
    const { loader, calls } = recordingLoader<number>();
    const chained = Promise.resolve()
      .then(() => loader.load(2))
      .then((v) => v);
    const direct = loader.load(1);
    await Promise.resolve().then(() => loader.load(3));
    expect(await Promise.all([direct, chained])).toEqual(['v1', 'v2']);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('starts a new batch after the previous one dispatched', async () => {
    const { loader, calls } = recordingLoader<number>();
    await loader.load(1);
    await loader.load(2);
    await Promise.all([loader.load(3), loader.load(1)]);
    expect(calls).toEqual([[1], [2], [3]]);
  });

  it('splits by maxBatchSize and sends every key alone with batch: false', async () => {
    const sized = recordingLoader<number>({ maxBatchSize: 2 });
    await sized.loader.loadMany([1, 2, 3, 4, 5]);
    expect(sized.calls).toEqual([[1, 2], [3, 4], [5]]);
    const single = recordingLoader<number>({ batch: false });
    await single.loader.loadMany([1, 2]);
    expect(single.calls).toEqual([[1], [2]]);
  });

  it('sends duplicates when the memo is off', async () => {
    const { loader, calls } = recordingLoader<number>({ cache: false });
    await Promise.all([loader.load(1), loader.load(1)]);
    await loader.load(1);
    expect(calls).toEqual([[1, 1], [1]]);
  });

  it('prime never overwrites, clear and clearAll drop keys, and all return the loader', async () => {
    const { loader, calls } = recordingLoader<number>();
    expect(loader.prime(1, 'primed')).toBe(loader);
    expect(loader.prime(1, 'again')).toBe(loader);
    expect(await loader.load(1)).toBe('primed');
    expect(loader.clear(1)).toBe(loader);
    expect(await loader.load(1)).toBe('v1');
    await loader.load(2);
    expect(loader.clearAll()).toBe(loader);
    await Promise.all([loader.load(1), loader.load(2)]);
    expect(calls).toEqual([[1], [2], [1, 2]]);
  });

  it('primes an Error as a memoized rejection', async () => {
    const { loader, calls } = recordingLoader<number>();
    loader.prime(1, new Error('gone'));
    await expect(loader.load(1)).rejects.toThrow('gone');
    expect(calls).toEqual([]);
  });

  it('rejects only the keys whose value is an Error; loadMany puts the Error in its slot', async () => {
    const loader = new DataLoader<number, number>(async (keys) =>
      keys.map((k) => (k % 2 ? k * 10 : new Error(`even ${k}`))),
    );
    const settled = await loader.loadMany([1, 2, 3]);
    expect(settled[0]).toBe(10);
    expect(settled[1]).toBeInstanceOf(Error);
    expect((settled[1] as Error).message).toBe('even 2');
    expect(settled[2]).toBe(30);
  });

  it('calls the batch and cacheKey functions with this = the loader', async () => {
    const seen: unknown[] = [];
    const loader: DataLoader<{ id: number }, number, number> = new DataLoader(
      function (this: unknown, keys) {
        seen.push(this);
        return Promise.resolve(keys.map((k) => k.id));
      },
      {
        cacheKeyFn(this: unknown, key) {
          seen.push(this);
          return key.id;
        },
      },
    );
    expect(await loader.load({ id: 4 })).toBe(4);
    expect(seen).toEqual([loader, loader]);
  });

  it('reports its name', () => {
    expect(new DataLoader(async (k: readonly number[]) => k, { name: 'users' }).name).toBe('users');
    expect(new DataLoader(async (k: readonly number[]) => k).name).toBeNull();
  });

  it('answers a Map result by key and a missing key with null', async () => {
    const loader = new DataLoader<number, string | null>(
      async (keys) => new Map(keys.filter((k) => k !== 2).map((k) => [k, `v${k}`])),
    );
    expect(await loader.loadMany([1, 2, 3])).toEqual(['v1', null, 'v3']);
  });

  it('keeps working across many ticks without leaking batches', async () => {
    const { loader, calls } = recordingLoader<number>();
    for (let i = 0; i < 5; i++) {
      await Promise.all([loader.load(i), loader.load(i + 100)]);
      await tick();
    }
    expect(calls).toHaveLength(5);
    expect(calls[4]).toEqual([4, 104]);
  });
});
