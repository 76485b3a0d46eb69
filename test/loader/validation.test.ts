import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';
import { resolveOptions } from '../../src/loader/options.js';

const ok = async (keys: ReadonlyArray<number>) => keys.map((k) => `v${k}`);

/** Constructs with raw (possibly ill-typed) arguments and returns what was thrown. */
function constructError(options: unknown, ...fn: [unknown?]): unknown {
  const batchFn = fn.length === 0 ? ok : fn[0];
  try {
    new DataLoader<number, string>(batchFn as typeof ok, options as never);
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Asserts a TypeError whose message contains every fragment. */
function expectTypeError(error: unknown, fragments: string[]): void {
  expect(error).toBeInstanceOf(TypeError);
  const message = (error as TypeError).message;
  for (const fragment of fragments) expect(message).toContain(fragment);
}

describe('the constructor', () => {
  it.each<[string, unknown, string]>([
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
    ['a string', 'load', '"load"'],
    ['an object', { load: true }, '{"load":true}'],
  ])('throws a TypeError without a batch function (%s)', (_label, fn, echoed) => {
    const error = constructError(undefined, fn);
    expectTypeError(error, ['DataLoader must be constructed with a function', `but got: ${echoed}`]);
  });

  it('throws a TypeError for options that are not an object', () => {
    expectTypeError(constructError(5), ['options', '5']);
    expectTypeError(constructError('fast'), ['options', '"fast"']);
  });

  it('takes null for loaderkit hooks as none (dataloader function options refuse it)', () => {
    expect(constructError({ onBatch: null, onLoad: null })).toBeUndefined();
    expect(constructError({ cacheKeyFn: null } as never)).toBeInstanceOf(TypeError);
    expect(constructError({ batchScheduleFn: null } as never)).toBeInstanceOf(TypeError);
  });

  it('accepts no options, undefined and an empty object', () => {
    expect(constructError(undefined)).toBeUndefined();
    expect(constructError({})).toBeUndefined();
  });

  it('no options resolve exactly as an empty object does, with a memo of its own', () => {
    const none = resolveOptions<number, string, number>(undefined);
    expect(none).toEqual(resolveOptions<number, string, number>({}));
    expect(resolveOptions<number, string, number>(null as never)).toEqual(none);
    expect(none.memo).toEqual({ kind: 'map' });
    // Each loader builds a memo of its own from the plan.
    const a = new DataLoader<number, string>(async (keys) => keys.map(String));
    const b = new DataLoader<number, string>(async (keys) => keys.map(String));
    a.prime(1, 'one');
    expect(b.peek(1)).toBeUndefined();
  });

  it('validating a bounded memo allocates nothing: the lru-cache is built per loader', () => {
    // lru-cache preallocates its arrays: building one of 1e9 entries here would exhaust the heap.
    expect(resolveOptions({ maxCacheEntries: 1e9 }).memo).toEqual({ kind: 'lru', max: 1e9 });
  });
});

describe('option types', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['batch', { batch: 'yes' }, ['batch', '"yes"']],
    ['batch', { batch: 1 }, ['batch', '1']],
    ['maxBatchSize', { maxBatchSize: 0 }, ['maxBatchSize', 'got: 0']],
    ['maxBatchSize', { maxBatchSize: -1 }, ['maxBatchSize', '-1']],
    ['maxBatchSize', { maxBatchSize: 1.5 }, ['maxBatchSize', '1.5']],
    ['maxBatchSize', { maxBatchSize: Number.NaN }, ['maxBatchSize', 'NaN']],
    ['maxBatchSize', { maxBatchSize: '3' }, ['maxBatchSize', '"3"']],
    ['batchScheduleFn', { batchScheduleFn: 10 }, ['batchScheduleFn', '10']],
    ['batchScheduleFn', { batchScheduleFn: 'soon' }, ['batchScheduleFn', '"soon"']],
    ['batchWindowMs', { batchWindowMs: -1 }, ['batchWindowMs', '-1']],
    ['batchWindowMs', { batchWindowMs: Number.POSITIVE_INFINITY }, ['batchWindowMs', 'Infinity']],
    ['batchWindowMs', { batchWindowMs: Number.NaN }, ['batchWindowMs', 'NaN']],
    ['batchWindowMs', { batchWindowMs: '10' }, ['batchWindowMs', '"10"']],
    ['adaptive', { adaptive: 'on' }, ['adaptive', '"on"']],
    ['maxBatchWaitMs', { adaptive: true, maxBatchWaitMs: -5 }, ['maxBatchWaitMs', '-5']],
    ['cache', { cache: 'no' }, ['cache', '"no"']],
    ['cacheKeyFn', { cacheKeyFn: 'id' }, ['cacheKeyFn', '"id"']],
    ['cacheKeyFn', { cacheKeyFn: {} }, ['cacheKeyFn', '{}']],
    ['cacheMap', { cacheMap: 7 }, ['cacheMap', '7']],
    ['cacheMap', { cacheMap: 'map' }, ['cacheMap', '"map"']],
    ['maxCacheEntries', { maxCacheEntries: 0 }, ['maxCacheEntries', 'got: 0']],
    ['maxCacheEntries', { maxCacheEntries: -3 }, ['maxCacheEntries', '-3']],
    ['maxCacheEntries', { maxCacheEntries: 2.5 }, ['maxCacheEntries', '2.5']],
    ['maxCacheEntries', { maxCacheEntries: '100' }, ['maxCacheEntries', '"100"']],
    ['maxCacheEntries', { maxCacheEntries: Number.NaN }, ['maxCacheEntries', 'NaN']],
    ['cacheErrors', { cacheErrors: 0 }, ['cacheErrors', '0']],
    ['cacheErrors', { cacheErrors: 'false' }, ['cacheErrors', '"false"']],
    ['immediateCacheHits', { immediateCacheHits: 'yes' }, ['immediateCacheHits', '"yes"']],
    ['onMissing', { onMissing: 'throw' }, ['onMissing', '"throw"']],
    ['onMissing', { onMissing: true }, ['onMissing', 'true']],
    ['signal', { signal: { aborted: false } }, ['signal', '{"aborted":false}']],
    ['signal', { signal: 'stop' }, ['signal', '"stop"']],
    ['name', { name: 42 }, ['name', '42']],
    ['name', { name: { first: 'x' } }, ['name', '{"first":"x"}']],
    ['onBatch', { onBatch: 'log' }, ['onBatch', '"log"']],
    ['onBatch', { onBatch: true }, ['onBatch', 'true']],
    ['onLoad', { onLoad: 1 }, ['onLoad', '1']],
    ['onLoad', { onLoad: [] }, ['onLoad', '[]']],
  ])('rejects a wrong %s: %j', (_name, options, fragments) => {
    expectTypeError(constructError(options), fragments);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['get, clear', { set() {}, delete() {} }, ['cacheMap', 'get, clear']],
    ['set, delete', { get() {}, clear() {} }, ['cacheMap', 'set, delete']],
    ['get, set, delete, clear', {}, ['cacheMap', 'get, set, delete, clear']],
    ['delete (not a function)', { get() {}, set() {}, delete: 1, clear() {} }, ['cacheMap', 'delete']],
  ])('rejects a cacheMap missing %s, listing the missing methods', (_label, cacheMap, fragments) => {
    const error = constructError({ cacheMap });
    expectTypeError(error, fragments);
  });

  it('accepts a Map as cacheMap and Infinity as maxBatchSize / maxCacheEntries', () => {
    expect(constructError({ cacheMap: new Map() })).toBeUndefined();
    expect(constructError({ maxBatchSize: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(constructError({ maxCacheEntries: Number.POSITIVE_INFINITY })).toBeUndefined();
  });

  it.each(['batchSize', 'maxbatchsize', 'cacheKey', 'timeout'])('rejects the unknown option %s', (name) => {
    expectTypeError(constructError({ [name]: 1 }), ['Unknown', 'option', `"${name}"`]);
  });
});

describe('conflicting options', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'batchScheduleFn + batchWindowMs',
      { batchScheduleFn: (cb: () => void) => cb(), batchWindowMs: 5 },
      ['batchScheduleFn', 'batchWindowMs'],
    ],
    [
      'batchScheduleFn + adaptive',
      { batchScheduleFn: (cb: () => void) => cb(), adaptive: true },
      ['batchScheduleFn', 'adaptive'],
    ],
    ['batchWindowMs + adaptive', { batchWindowMs: 5, adaptive: true }, ['batchWindowMs', 'adaptive']],
    ['maxBatchWaitMs without adaptive', { maxBatchWaitMs: 20 }, ['maxBatchWaitMs', '20', 'adaptive']],
    [
      'maxBatchWaitMs with adaptive: false',
      { adaptive: false, maxBatchWaitMs: 20 },
      ['maxBatchWaitMs', '20', 'adaptive'],
    ],
    ['batch: false + batchWindowMs', { batch: false, batchWindowMs: 5 }, ['batch: false', 'batchWindowMs']],
    ['batch: false + adaptive', { batch: false, adaptive: true }, ['batch: false', 'adaptive']],
    [
      'cacheMap + maxCacheEntries',
      { cacheMap: new Map(), maxCacheEntries: 10 },
      ['cacheMap', 'maxCacheEntries'],
    ],
    [
      'cache: false + maxCacheEntries',
      { cache: false, maxCacheEntries: 10 },
      ['cache: false', 'maxCacheEntries'],
    ],
    [
      'cacheMap: null + maxCacheEntries',
      { cacheMap: null, maxCacheEntries: 10 },
      ['cacheMap: null', 'maxCacheEntries'],
    ],
  ])('rejects %s', (_label, options, fragments) => {
    expectTypeError(constructError(options), fragments);
  });

  it('allows batchWindowMs: 0 (the default tick) with a batchScheduleFn or batch: false', () => {
    expect(constructError({ batchScheduleFn: (cb: () => void) => cb(), batchWindowMs: 0 })).toBeUndefined();
    expect(constructError({ batch: false, batchWindowMs: 0 })).toBeUndefined();
  });
});

describe('load and loadMany arguments', () => {
  it.each([null, undefined])('load(%s) throws a TypeError synchronously', (key) => {
    const loader = new DataLoader<unknown, string>(async (keys) => keys.map(String));
    let error: unknown;
    try {
      loader.load(key);
    } catch (e) {
      error = e;
    }
    expectTypeError(error, ['load()', `but got: ${String(key)}`]);
  });

  it.each<[string, unknown, string]>([
    ['a string', 'not an array', '"not an array"'],
    ['a number', 3, '3'],
    ['null', null, 'null'],
    ['a plain object', { a: 1 }, '{"a":1}'],
  ])('loadMany(%s) throws a TypeError synchronously', (_label, keys, echoed) => {
    const loader = new DataLoader<unknown, string>(async (ks) => ks.map(String));
    let error: unknown;
    try {
      void loader.loadMany(keys as never);
    } catch (e) {
      error = e;
    }
    expectTypeError(error, ['loadMany()', echoed]);
  });

  it('loadMany with a null key throws a TypeError synchronously, like dataloader', () => {
    const loader = new DataLoader<unknown, string>(async (ks) => ks.map(String));
    expect(() => loader.loadMany([1, null])).toThrow(TypeError);
  });
});

describe('batch function contract violations', () => {
  /** A loader whose first call misbehaves as given and later calls answer properly. */
  function misbehaving(first: (keys: ReadonlyArray<number>) => unknown) {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(((keys: ReadonlyArray<number>) => {
      calls.push([...keys]);
      if (calls.length === 1) return first(keys);
      return Promise.resolve(keys.map((k) => `v${k}`));
    }) as never);
    return { loader, calls };
  }

  async function expectBatchRejected(
    loader: DataLoader<number, string>,
    calls: number[][],
    fragments: string[],
  ): Promise<void> {
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(calls).toEqual([[1, 2]]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const [e1, e2] = results.map((r) => (r as PromiseRejectedResult).reason);
    expect(e1).toBe(e2);
    expectTypeError(e1, fragments);
    // Nothing was memoized: both keys are fetched again.
    await expect(Promise.all([loader.load(1), loader.load(2)])).resolves.toEqual(['v1', 'v2']);
    expect(calls).toEqual([
      [1, 2],
      [1, 2],
    ]);
  }

  it('a synchronous throw rejects every key with a TypeError and caches none', async () => {
    const cause = new Error('bad SQL');
    const { loader, calls } = misbehaving(() => {
      throw cause;
    });
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    const error = (results[0] as PromiseRejectedResult).reason as TypeError;
    expect(error.cause).toBe(cause);
    expectTypeError(error, ['errored synchronously', 'bad SQL']);
    expect((results[1] as PromiseRejectedResult).reason).toBe(error);
    await expect(Promise.all([loader.load(1), loader.load(2)])).resolves.toEqual(['v1', 'v2']);
    expect(calls).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });

  it.each<[string, unknown, string]>([
    ['an array', ['v1', 'v2'], '["v1","v2"]'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 5, '5'],
  ])(
    'a non-promise return (%s) rejects every key with a TypeError and caches none',
    async (_label, value, echoed) => {
      const { loader, calls } = misbehaving(() => value);
      await expectBatchRejected(loader, calls, ['did not return a Promise', echoed]);
    },
  );

  it.each<[string, unknown, string]>([
    ['a string', 'v1,v2', '"v1,v2"'],
    ['a number', 2, '2'],
    ['null', null, 'null'],
    ['a plain object', { v1: 1 }, '{"v1":1}'],
    ['undefined', undefined, 'undefined'],
  ])(
    'a non-array result (%s) rejects every key with a TypeError and caches none',
    async (_label, value, echoed) => {
      const { loader, calls } = misbehaving(() => Promise.resolve(value));
      await expectBatchRejected(loader, calls, ['Array', echoed]);
    },
  );

  it('a result of the wrong length rejects every key with a TypeError naming keys and values', async () => {
    const { loader, calls } = misbehaving(() => Promise.resolve(['only']));
    await expectBatchRejected(loader, calls, ['same length', 'Keys (2)', '[1,2]', 'Values (1)', '["only"]']);
  });

  it('a result that is too long is rejected too', async () => {
    const { loader, calls } = misbehaving(() => Promise.resolve(['a', 'b', 'c']));
    await expectBatchRejected(loader, calls, ['same length', 'Keys (2)', 'Values (3)', '["a","b","c"]']);
  });

  it('contract violations do not affect keys memoized by earlier batches', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(((keys: ReadonlyArray<number>) => {
      calls.push([...keys]);
      return calls.length === 2 ? Promise.resolve([]) : Promise.resolve(keys.map((k) => `v${k}`));
    }) as never);
    await expect(loader.load(1)).resolves.toBe('v1');
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'v1' });
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
    await expect(loader.load(2)).resolves.toBe('v2');
    expect(calls).toEqual([[1], [2], [2]]);
  });
});

describe('wrong-length answers: a bounded message', () => {
  async function rejection(answer: unknown, keys = [1, 2]): Promise<TypeError> {
    const loader = new DataLoader<number, unknown>((() => Promise.resolve(answer)) as never);
    const results = await Promise.allSettled(keys.map((key) => loader.load(key)));
    const reason = (results[0] as PromiseRejectedResult).reason as TypeError;
    expect(reason).toBeInstanceOf(TypeError);
    return reason;
  }

  it("keeps dataloader's wording for an unnamed loader and previews only the first keys and values", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => i + 1);
    const error = await rejection(
      keys.slice(1).map((k) => `value ${k}`),
      keys,
    );
    expect(error.message).toMatch(
      /^DataLoader must be constructed with a function which accepts Array<key> and returns Promise<Array<value>>, but the function did not return a Promise of an Array of the same length as the Array of keys\./,
    );
    expect(error.message).toContain('Keys (50):\n[1,2,3,4,5,6,7,8,9,10,... 50 items]');
    expect(error.message).toContain('Values (49):\n["value 2",');
    expect(error.message).not.toContain('value 12');
  });

  it('rejects a 64 MB Buffer answer with a short message (no copy of the answer)', async () => {
    const error = await rejection(Buffer.alloc(64 * 1024 * 1024, 7));
    expect(error.message).toContain('Values (67108864):\n[7,7,7,7,7,7,7,7,7,7,... 67108864 items]');
    expect(error.message.length).toBeLessThan(1_000);
  });

  it('rejects an array-like of length 2**32 - 1 with a short message', async () => {
    const error = await rejection({ length: 2 ** 32 - 1, 0: 1, [2 ** 32 - 2]: 2 });
    expect(error.message).toContain('Values (4294967295):\n[1,undefined,');
    expect(error.message.length).toBeLessThan(1_000);
    const notArrayLike = await rejection({ length: 2 ** 32 - 1, 0: 1 });
    expect(notArrayLike.message).toContain(
      'did not return a Promise of an Array or Map: {"0":1,"length":4294967295}',
    );
  });

  it('bounds each previewed item', async () => {
    const error = await rejection(['x'.repeat(1_000_000)]);
    expect(error.message.length).toBeLessThan(1_000);
  });
});
