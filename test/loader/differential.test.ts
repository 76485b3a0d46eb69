/**
 * Differential tests: every scenario runs against npm `dataloader` (the reference) and against
 * loaderkit, and the two must agree on resolved values, rejections and the exact batch calls.
 *
 * loaderkit runs with `immediateCacheHits: false` (dataloader's timing for memo hits) and with its
 * default options (the same timing), and batch calls are compared exactly. The last property shows
 * that with `immediateCacheHits: true` values and rejections still match and only loads chained after
 * memo hits can end up in other batches.
 *
 * Deliberate differences that are not compared: loaderkit rejects unknown option names and a
 * `maxBatchSize` that is not a positive integer, and counts a cross-realm Error as an Error. Error
 * messages of contract violations differ, so there only the TypeError class is compared.
 */
import NpmDataLoader from 'dataloader';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';
import { heldHitBatchCount } from '../../src/loader/data-loader.js';

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/** The part of the API both libraries share. */
interface LoaderLike<K, V> {
  readonly name: string | null;
  load(key: K): Promise<V>;
  loadMany(keys: ArrayLike<K>): Promise<Array<V | Error>>;
  prime(key: K, value: V | PromiseLike<V> | Error): this;
  clear(key: K): this;
  clearAll(): this;
}

type BatchFn<K, V> = (this: unknown, keys: ReadonlyArray<K>) => PromiseLike<ArrayLike<V | Error>>;

interface SharedOptions<K, V, C> {
  batch?: boolean;
  maxBatchSize?: number;
  batchScheduleFn?: (this: unknown, callback: () => void) => void;
  cache?: boolean;
  cacheKeyFn?: (this: unknown, key: K) => C;
  cacheMap?: {
    get(key: C): Promise<V> | undefined;
    set(key: C, value: Promise<V>): unknown;
    delete(key: C): unknown;
    clear(): unknown;
  } | null;
  name?: string | null;
}

type Make = <K, V, C = K>(fn: BatchFn<K, V>, options?: SharedOptions<K, V, C>) => LoaderLike<K, V>;

const makeNpm: Make = (fn, options) => new NpmDataLoader(fn as any, options as any) as any;
/** loaderkit with dataloader's timing for memo hits: batch calls must match exactly. */
const makeKit: Make = (fn, options) =>
  new DataLoader(fn as any, { immediateCacheHits: false, ...options }) as any;
/** loaderkit with memo hits that resolve at once (`immediateCacheHits: true`, the opt-in difference). */
const makeKitImmediate: Make = (fn, options) =>
  new DataLoader(fn as any, { immediateCacheHits: true, ...options }) as any;
/** loaderkit as shipped: its default options, which must match dataloader's as they are. */
const makeKitDefault: Make = (fn, options) => new DataLoader(fn as any, options as any) as any;

/** Runs a scenario against both libraries (loaderkit built by `kitMaker`). */
async function differential<T>(
  scenario: (make: Make) => Promise<T>,
  kitMaker: Make = makeKit,
): Promise<{ npm: T; kit: T }> {
  const npm = await scenario(makeNpm);
  const kit = await scenario(kitMaker);
  return { npm, kit };
}

/** Lets every scheduled batch run and settle (a few turns of the event loop). */
async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An Error as class and message; other values as they are (arrays element-wise). */
function normalize(value: unknown): unknown {
  if (value instanceof Error) return { error: `${value.constructor.name}: ${value.message}` };
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}

type Outcome = { ok: unknown } | { err: unknown };

/** Attaches handlers at once (no unhandled rejection can escape) and records the outcome. */
function settle(promise: Promise<unknown>): Promise<Outcome> {
  return promise.then(
    (value) => ({ ok: normalize(value) }),
    (error: unknown) => ({ err: error instanceof Error ? normalize(error) : { thrown: error } }),
  );
}

/** For contract violations: only whether the rejection is a TypeError. */
function settleContract(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => ({ ok: normalize(value) }),
    (error: unknown) => ({ rejectedWithTypeError: error instanceof TypeError }),
  );
}

function syncThrow(run: () => unknown): unknown {
  try {
    run();
    return 'no throw';
  } catch (error) {
    return normalize(error);
  }
}

function syncThrowClass(run: () => unknown): string {
  try {
    run();
    return 'no throw';
  } catch (error) {
    return error instanceof Error ? error.constructor.name : typeof error;
  }
}

class BackendError extends Error {
  override name = 'BackendError';
}

/** A batch function that records its calls and answers `${prefix}${key}`. */
function recorder<K>(answer: (key: K) => unknown = (key) => `v${String(key)}`) {
  const calls: K[][] = [];
  const fn: BatchFn<K, any> = async (keys) => {
    calls.push([...keys]);
    return keys.map(answer);
  };
  return { calls, fn };
}

// ---------------------------------------------------------------------------------------------
// Fixed scenarios
// ---------------------------------------------------------------------------------------------

describe('differential: fixed scenarios against npm dataloader', () => {
  it('dedupes keys within a batch and answers every caller', async () => {
    const expected = {
      values: [{ ok: 'v1' }, { ok: 'v2' }, { ok: 'v1' }, { ok: ['v2', 'v3', 'v3', 'v1'] }],
      calls: [[1, 2, 3]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn);
      const values = await Promise.all([
        settle(loader.load(1)),
        settle(loader.load(2)),
        settle(loader.load(1)),
        settle(loader.loadMany([2, 3, 3, 1])),
      ]);
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('splits batches at maxBatchSize, duplicates not counted', async () => {
    const expected = {
      values: { ok: ['v1', 'v2', 'v1', 'v3', 'v4', 'v5', 'v2', 'v6', 'v7'] },
      calls: [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8],
      ],
      later: { ok: ['v8', 'v1'] },
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn, { maxBatchSize: 3 });
      const values = settle(loader.loadMany([1, 2, 1, 3, 4, 5, 2, 6, 7]));
      const later = settle(loader.loadMany([8, 1]));
      return { values: await values, calls, later: await later };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('a memo hit on a full batch waits for a new (empty) batch and does not change later batches', async () => {
    const expected = {
      values: { ok: ['v1', 'v2', 'v1', 'v3', 'v1', 'v4', 'v5'] },
      calls: [[1, 2], [3, 4], [5]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn, { maxBatchSize: 2 });
      const values = settle(loader.loadMany([1, 2, 1, 3, 1, 4, 5]));
      return { values: await values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('batch: false sends every key alone but still memoizes', async () => {
    const expected = { values: { ok: ['v1', 'v2', 'v1', 'v3'] }, calls: [[1], [2], [3]] };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn, { batch: false });
      const values = await settle(loader.loadMany([1, 2, 1, 3]));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('cache: false and cacheMap: null fetch every load, duplicates included, and prime is a no-op', async () => {
    const expected = {
      values: { ok: ['v1', 'v2', 'v1', 'v9'] },
      again: { ok: 'v1' },
      calls: [[1, 2, 1, 9], [1]],
    };
    for (const options of [{ cache: false }, { cacheMap: null }] as const) {
      const { npm, kit } = await differential(async (make) => {
        const { calls, fn } = recorder<number>();
        const loader = make<number, string>(fn, options);
        loader.prime(9, 'primed');
        const values = await settle(loader.loadMany([1, 2, 1, 9]));
        const again = await settle(loader.load(1));
        return { values, again, calls };
      });
      expect(npm).toEqual(expected);
      expect(kit).toEqual(npm);
    }
  });

  it('custom cacheKeyFn: object keys dedupe by id, the first object is the one fetched', async () => {
    type Key = { id: number; tag: string };
    const expected = {
      first: { ok: ['1:a', '2:b', '1:a'] },
      afterClear: { ok: '1:d' },
      primed: { ok: 'primed 3' },
      calls: [
        [
          { id: 1, tag: 'a' },
          { id: 2, tag: 'b' },
        ],
        [{ id: 1, tag: 'd' }],
      ],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<Key>((key) => `${key.id}:${key.tag}`);
      const loader = make<Key, string, number>(fn, { cacheKeyFn: (key) => key.id });
      const first = await settle(
        loader.loadMany([
          { id: 1, tag: 'a' },
          { id: 2, tag: 'b' },
          { id: 1, tag: 'c' },
        ]),
      );
      loader.clear({ id: 1, tag: 'z' });
      const afterClear = await settle(loader.load({ id: 1, tag: 'd' }));
      loader.prime({ id: 3, tag: 'x' }, 'primed 3');
      const primed = await settle(loader.load({ id: 3, tag: 'y' }));
      return { first, afterClear, primed, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('custom cacheMap: the same get/set/delete/clear calls in the same order', async () => {
    class LoggingMap<K, V> {
      readonly log: string[] = [];
      private readonly map = new Map<K, V>();
      get(key: K): V | undefined {
        this.log.push(`get ${String(key)}`);
        return this.map.get(key);
      }
      set(key: K, value: V): this {
        this.log.push(`set ${String(key)}`);
        this.map.set(key, value);
        return this;
      }
      delete(key: K): boolean {
        this.log.push(`delete ${String(key)}`);
        return this.map.delete(key);
      }
      clear(): void {
        this.log.push('clear');
        this.map.clear();
      }
    }
    const expected = {
      values: [{ ok: ['v1', 'v1', 'p3'] }, { err: { error: 'Error: batch 1 failed' } }, { ok: 'v1#2' }],
      calls: [[1], [2], [1]],
      log: [
        'get 3',
        'set 3',
        'get 1',
        'set 1',
        'get 1',
        'get 3',
        'get 2',
        'set 2',
        'delete 2',
        'get 2',
        'clear',
        'get 1',
        'set 1',
      ],
    };
    const { npm, kit } = await differential(async (make) => {
      const calls: number[][] = [];
      const fn: BatchFn<number, string> = async (keys) => {
        calls.push([...keys]);
        if (calls.length === 2) throw new Error('batch 1 failed');
        return keys.map((key) => (calls.length === 3 ? `v${key}#2` : `v${key}`));
      };
      const cacheMap = new LoggingMap<number, Promise<string>>();
      const loader = make<number, string>(fn, { cacheMap });
      loader.prime(3, 'p3');
      const first = await settle(loader.loadMany([1, 1, 3]));
      const failed = await settle(loader.load(2));
      const values = [first, failed];
      cacheMap.get(2); // the failed key was deleted: the log shows the probe, the map has nothing
      loader.clearAll();
      values.push(await settle(loader.load(1)));
      return { values, calls, log: cacheMap.log };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('a cacheMap that never remembers makes every load a fetch', async () => {
    const forgetful = {
      get: () => undefined,
      set: () => undefined,
      delete: () => undefined,
      clear: () => undefined,
    };
    const expected = { values: { ok: ['v1', 'v1', 'v2'] }, calls: [[1, 1, 2]] };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make<number, string>(fn, { cacheMap: forgetful });
      const values = await settle(loader.loadMany([1, 1, 2]));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('prime, clear and clearAll: chaining, no overwrite, primed errors and promises, refetch after clear', async () => {
    const expected = {
      chains: [true, true, true],
      values: [
        { ok: 'p1' },
        { err: { error: 'BackendError: primed failure' } },
        { ok: 'from a promise' },
        { ok: 'v4' },
        { ok: 'v4' },
        { ok: 'v1' },
        { ok: 'p2 again' },
        { ok: 'v4' },
      ],
      calls: [[4], [1], [4]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make<number, string>(fn);
      const chains = [
        loader.prime(1, 'p1') === loader,
        loader.clear(7) === loader,
        loader.clearAll() === loader,
      ];
      loader.prime(1, 'p1').prime(1, 'not overwritten');
      loader.prime(2, new BackendError('primed failure'));
      loader.prime(3, Promise.resolve('from a promise'));
      const values = await Promise.all([
        settle(loader.load(1)),
        settle(loader.load(2)),
        settle(loader.load(3)),
        settle(loader.load(4)),
      ]);
      loader.prime(4, 'not overwritten either');
      values.push(await settle(loader.load(4)));
      loader.clear(1);
      values.push(await settle(loader.load(1)));
      loader.clear(2).prime(2, 'p2 again');
      values.push(await settle(loader.load(2)));
      loader.clearAll();
      values.push(await settle(loader.load(4)));
      return { chains, values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('loadMany resolves failing slots to their Error values, in order', async () => {
    const expected = {
      values: {
        ok: [
          'v1',
          { error: 'BackendError: no 2' },
          'v3',
          { error: 'BackendError: no 2' },
          { error: 'Error: no 5' },
        ],
      },
      calls: [[1, 2, 3, 5]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>((key) => {
        if (key === 2) return new BackendError('no 2');
        if (key === 5) return new Error('no 5');
        return `v${key}`;
      });
      const loader = make(fn);
      const values = await settle(loader.loadMany([1, 2, 3, 2, 5]));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('a per-key Error rejects that key only, with the very error, and stays memoized', async () => {
    const expected = {
      values: [{ ok: 'v1' }, { err: { error: 'BackendError: missing 2' } }, { ok: 'v3' }],
      again: { err: { error: 'BackendError: missing 2' } },
      sameError: true,
      calls: [[1, 2, 3]],
    };
    const { npm, kit } = await differential(async (make) => {
      const errors = new Map<number, Error>();
      const { calls, fn } = recorder<number>((key) => {
        if (key !== 2) return `v${key}`;
        const error = new BackendError(`missing ${key}`);
        errors.set(key, error);
        return error;
      });
      const loader = make(fn);
      const values = await Promise.all([1, 2, 3].map((key) => settle(loader.load(key))));
      const again = await settle(loader.load(2));
      const caught = await loader.load(2).catch((error: unknown) => error);
      return { values, again, sameError: caught === errors.get(2), calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('a rejecting batch function rejects every key of the batch, forgets them, and still answers hits', async () => {
    const expected = {
      values: [
        { err: { error: 'BackendError: backend down' } },
        { err: { error: 'BackendError: backend down' } },
        { ok: 'p9' },
        { err: { error: 'BackendError: backend down' } },
      ],
      refetched: { ok: ['v1', 'v2'] },
      thrownString: [{ err: { thrown: 'plain string' } }],
      calls: [[1, 2], [1, 2], [7]],
    };
    const { npm, kit } = await differential(async (make) => {
      const calls: number[][] = [];
      const fn: BatchFn<number, string> = async (keys) => {
        calls.push([...keys]);
        if (calls.length === 1) throw new BackendError('backend down');
        if (calls.length === 3) throw 'plain string';
        return keys.map((key) => `v${key}`);
      };
      const loader = make<number, string>(fn);
      loader.prime(9, 'p9');
      const values = await Promise.all([
        settle(loader.load(1)),
        settle(loader.load(2)),
        settle(loader.load(9)),
        settle(loader.load(1)),
      ]);
      const refetched = await settle(loader.loadMany([1, 2]));
      const thrownString = await Promise.all([settle(loader.load(7))]);
      return { values, refetched, thrownString, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  describe('batch function contract violations reject every key with a TypeError', () => {
    const violations: Array<[string, BatchFn<number, string>]> = [
      ['an array of the wrong length', async (keys) => keys.slice(1).map((key) => `v${key}`)],
      ['a longer array', async (keys) => [...keys, 0].map((key) => `v${key}`)],
      ['a number instead of an array', async () => 42 as any],
      ['null instead of an array', async () => null as any],
      ['a plain object instead of an array', async () => ({ 0: 'v1' }) as any],
      ['a string instead of an array', async () => 'v1v2' as any],
      [
        'a synchronous throw',
        () => {
          throw new Error('sync boom');
        },
      ],
      ['an array instead of a promise', (keys) => keys.map((key) => `v${key}`) as any],
      ['undefined instead of a promise', () => undefined as any],
    ];
    for (const [label, violation] of violations) {
      it(label, async () => {
        const expected = {
          values: [
            { rejectedWithTypeError: true },
            { rejectedWithTypeError: true },
            { ok: 'p9' },
            { ok: ['v1', 'v2'] },
          ],
          calls: [
            [1, 2],
            [1, 2],
          ],
        };
        const { npm, kit } = await differential(async (make) => {
          const calls: number[][] = [];
          const fn: BatchFn<number, string> = function (this: unknown, keys) {
            calls.push([...keys]);
            if (calls.length === 1) return violation.call(this, keys);
            return Promise.resolve(keys.map((key) => `v${key}`));
          };
          const loader = make<number, string>(fn);
          loader.prime(9, 'p9');
          const values = await Promise.all([
            settleContract(loader.load(1)),
            settleContract(loader.load(2)),
            settleContract(loader.load(9)),
          ]);
          values.push(await settleContract(loader.loadMany([1, 2])));
          return { values, calls };
        });
        expect(npm).toEqual(expected);
        expect(kit).toEqual(npm);
      });
    }
  });

  it('argument errors: load(null/undefined) and loadMany(non-array) throw TypeErrors synchronously', async () => {
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<any>();
      const loader = make(fn);
      const results = {
        loadNull: syncThrow(() => loader.load(null)),
        loadUndefined: syncThrow(() => loader.load(undefined)),
        loadManyNumber: syncThrowClass(() => loader.loadMany(5 as any)),
        loadManyString: syncThrowClass(() => loader.loadMany('ab' as any)),
        loadManyObject: syncThrowClass(() => loader.loadMany({ length: 2 } as any)),
        constructor: syncThrowClass(() => make(42 as any)),
      };
      await flush();
      return { results, calls };
    });
    expect(npm).toEqual({
      results: {
        loadNull: {
          error: 'TypeError: The loader.load() function must be called with a value, but got: null.',
        },
        loadUndefined: {
          error: 'TypeError: The loader.load() function must be called with a value, but got: undefined.',
        },
        loadManyNumber: 'TypeError',
        loadManyString: 'TypeError',
        loadManyObject: 'TypeError',
        constructor: 'TypeError',
      },
      calls: [],
    });
    expect(kit).toEqual(npm);
  });

  it('name is exposed as given, null by default', async () => {
    const { npm, kit } = await differential(async (make) => [
      make(recorder<number>().fn, { name: 'users' }).name,
      make(recorder<number>().fn).name,
    ]);
    expect(npm).toEqual(['users', null]);
    expect(kit).toEqual(npm);
  });

  it('loads issued from promise callbacks of the same tick join the batch', async () => {
    const expected = {
      values: [{ ok: 'v1' }, { ok: 'v2' }, { ok: 'v3' }, { ok: 'v4' }, { ok: 'v5' }],
      // In load() order, which is the order the microtasks ran in.
      calls: [[1, 2, 5, 4, 3]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn);
      const one = loader.load(1);
      const two = Promise.resolve().then(() => loader.load(2));
      const three = Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => loader.load(3));
      const four = (async () => {
        await null;
        await null;
        await null;
        return loader.load(4);
      })();
      const five = new Promise((resolve) => queueMicrotask(() => resolve(loader.load(5))));
      const values = await Promise.all([one, two, three, four, five].map(settle));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('batches of several loaders dispatch in the order their ticks were queued, around user ticks', async () => {
    const expected = {
      values: [{ ok: 'a1' }, { ok: 'b2' }, { ok: 'b3' }, { ok: 'c4' }, { ok: 'c6' }, { ok: 'a5' }],
      // A's tick, then the user's tick (3 joins B, 4 opens C), then B's, then C's; 6 joins C from
      // B's batch function, 5 opens a new batch of A from C's.
      calls: ['a:1', 'b:2,3', 'c:4,6', 'a:5'],
    };
    const { npm, kit } = await differential(async (make) => {
      const calls: string[] = [];
      const loaders: Record<string, LoaderLike<number, string>> = {};
      const batchFn =
        (name: string): BatchFn<number, string> =>
        async (keys) => {
          calls.push(`${name}:${keys.join(',')}`);
          if (name === 'b') pending.push(loaders.c!.load(6));
          if (name === 'c') pending.push(loaders.a!.load(5));
          return keys.map((key) => `${name}${key}`);
        };
      for (const name of ['a', 'b', 'c']) loaders[name] = make(batchFn(name));
      const pending: Promise<string>[] = [];
      pending.push(loaders.a!.load(1));
      queueMicrotask(() =>
        process.nextTick(() => {
          pending.push(loaders.b!.load(3), loaders.c!.load(4));
        }),
      );
      pending.push(loaders.b!.load(2));
      await flush();
      const values = await Promise.all(pending.map(settle));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('loads issued after awaiting a load form a new batch', async () => {
    const expected = {
      values: [{ ok: 'v1' }, { ok: 'v2' }, { ok: 'v3' }, { ok: 'v1' }, { ok: 'v4' }],
      calls: [[1], [2, 3], [4]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const loader = make(fn);
      const values = [await settle(loader.load(1))];
      values.push(...(await Promise.all([settle(loader.load(2)), settle(loader.load(3))])));
      await new Promise<void>((resolve) => setImmediate(resolve));
      values.push(...(await Promise.all([settle(loader.load(1)), settle(loader.load(4))])));
      return { values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('a load chained after a memo hit joins the batch after the one pending at the hit', async () => {
    const expected = {
      values: [{ ok: 'v1' }, { ok: 'v5' }, { ok: 'v6' }],
      // Both wait for batch [1]; dataloader answers the fetched key before the hit, so 6 comes first.
      calls: [[1], [6, 5]],
    };
    const scenario = async (make: Make) => {
      const { calls, fn } = recorder<number>();
      const loader = make<number, string>(fn);
      loader.prime(9, 'p9');
      const one = loader.load(1);
      const five = loader.load(9).then(() => loader.load(5));
      const six = one.then(() => loader.load(6));
      const values = await Promise.all([one, five, six].map(settle));
      return { values, calls };
    };
    const { npm, kit } = await differential(scenario);
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
    // With immediateCacheHits: true the primed hit resolves at once, so 5 joins the first batch (the
    // documented difference); values are unchanged.
    const kitImmediate = await scenario(makeKitImmediate);
    expect(kitImmediate).toEqual({ values: expected.values, calls: [[1, 5], [6]] });
  });

  it('batchScheduleFn decides when each batch dispatches, and is called once per batch', async () => {
    const expected = {
      beforeRun: [],
      scheduled: [1, 2],
      afterFirstRun: [[1, 2, 3], [7]],
      values: [
        { ok: 'v1' },
        { ok: 'v2' },
        { ok: 'v3' },
        { ok: 'v4' },
        { ok: 'v5' },
        { ok: 'v6' },
        { ok: 'v7' },
        { ok: 'v4' },
      ],
      calls: [[1, 2, 3], [7], [4, 5, 6]],
    };
    const { npm, kit } = await differential(async (make) => {
      const { calls, fn } = recorder<number>();
      const queue: Array<() => void> = [];
      const loader = make(fn, { maxBatchSize: 3, batchScheduleFn: (callback) => queue.push(callback) });
      const first = [loader.load(1), loader.load(2)].map(settle);
      await flush();
      const beforeRun = calls.map((keys) => [...keys]);
      first.push(settle(loader.load(3)));
      const scheduled = [queue.length];
      queue.shift()!();
      const firstValues = await Promise.all(first);
      const rest = [loader.load(4), loader.load(5), loader.load(6), loader.load(7), loader.load(4)].map(
        settle,
      );
      scheduled.push(queue.length);
      queue.pop()!();
      await flush();
      const afterFirstRun = calls.map((keys) => [...keys]);
      queue.shift()!();
      const values = [...firstValues, ...(await Promise.all(rest))];
      return { beforeRun, scheduled, afterFirstRun, values, calls };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('calls the batch function, cacheKeyFn and batchScheduleFn with the loader as this', async () => {
    const expected = { seen: { batch: true, cacheKey: true, schedule: true }, values: { ok: ['v1', 'v2'] } };
    const { npm, kit } = await differential(async (make) => {
      const seen: Record<string, boolean> = {};
      const loader: LoaderLike<number, string> = make<number, string>(
        function (this: unknown, keys) {
          seen.batch = this === loader;
          return Promise.resolve(keys.map((key) => `v${key}`));
        },
        {
          cacheKeyFn(this: unknown, key) {
            seen.cacheKey = this === loader;
            return key;
          },
          batchScheduleFn(this: unknown, callback) {
            seen.schedule = this === loader;
            setImmediate(callback);
          },
        },
      );
      const values = await settle(loader.loadMany([1, 2]));
      return { seen, values };
    });
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });
});

describe('relative timing of fulfilled and rejected batches', () => {
  /*
   * dataloader answers a key of a fulfilled batch 2 microtasks after the batch promise fulfills and a
   * key of a rejected batch after 3. loaderkit's keys hang off one outcome promise per batch (one step
   * more), so it also defers failures by one step: when a rejected and a fulfilled batch settle in the
   * same microtask run, both answer the fulfilled batch's callers first, and loads issued from those
   * callbacks reach the next batch function in the same order.
   */
  it('loads chained after a rejected and a fulfilled batch reach the next batch in the same order', async () => {
    const { npm, kit } = await differential(async (make) => {
      const users = make<number, string>(async () => {
        throw new BackendError('users down');
      });
      const posts = make<number, string>(async (keys) => keys.map((key) => `post ${key}`));
      const comments = recorder<string>();
      const commentLoader = make<string, string>(comments.fn);
      const fromUser = users.load(1).then(undefined, () => commentLoader.load('after user'));
      const fromPost = posts.load(2).then(() => commentLoader.load('after post'));
      await Promise.all([settle(fromUser), settle(fromPost)]);
      return comments.calls;
    });
    expect(npm).toEqual([['after post', 'after user']]);
    expect(kit).toEqual(npm);
  });
});

// ---------------------------------------------------------------------------------------------
// Default options: memo hits and misses mixed, timing included
// ---------------------------------------------------------------------------------------------

/**
 * A batch function whose calls stay pending until `answer(i)` fulfils call i (0-based) with
 * `v<key>` per key; each answer is written to `log` first, so the log shows which callers settled
 * after which answer.
 */
function answeredByHand(log: string[]) {
  const calls: number[][] = [];
  const answers: Array<() => void> = [];
  const fn: BatchFn<number, string> = (keys) => {
    calls.push([...keys]);
    return new Promise((resolve) => {
      answers.push(() => resolve(keys.map((key) => `v${key}`)));
    });
  };
  const answer = (call: number) => {
    log.push(`answer call ${call}`);
    answers[call]!();
  };
  return { calls, fn, answer };
}

/** Logs `label` (or `label!` when it rejects) once `promise` settles. */
function logWhenSettled(promise: Promise<unknown>, label: string, log: string[]): void {
  promise.then(
    () => log.push(label),
    () => log.push(`${label}!`),
  );
}

describe('differential: default options (no immediateCacheHits), memo hits mixed with misses', () => {
  /*
   * loaderkit's DEFAULT options against dataloader's, timing included (with `immediateCacheHits: true`
   * the hits would settle before the batch they wait for).
   */
  it('hits of one tick (primed, primed Error, memoized) settle with the batch, after its fetched keys', async () => {
    const expected = {
      log: [
        'answer call 0',
        'key 5',
        'answer call 1',
        'key 2',
        'key 4',
        'primed 1',
        'primed error 3!',
        'memoized 5',
      ],
      calls: [[5], [2, 4]],
    };
    const { npm, kit } = await differential(async (make) => {
      const log: string[] = [];
      const { calls, fn, answer } = answeredByHand(log);
      const loader = make<number, string>(fn);
      logWhenSettled(loader.load(5), 'key 5', log);
      await flush();
      answer(0);
      await flush();
      loader.prime(1, 'p1');
      loader.prime(3, new BackendError('primed e3'));
      logWhenSettled(loader.load(1), 'primed 1', log);
      logWhenSettled(loader.load(2), 'key 2', log);
      logWhenSettled(loader.load(3), 'primed error 3', log);
      logWhenSettled(loader.load(5), 'memoized 5', log);
      logWhenSettled(loader.load(4), 'key 4', log);
      await flush();
      answer(1);
      await flush();
      return { log, calls };
    }, makeKitDefault);
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('maxBatchSize counts fetched keys only; a hit on a full batch waits for the next batch', async () => {
    // 2.2.3's rule: a batch takes loads while undispatched with keys.length < maxBatchSize; hits waiting
    // on it are not counted (counting them, as some 2.x releases did, would split [10, 11]).
    const expected = {
      log: [
        'answer call 0',
        'key 10',
        'key 11',
        'hit 1',
        'hit 1 again',
        'answer call 1',
        'key 12',
        'key 13',
        'hit 1 third',
      ],
      calls: [
        [10, 11],
        [12, 13],
      ],
    };
    const { npm, kit } = await differential(async (make) => {
      const log: string[] = [];
      const { calls, fn, answer } = answeredByHand(log);
      const loader = make<number, string>(fn, { maxBatchSize: 2 });
      loader.prime(1, 'p1');
      logWhenSettled(loader.load(10), 'key 10', log);
      logWhenSettled(loader.load(1), 'hit 1', log);
      logWhenSettled(loader.load(1), 'hit 1 again', log);
      logWhenSettled(loader.load(11), 'key 11', log);
      logWhenSettled(loader.load(12), 'key 12', log);
      logWhenSettled(loader.load(1), 'hit 1 third', log);
      logWhenSettled(loader.load(13), 'key 13', log);
      await flush();
      answer(0);
      await flush();
      answer(1);
      await flush();
      return { log, calls };
    }, makeKitDefault);
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });

  it('level batching: children and grandchildren of hit and fetched parents of one tick share batches', async () => {
    const expected = {
      values: [{ ok: 'grandchild 100' }, { ok: 'grandchild 200' }, { ok: 'grandchild 300' }],
      parents: [[2, 3]],
      // One batch per level; fetched parents' callbacks run before the hit's (the hit adopts the
      // memoized promise: two more microtasks), so 10 comes last.
      children: [[20, 30, 10]],
      grandchildren: [[200, 300, 100]],
    };
    const { npm, kit } = await differential(async (make) => {
      const parents = recorder<number>((key) => key * 10);
      const children = recorder<number>((key) => key * 10);
      const grandchildren = recorder<number>((key) => `grandchild ${key}`);
      const parentLoader = make<number, number>(parents.fn);
      const childLoader = make<number, number>(children.fn);
      const grandchildLoader = make<number, string>(grandchildren.fn);
      parentLoader.prime(1, 10);
      const values = await Promise.all(
        [1, 2, 3].map((key) =>
          settle(
            parentLoader
              .load(key)
              .then((child) => childLoader.load(child))
              .then((grandchild) => grandchildLoader.load(grandchild)),
          ),
        ),
      );
      return { values, parents: parents.calls, children: children.calls, grandchildren: grandchildren.calls };
    }, makeKitDefault);
    expect(npm).toEqual(expected);
    expect(kit).toEqual(npm);
  });
});

// ---------------------------------------------------------------------------------------------
// Random programs
// ---------------------------------------------------------------------------------------------

type Step =
  | { t: 'load'; k: number }
  | { t: 'loadMany'; ks: number[] }
  | { t: 'prime'; k: number; error: boolean }
  | { t: 'clear'; k: number }
  | { t: 'clearAll' }
  /** `load(a)`, and once it settles (either way) `load(b)` from its callback. */
  | { t: 'chain'; a: number; b: number }
  /** `await` one microtask: does not end the batch. */
  | { t: 'tick' }
  /** `await` a macrotask: pending batches dispatch and settle. */
  | { t: 'flush' };

const KEY = fc.integer({ min: 0, max: 6 });

const stepArb = (kinds: ReadonlySet<Step['t']>): fc.Arbitrary<Step> => {
  const all: Array<{ kind: Step['t']; weight: number; arbitrary: fc.Arbitrary<Step> }> = [
    { kind: 'load', weight: 6, arbitrary: KEY.map((k) => ({ t: 'load', k })) },
    {
      kind: 'loadMany',
      weight: 2,
      arbitrary: fc.array(KEY, { maxLength: 4 }).map((ks) => ({ t: 'loadMany', ks })),
    },
    {
      kind: 'prime',
      weight: 2,
      arbitrary: fc.record({ k: KEY, error: fc.boolean() }).map((r) => ({ t: 'prime', ...r })),
    },
    { kind: 'clear', weight: 2, arbitrary: KEY.map((k) => ({ t: 'clear', k })) },
    { kind: 'clearAll', weight: 1, arbitrary: fc.constant({ t: 'clearAll' }) },
    { kind: 'chain', weight: 3, arbitrary: fc.record({ a: KEY, b: KEY }).map((r) => ({ t: 'chain', ...r })) },
    { kind: 'tick', weight: 2, arbitrary: fc.constant({ t: 'tick' }) },
    { kind: 'flush', weight: 2, arbitrary: fc.constant({ t: 'flush' }) },
  ];
  return fc.oneof(
    ...all.filter((entry) => kinds.has(entry.kind)).map(({ weight, arbitrary }) => ({ weight, arbitrary })),
  );
};

const ALL_STEPS: ReadonlySet<Step['t']> = new Set([
  'load',
  'loadMany',
  'prime',
  'clear',
  'clearAll',
  'chain',
  'tick',
  'flush',
]);

interface Trace {
  results: unknown[];
  calls: number[][];
  /** loaderkit only: batches without keys that held their hits for a full batch (not dataloader's timing). */
  held?: number;
}

/**
 * Runs a program on a fresh loader. `respond(keys, call, segment)` answers the batch function's
 * `call`-th call (0-based); `segment` counts the flush steps run so far. `primeValue` gives what a
 * prime step stores.
 */
async function runProgram(
  make: Make,
  options: SharedOptions<number, string, unknown>,
  steps: readonly Step[],
  respond: (keys: readonly number[], call: number, segment: number) => Promise<Array<string | Error>>,
  primeValue: (k: number, error: boolean, step: number) => string | Error,
): Promise<Trace> {
  const calls: number[][] = [];
  let segment = 0;
  const heldBefore = heldHitBatchCount();
  const loader = make<number, string, unknown>(
    (keys) => {
      calls.push([...keys]);
      return respond(keys, calls.length - 1, segment);
    },
    // A custom cacheMap is per loader.
    options.cacheMap ? { ...options, cacheMap: new Map() } : options,
  );
  const results: unknown[] = new Array(steps.length).fill(null);
  const pending: Promise<unknown>[] = [];
  const record = (index: number, outcome: Promise<unknown>) => {
    pending.push(
      outcome.then((value) => {
        results[index] = value;
      }),
    );
  };
  for (const [index, step] of steps.entries()) {
    switch (step.t) {
      case 'load':
        record(index, settle(loader.load(step.k)));
        break;
      case 'loadMany':
        record(index, settle(loader.loadMany(step.ks)));
        break;
      case 'prime':
        loader.prime(step.k, primeValue(step.k, step.error, index));
        break;
      case 'clear':
        loader.clear(step.k);
        break;
      case 'clearAll':
        loader.clearAll();
        break;
      case 'chain': {
        const first = loader.load(step.a);
        const then = () => loader.load(step.b);
        record(index, Promise.all([settle(first), settle(first.then(then, then))]));
        break;
      }
      case 'tick':
        await Promise.resolve();
        break;
      case 'flush':
        await flush();
        segment++;
        break;
    }
  }
  await Promise.all(pending);
  await flush();
  const held = heldHitBatchCount() - heldBefore;
  return make === makeNpm ? { results, calls } : { results, calls, held };
}

/** Makes a batch function's answer pass through `awaits` extra microtasks. */
async function answerAfter<T>(awaits: number, produce: () => T): Promise<T> {
  for (let i = 0; i < awaits; i++) await null;
  return produce();
}

describe('differential: random programs against npm dataloader', () => {
  // The default options must match dataloader as exactly as `immediateCacheHits: false` does.
  it.each([
    { label: 'immediateCacheHits: false', kitMaker: makeKit },
    { label: 'default options', kitMaker: makeKitDefault },
  ])('$label gives identical values, rejections and batch calls', async ({ kitMaker }) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb(ALL_STEPS), { maxLength: 25 }),
        fc
          .record({
            maxBatchSize: fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
            cache: fc.constantFrom(true, true, true, false),
            keyed: fc.boolean(),
            ownMap: fc.boolean(),
          })
          .map(
            ({ maxBatchSize, cache, keyed, ownMap }): SharedOptions<number, string, unknown> => ({
              maxBatchSize,
              cache,
              ...(keyed ? { cacheKeyFn: (k: number) => `key ${k}` } : {}),
              ...(ownMap ? { cacheMap: new Map() } : {}),
            }),
          ),
        fc.uniqueArray(KEY, { maxLength: 3 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 8 }), { maxLength: 3 }),
        fc.integer({ min: 0, max: 2 }),
        async (steps, options, errorKeys, failingCalls, awaits) => {
          // Values name the call that produced them, so a key answered by another batch shows.
          const respond = (keys: readonly number[], call: number) =>
            failingCalls.includes(call)
              ? answerAfter(awaits, () => {
                  throw new BackendError(`call ${call} failed`);
                })
              : answerAfter(awaits, () =>
                  keys.map((k) =>
                    errorKeys.includes(k) ? new BackendError(`e${k}@${call}`) : `v${k}@${call}`,
                  ),
                );
          const primeValue = (k: number, error: boolean, step: number) =>
            error ? new BackendError(`primed e${k}#${step}`) : `primed v${k}#${step}`;
          const npm = await runProgram(makeNpm, options, steps, respond, primeValue);
          const { held = 0, ...kit } = await runProgram(kitMaker, options, steps, respond, primeValue);
          // A hit whose batch got no keys while a full one was pending waits for that one here, where
          // dataloader answers it at once: such programs are compared by the property below.
          fc.pre(held === 0);
          expect(kit).toEqual(npm);
        },
      ),
      { numRuns: 200 },
    );
  });

  // Hits that resolve at another time than in dataloader (all of them with immediateCacheHits: true; with
  // the defaults, those held for a full batch) can only move the loads chained after them.
  it.each([
    { label: 'immediateCacheHits: true', kitMaker: makeKitImmediate },
    { label: 'default options', kitMaker: makeKitDefault },
  ])(
    '$label: same values and rejections; only loads chained after hits change batches',
    async ({ kitMaker }) => {
      await fc.assert(
        fc.asyncProperty(
          fc.boolean().chain((mutations) =>
            fc.record({
              mutations: fc.constant(mutations),
              steps: fc.array(
                stepArb(
                  new Set<Step['t']>(
                    mutations
                      ? ['load', 'loadMany', 'chain', 'tick', 'flush', 'prime', 'clear', 'clearAll']
                      : ['load', 'loadMany', 'chain', 'tick', 'flush'],
                  ),
                ),
                { maxLength: 25 },
              ),
            }),
          ),
          fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
          fc.uniqueArray(KEY, { maxLength: 3 }),
          fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
          async ({ mutations, steps }, maxBatchSize, errorKeys, failingSegments) => {
            // A value depends on its key only, never on which batch fetched it. A whole-batch failure
            // depends on the segment (the flush steps before the call): a chained load that merges into
            // an earlier batch stays in its segment, so its outcome cannot change. Primes store what a
            // fetch would give. (A prime or clear racing a chained load can legitimately change what the
            // load sees when the load runs earlier, so programs with them have no whole-batch failures.)
            let anyBatchFailed = false;
            const respond = (keys: readonly number[], _call: number, segment: number) =>
              answerAfter(0, () => {
                if (!mutations && failingSegments.includes(segment)) {
                  anyBatchFailed = true;
                  throw new BackendError(`segment ${segment} failed`);
                }
                return keys.map((k) => (errorKeys.includes(k) ? new BackendError(`e${k}`) : `v${k}`));
              });
            const primeValue = (k: number) => (errorKeys.includes(k) ? new BackendError(`e${k}`) : `v${k}`);
            const options = { maxBatchSize };
            const npm = await runProgram(makeNpm, options, steps, respond, primeValue);
            const kit = await runProgram(kitMaker, options, steps, respond, primeValue);
            expect(kit.results).toEqual(npm.results);
            if (!steps.some((step) => step.t === 'chain')) {
              // Nothing waits on a hit: no load can move, so the batches are the same.
              expect(kit.calls).toEqual(npm.calls);
            } else if (!mutations && !anyBatchFailed) {
              // The memo only grows, so every key loaded is fetched exactly once in both; a chained load
              // may only join an earlier batch than in dataloader. Without a size limit that never takes
              // more calls. (With maxBatchSize it can: a key that moves into a batch that is then full
              // can leave a later key alone in a batch of its own. Once a batch fails, a chained load
              // that merged into it is forgotten with it and fetched again later, where dataloader's
              // chained load was a hit on that refetch. Values match all the same.)
              const sorted = (calls: number[][]) => calls.flat().sort((a, b) => a - b);
              expect(sorted(kit.calls)).toEqual(sorted(npm.calls));
              if (maxBatchSize === Number.POSITIVE_INFINITY) {
                expect(kit.calls.length).toBeLessThanOrEqual(npm.calls.length);
              }
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});
