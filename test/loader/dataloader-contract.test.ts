/**
 * Contract tests: behaviours that npm `dataloader` 2.2.3's own test suite checks, stated in our words
 * and run, with the same assertions and DEFAULT options, against loaderkit and against npm dataloader
 * itself (so every expectation here is dataloader's actual behaviour, not our reading of it).
 *
 * What they pin down:
 * - `cacheKeyFn: null` and `batchScheduleFn: null` are rejected with a TypeError.
 * - A memo hit does not resolve on its own: it waits for the batch that was pending (or that it
 *   opened) when it was loaded, and resolves right after that batch's fetched keys.
 * - `maxBatchSize` counts only keys sent to the batch function. In dataloader 2.2.3 a batch takes
 *   new loads while it has not dispatched and holds fewer than maxBatchSize keys
 *   (`getCurrentBatch`: `keys.length < maxBatchSize`); hits waiting on it never count. A hit loaded
 *   while the batch is full waits for the next batch, which it opens (if that one gets no keys,
 *   loaderkit releases the hit with the full batch, where dataloader releases it at once: the last
 *   describe).
 * - Loading a primed Error and ignoring the promise is an unhandled rejection; priming one is not.
 * - Level batching: children loaded in the callbacks of a hit and of a fetched key of the same tick
 *   reach the child loader in one batch.
 */
import NpmDataLoader from 'dataloader';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// The two implementations, behind the part of the API these tests use
// ---------------------------------------------------------------------------------------------

interface ContractLoader<K, V> {
  load(key: K): Promise<V>;
  prime(key: K, value: V | Error): this;
  clear(key: K): this;
}

interface ContractOptions {
  maxBatchSize?: number;
  cacheKeyFn?: unknown;
  batchScheduleFn?: unknown;
}

type ContractCtor = new <K, V>(
  batchLoadFn: (keys: readonly K[]) => Promise<ArrayLike<V | Error>>,
  options?: ContractOptions,
) => ContractLoader<K, V>;

const implementations: Array<{ name: string; Loader: ContractCtor }> = [
  { name: 'loaderkit', Loader: DataLoader as unknown as ContractCtor },
  { name: 'npm dataloader', Loader: NpmDataLoader as unknown as ContractCtor },
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** One macrotask: every batch scheduled so far has dispatched, every settled promise has reacted. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A batch function whose calls stay pending until answered by hand: `answer(i)` fulfils the i-th
 * call (0-based) with `v<key>` for each key.
 */
function manualBatches() {
  const calls: number[][] = [];
  const answers: Array<() => void> = [];
  const fn = (keys: readonly number[]) => {
    calls.push([...keys]);
    return new Promise<string[]>((resolve) => {
      answers.push(() => resolve(keys.map((key) => `v${key}`)));
    });
  };
  const answer = (call: number) => {
    const resolve = answers[call];
    if (resolve === undefined) throw new Error(`batch call ${call} was never made`);
    resolve();
  };
  return { calls, fn, answer };
}

/** Appends `label` to `log` when `promise` settles, either way (and so handles its rejection). */
function track(promise: Promise<unknown>, label: string, log: string[]): void {
  promise.then(
    () => log.push(label),
    () => log.push(`${label} rejected`),
  );
}

/**
 * Runs `scenario` with every `unhandledRejection` listener (vitest's included) replaced by a
 * collector, waits for Node to report, restores the listeners and returns the reasons reported.
 * vitest would otherwise fail the run on the rejection a test expects.
 */
async function unhandledRejectionsDuring(scenario: () => void | Promise<void>): Promise<unknown[]> {
  const reasons: unknown[] = [];
  const collect = (reason: unknown) => reasons.push(reason);
  const saved = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', collect);
  try {
    await scenario();
    for (let i = 0; i < 5; i++) await turn();
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('unhandledRejection', collect);
    for (const listener of saved) process.on('unhandledRejection', listener);
  }
  return reasons;
}

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

describe.each(implementations)('dataloader contract: $name', ({ Loader }) => {
  const identity = async (keys: readonly number[]) => keys.map((key) => `v${key}`);

  describe('option validation', () => {
    it('cacheKeyFn: null throws a TypeError naming the option', () => {
      expect(() => new Loader(identity, { cacheKeyFn: null })).toThrow(TypeError);
      expect(() => new Loader(identity, { cacheKeyFn: null })).toThrow(/cacheKeyFn/);
    });

    it('batchScheduleFn: null throws a TypeError naming the option', () => {
      expect(() => new Loader(identity, { batchScheduleFn: null })).toThrow(TypeError);
      expect(() => new Loader(identity, { batchScheduleFn: null })).toThrow(/batchScheduleFn/);
    });
  });

  describe('a memo hit resolves with the batch pending when it was loaded', () => {
    it('a primed key loaded with a missing key stays pending until the batch answers, then resolves right after the fetched key', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn);
      loader.prime(1, 'p1');
      const log: string[] = [];
      const hit = loader.load(1);
      const miss = loader.load(2);
      track(hit, 'hit 1', log);
      track(miss, 'key 2', log);

      await turn();
      expect(calls).toEqual([[2]]);
      expect(log).toEqual([]);

      answer(0);
      expect(log).toEqual([]);
      await turn();
      expect(log).toEqual(['key 2', 'hit 1']);
      expect(await Promise.all([hit, miss])).toEqual(['p1', 'v2']);
      expect(calls).toEqual([[2]]);
    });

    it('a key memoized by an earlier batch waits the same way for the batch of a new key', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn);
      const first = loader.load(1);
      await turn();
      answer(0);
      expect(await first).toBe('v1');

      const log: string[] = [];
      const hit = loader.load(1);
      const miss = loader.load(2);
      track(hit, 'hit 1', log);
      track(miss, 'key 2', log);
      await turn();
      expect(calls).toEqual([[1], [2]]);
      expect(log).toEqual([]);

      answer(1);
      await turn();
      expect(log).toEqual(['key 2', 'hit 1']);
      expect(await Promise.all([hit, miss])).toEqual(['v1', 'v2']);
    });

    it('a primed Error loaded with a missing key rejects only once the batch answers', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn);
      const primed = new Error('primed failure');
      loader.prime(1, primed);
      const log: string[] = [];
      const hit = loader.load(1);
      const miss = loader.load(2);
      track(hit, 'hit 1', log);
      track(miss, 'key 2', log);

      await turn();
      expect(calls).toEqual([[2]]);
      expect(log).toEqual([]);

      answer(0);
      await turn();
      expect(log).toEqual(['key 2', 'hit 1 rejected']);
      await expect(hit).rejects.toBe(primed);
    });
  });

  describe('maxBatchSize counts fetched keys only; a hit waits for the batch it joined', () => {
    it('maxBatchSize: 1, a primed key then a missing key: one batch [[2]], and the hit resolves with it', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn, { maxBatchSize: 1 });
      loader.prime(1, 'p1');
      const log: string[] = [];
      const hit = loader.load(1);
      const miss = loader.load(2);
      track(hit, 'hit 1', log);
      track(miss, 'key 2', log);

      await turn();
      expect(calls).toEqual([[2]]);
      expect(log).toEqual([]);

      answer(0);
      await turn();
      expect(log).toEqual(['key 2', 'hit 1']);
      expect(await Promise.all([hit, miss])).toEqual(['p1', 'v2']);
    });

    it('hits do not fill a batch: maxBatchSize 2, load 10, two hits, load 11 gives [[10, 11]], hits answered after it', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn, { maxBatchSize: 2 });
      loader.prime(1, 'p1');
      const log: string[] = [];
      track(loader.load(10), 'key 10', log);
      track(loader.load(1), 'hit 1', log);
      track(loader.load(1), 'hit 1 again', log);
      track(loader.load(11), 'key 11', log);

      await turn();
      // With hits counted (keys < max and hits < max) this would be [[10], [11]].
      expect(calls).toEqual([[10, 11]]);
      expect(log).toEqual([]);

      answer(0);
      await turn();
      expect(log).toEqual(['key 10', 'key 11', 'hit 1', 'hit 1 again']);
    });

    it('a hit loaded while the pending batch is full waits for the next batch: [[10, 11], [12]]', async () => {
      const { calls, fn, answer } = manualBatches();
      const loader = new Loader<number, string>(fn, { maxBatchSize: 2 });
      loader.prime(1, 'p1');
      const log: string[] = [];
      track(loader.load(10), 'key 10', log);
      track(loader.load(11), 'key 11', log);
      track(loader.load(1), 'hit 1', log);
      track(loader.load(12), 'key 12', log);

      await turn();
      expect(calls).toEqual([[10, 11], [12]]);
      expect(log).toEqual([]);

      answer(0);
      await turn();
      expect(log).toEqual(['key 10', 'key 11']);

      answer(1);
      await turn();
      expect(log).toEqual(['key 10', 'key 11', 'key 12', 'hit 1']);
    });
  });

  describe('unhandled rejections', () => {
    it('loading a primed Error and ignoring the promise is an unhandled rejection with that error', async () => {
      const primed = new Error('primed failure');
      const reasons = await unhandledRejectionsDuring(() => {
        const loader = new Loader<number, string>(identity);
        loader.prime(1, primed);
        void loader.load(1);
      });
      expect(reasons).toEqual([primed]);
      expect(reasons[0]).toBe(primed);
    });

    it('priming an Error is no unhandled rejection: never loaded, cleared, or loaded and handled', async () => {
      const reasons = await unhandledRejectionsDuring(async () => {
        const loader = new Loader<number, string>(identity);
        loader.prime(1, new Error('never loaded'));
        loader.prime(2, new Error('cleared')).clear(2);
        loader.prime(3, new Error('handled'));
        await expect(loader.load(3)).rejects.toThrow('handled');
      });
      expect(reasons).toEqual([]);
    });
  });

  describe('level batching across loaders', () => {
    it('children loaded from the callbacks of a primed and a fetched parent of one tick go to the child loader in one batch', async () => {
      const parentCalls: number[][] = [];
      const parents = new Loader<number, number>(async (keys) => {
        parentCalls.push([...keys]);
        return keys.map((key) => key * 10);
      });
      const childCalls: number[][] = [];
      const children = new Loader<number, string>(async (keys) => {
        childCalls.push([...keys]);
        return keys.map((key) => `child ${key}`);
      });
      parents.prime(1, 10);

      const fromHit = parents.load(1).then((id) => children.load(id));
      const fromFetch = parents.load(2).then((id) => children.load(id));

      expect(await Promise.all([fromHit, fromFetch])).toEqual(['child 10', 'child 20']);
      expect(parentCalls).toEqual([[2]]);
      // One batch; the fetched parent's callback runs first (the hit adopts the memoized promise,
      // which takes two more microtasks), so 20 comes before 10.
      expect(childCalls).toEqual([[20, 10]]);
    });
  });
});

/*
 * The one place loaderkit's timing differs: dataloader resolves a hit that opened a batch of its own
 * (the pending one was full) when that batch dispatches, empty, before the full batch's keys; their
 * children then dispatch apart. loaderkit releases it with the full batch, so it keeps to its level.
 */
describe('a hit alone in the batch it opened, because the pending one was full', () => {
  const scenario = async (Loader: ContractCtor) => {
    const { calls, fn, answer } = manualBatches();
    const loader = new Loader<number, string>(fn, { maxBatchSize: 2 });
    loader.prime(1, 'p1');
    const log: string[] = [];
    track(loader.load(10), 'key 10', log);
    track(loader.load(11), 'key 11', log);
    track(loader.load(1), 'hit 1', log);
    await turn();
    const beforeAnswer = [...log];
    answer(0);
    await turn();
    return { calls, beforeAnswer, log };
  };

  it('npm dataloader: resolves when that empty batch dispatches, ahead of its level', async () => {
    const result = await scenario(implementations[1]!.Loader);
    expect(result).toEqual({
      calls: [[10, 11]],
      beforeAnswer: ['hit 1'],
      log: ['hit 1', 'key 10', 'key 11'],
    });
  });

  it('loaderkit: resolves with the full batch, after its keys', async () => {
    const result = await scenario(implementations[0]!.Loader);
    expect(result).toEqual({ calls: [[10, 11]], beforeAnswer: [], log: ['key 10', 'key 11', 'hit 1'] });
  });

  it('loaderkit: children of the full batch keys and of the hit share one batch', async () => {
    const childCalls: number[][] = [];
    const children = new DataLoader<number, string>(async (keys) => {
      childCalls.push([...keys]);
      return keys.map((key) => `c${key}`);
    });
    // The source answers in a later turn, as a database does.
    const parents = new DataLoader<number, string>(
      async (keys) => {
        await turn();
        return keys.map((key) => `v${key}`);
      },
      { maxBatchSize: 2 },
    );
    parents.prime(9, 'p9');
    const grandchildren = await Promise.all(
      [1, 2, 9].map((key) => parents.load(key).then(() => children.load(key * 10))),
    );
    expect(grandchildren).toEqual(['c10', 'c20', 'c90']);
    expect(childCalls).toEqual([[10, 20, 90]]);
  });
});
