import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { type BatchEvent, DataLoader, NotFoundError } from '../../src/index.js';
import { deferred } from '../helpers.js';

/** Lets pending ticks, promise jobs and the default schedule run. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Observes a promise without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('Map results', () => {
  it('resolves each key from a Map keyed by key, whatever its order', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(async (keys) => {
      calls.push([...keys]);
      return new Map([...keys].reverse().map((k) => [k, `v${k}`] as const));
    });
    await expect(Promise.all([loader.load(3), loader.load(1), loader.load(2)])).resolves.toEqual([
      'v3',
      'v1',
      'v2',
    ]);
    expect(calls).toEqual([[3, 1, 2]]);
  });

  it('resolves each key from a Map keyed by cache key, with a cacheKeyFn', async () => {
    type Key = { id: number };
    const calls: Key[][] = [];
    const loader = new DataLoader<Key, string, number>(
      async (keys) => {
        calls.push([...keys]);
        return new Map(keys.map((k) => [k.id, `user${k.id}`] as const));
      },
      { cacheKeyFn: (key) => key.id },
    );
    const values = await Promise.all([
      loader.load({ id: 7 }),
      loader.load({ id: 8 }),
      loader.load({ id: 7 }),
    ]);
    expect(values).toEqual(['user7', 'user8', 'user7']);
    expect(calls).toEqual([[{ id: 7 }, { id: 8 }]]);
  });

  it('resolves keys absent from the Map to null by default', async () => {
    const loader = new DataLoader<number, string | null>(async (keys) => {
      return new Map(keys.filter((k) => k % 2 === 0).map((k) => [k, `v${k}`] as const));
    });
    await expect(loader.loadMany([1, 2, 3, 4])).resolves.toEqual([null, 'v2', null, 'v4']);
  });

  it("rejects keys absent from the Map with NotFoundError under onMissing: 'error'", async () => {
    const loader = new DataLoader<number, string>(
      async (keys) => new Map(keys.filter((k) => k !== 2).map((k) => [k, `v${k}`] as const)),
      { onMissing: 'error', name: 'users' },
    );
    const results = await Promise.allSettled([loader.load(1), loader.load(2), loader.load(3)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'v1' });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'v3' });
    expect(results[1]!.status).toBe('rejected');
    const error = (results[1] as PromiseRejectedResult).reason as NotFoundError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('NotFoundError');
    expect(error.key).toBe(2);
    expect(error.loader).toBe('users');
    expect(error.message).toContain('2');
    expect(error.message).toContain('users');
  });

  it("rejects null and undefined in an array answer with NotFoundError under onMissing: 'error'", async () => {
    const answer = ['v1', null, undefined, 'v4'];
    const loader = new DataLoader<number, string | null | undefined>(async () => answer, {
      onMissing: 'error',
      name: 'users',
    });
    const results = await loader.loadMany([1, 2, 3, 4]);
    expect(results[0]).toBe('v1');
    expect(results[3]).toBe('v4');
    for (const [i, shown] of [
      [1, 'null'],
      [2, 'undefined'],
    ] as const) {
      expect(results[i]).toBeInstanceOf(NotFoundError);
      expect((results[i] as NotFoundError).key).toBe(i + 1);
      expect((results[i] as NotFoundError).message).toBe(
        `users: no value for key ${i + 1} (the batch function answered ${shown} for it)`,
      );
    }
    // The batch function's own array is left as it was.
    expect(answer).toEqual(['v1', null, undefined, 'v4']);
    // Without onMissing: 'error' an array's null is a value.
    const plain = new DataLoader<number, string | null>(async (keys) => keys.map(() => null));
    await expect(plain.load(1)).resolves.toBeNull();
  });

  it('NotFoundError.key is the key that was asked for, not its cache key', async () => {
    type Key = { id: number };
    const asked = { id: 5 };
    const loader = new DataLoader<Key, string, number>(async () => new Map<number, string>(), {
      cacheKeyFn: (key) => key.id,
      onMissing: 'error',
    });
    const error = await loader.load(asked).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).key).toBe(asked);
  });

  it('rejects only the key whose Map value is an Error', async () => {
    const bad = new Error('no 2');
    const loader = new DataLoader<number, string>(
      async (keys) => new Map(keys.map((k) => [k, k === 2 ? bad : `v${k}`] as const)),
    );
    await expect(loader.loadMany([1, 2, 3])).resolves.toEqual(['v1', bad, 'v3']);
  });
});

describe('cacheErrors', () => {
  function failingOn(bad: number, options?: { cacheErrors?: boolean }) {
    const calls: number[][] = [];
    const errors: Error[] = [];
    const loader = new DataLoader<number, string>(async (keys) => {
      calls.push([...keys]);
      return keys.map((k) => {
        if (k !== bad) return `v${k}`;
        const error = new Error(`no ${k} (call ${calls.length})`);
        errors.push(error);
        return error;
      });
    }, options);
    return { loader, calls, errors };
  }

  it('keeps an Error result memoized by default', async () => {
    const { loader, calls, errors } = failingOn(2);
    const first = await loader.loadMany([1, 2]);
    expect(errors).toHaveLength(1);
    expect(first).toEqual(['v1', errors[0]]);
    expect(first[1]).toBe(errors[0]);
    await expect(loader.load(2)).rejects.toBe(errors[0]);
    await expect(loader.load(1)).resolves.toBe('v1');
    expect(calls).toEqual([[1, 2]]);
    expect(errors).toHaveLength(1);
  });

  it('cacheErrors: false lets the next load of a failed key call the batch function again', async () => {
    const { loader, calls, errors } = failingOn(2, { cacheErrors: false });
    const first = await loader.loadMany([1, 2]);
    expect(errors).toHaveLength(1);
    expect(first).toEqual(['v1', errors[0]]);
    expect(first[1]).toBe(errors[0]);
    expect(calls).toEqual([[1, 2]]);
    await expect(loader.load(2)).rejects.toThrow('no 2 (call 2)');
    expect(calls).toEqual([[1, 2], [2]]);
    await expect(loader.load(1)).resolves.toBe('v1'); // a value stays memoized
    await expect(loader.load(2)).rejects.toThrow('no 2 (call 3)');
    expect(errors).toHaveLength(3);
    expect(calls).toEqual([[1, 2], [2], [2]]);
  });

  it('cacheErrors: false applies to cross-realm Error values too', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map(() => runInNewContext('new Error("x")') as Error);
      },
      { cacheErrors: false },
    );
    await expect(loader.load(1)).rejects.toThrow('x');
    await expect(loader.load(1)).rejects.toThrow('x');
    expect(calls).toEqual([[1], [1]]);
  });
});

describe('immediateCacheHits', () => {
  it('immediateCacheHits: true makes a memo hit return the very same promise', async () => {
    const loader = new DataLoader<number, string>(async (keys) => keys.map((k) => `v${k}`), {
      immediateCacheHits: true,
    });
    const first = loader.load(1);
    expect(loader.load(1)).toBe(first);
    await first;
    expect(loader.load(1)).toBe(first);
  });

  it('immediateCacheHits: true makes a hit resolve without waiting for a slow pending batch', async () => {
    const calls: number[][] = [];
    const gate = deferred<void>();
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        if (keys.includes(2)) await gate.promise;
        return keys.map((k) => `v${k}`);
      },
      { immediateCacheHits: true },
    );
    await expect(loader.load(1)).resolves.toBe('v1');
    const slow = track(loader.load(2));
    const hit = track(loader.load(1));
    await turns();
    expect(calls).toEqual([[1], [2]]);
    expect(hit).toEqual({ settled: true, value: 'v1' });
    expect(slow.settled).toBe(false);
    gate.resolve();
    await turns();
    expect(slow).toEqual({ settled: true, value: 'v2' });
  });

  it('by default (immediateCacheHits: false) a hit waits until the pending batch finishes', async () => {
    const calls: number[][] = [];
    const gate = deferred<void>();
    const loader = new DataLoader<number, string>(async (keys) => {
      calls.push([...keys]);
      if (keys.includes(2)) await gate.promise;
      return keys.map((k) => `v${k}`);
    });
    await expect(loader.load(1)).resolves.toBe('v1');
    const slow = loader.load(2);
    const hitPromise = loader.load(1);
    expect(hitPromise).not.toBe(loader.load(1));
    const hit = track(hitPromise);
    await turns();
    expect(calls).toEqual([[1], [2]]);
    expect(hit.settled).toBe(false);
    gate.resolve();
    await expect(slow).resolves.toBe('v2');
    await turns();
    expect(hit).toEqual({ settled: true, value: 'v1' });
  });

  it('same values, errors and batches of misses either way', async () => {
    for (const immediateCacheHits of [true, false]) {
      const calls: number[][] = [];
      const bad = new Error('no 3');
      const loader = new DataLoader<number, string>(
        async (keys) => {
          calls.push([...keys]);
          return keys.map((k) => (k === 3 ? bad : `v${k}`));
        },
        { immediateCacheHits },
      );
      await expect(loader.loadMany([1, 2, 1, 3])).resolves.toEqual(['v1', 'v2', 'v1', bad]);
      await expect(loader.loadMany([3, 4, 2])).resolves.toEqual([bad, 'v4', 'v2']);
      expect(calls).toEqual([[1, 2, 3], [4]]);
    }
  });
});

describe('maxCacheEntries', () => {
  it('bounds the memo, dropping the least recently used key first', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map((k) => `v${k}`);
      },
      { maxCacheEntries: 2 },
    );
    await Promise.all([loader.load(1), loader.load(2)]); // memo: 1, 2
    await loader.load(1); // hit; 1 is now the most recently used
    expect(calls).toEqual([[1, 2]]);
    await loader.load(3); // evicts 2, not 1
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(loader.load(1)).resolves.toBe('v1'); // still a hit
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(loader.load(2)).resolves.toBe('v2'); // refetched; evicts 3
    expect(calls).toEqual([[1, 2], [3], [2]]);
    await expect(loader.load(3)).resolves.toBe('v3'); // refetched; evicts 1
    await expect(loader.load(2)).resolves.toBe('v2'); // hit
    await expect(loader.load(1)).resolves.toBe('v1'); // refetched
    expect(calls).toEqual([[1, 2], [3], [2], [3], [1]]);
  });

  it('the default memo is unbounded', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(async (keys) => {
      calls.push([...keys]);
      return keys.map((k) => `v${k}`);
    });
    await loader.loadMany([1, 2, 3]);
    await loader.loadMany([3, 2, 1]);
    expect(calls).toEqual([[1, 2, 3]]);
  });
});

describe('batch function results', () => {
  it('rejects a key whose value is a cross-realm Error', async () => {
    const foreign = runInNewContext('new Error("x")') as Error;
    expect(foreign instanceof Error).toBe(false);
    const loader = new DataLoader<number, string>(async (keys) =>
      keys.map((k) => (k === 2 ? foreign : `v${k}`)),
    );
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'v1' },
      { status: 'rejected', reason: foreign },
    ]);
  });

  it('accepts a thenable without .catch', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>((keys) => {
      calls.push([...keys]);
      return {
        then<R1, R2>(onFulfilled?: ((value: string[]) => R1 | PromiseLike<R1>) | null): PromiseLike<R1 | R2> {
          return Promise.resolve(keys.map((k) => `v${k}`)).then(onFulfilled);
        },
      };
    });
    await expect(Promise.all([loader.load(1), loader.load(2)])).resolves.toEqual(['v1', 'v2']);
    expect(calls).toEqual([[1, 2]]);
  });

  it('rejects every key of a thenable that rejects', async () => {
    const boom = new Error('boom');
    const loader = new DataLoader<number, string>(() => ({
      then<R1, R2>(
        _onFulfilled?: ((value: string[]) => R1 | PromiseLike<R1>) | null,
        onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
      ): PromiseLike<R1 | R2> {
        return Promise.reject(boom).then(undefined, onRejected);
      },
    }));
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(results).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
  });

  it('hands the batch function a copy of the keys: sorting it in place does not misalign results', async () => {
    const received: number[][] = [];
    const events: BatchEvent<number>[] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        const mutable = keys as number[];
        mutable.sort((a, b) => a - b);
        received.push([...mutable]);
        return new Map(mutable.map((k) => [k, `v${k}`] as const));
      },
      { onBatch: (event) => events.push(event) },
    );
    await expect(Promise.all([loader.load(3), loader.load(1), loader.load(2)])).resolves.toEqual([
      'v3',
      'v1',
      'v2',
    ]);
    expect(received).toEqual([[1, 2, 3]]);
    expect(events.map((e) => e.keys)).toEqual([[3, 1, 2]]);
  });

  it('sorting the keys in place does not make cacheErrors: false forget the wrong key', async () => {
    const calls: number[][] = [];
    const bad = new Error('no 1');
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        const answers = keys.map((k) => (k === 1 ? bad : `v${k}`));
        (keys as number[]).sort((a, b) => a - b);
        return answers;
      },
      { cacheErrors: false },
    );
    await expect(loader.loadMany([3, 1])).resolves.toEqual(['v3', bad]);
    await expect(loader.load(3)).resolves.toBe('v3'); // still memoized
    await expect(loader.load(1)).rejects.toBe(bad); // forgotten: refetched
    expect(calls).toEqual([[3, 1], [1]]);
  });
});

describe('unhandled rejections', () => {
  it('a failed batch whose callers all handle their rejections leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const boom = new Error('db down');
      const plain = new DataLoader<number, string>(async () => {
        throw boom;
      });
      const slowHits = new DataLoader<number, string>(
        async (keys) => {
          if (keys.includes(9)) throw boom;
          return keys.map((k) => `v${k}`);
        },
        { immediateCacheHits: false },
      );
      const perKey = new DataLoader<number, string>(async (keys) => keys.map((k) => new Error(`no ${k}`)), {
        cacheErrors: false,
      });
      const withSignals = new DataLoader<number, string>(async () => {
        throw boom;
      });
      const controller = new AbortController();

      await expect(plain.load(1)).rejects.toBe(boom);
      await expect(plain.loadMany([1, 2])).resolves.toEqual([boom, boom]);

      await slowHits.load(1);
      const slowMiss = slowHits.load(9);
      const slowHit = slowHits.load(1); // waits for the failing batch of key 9
      await expect(slowMiss).rejects.toBe(boom);
      await expect(slowHit).resolves.toBe('v1');

      await expect(perKey.load(1)).rejects.toThrow('no 1');

      const aborted = withSignals.load(1, { signal: controller.signal });
      const waiting = withSignals.load(2);
      controller.abort(new Error('gone'));
      await expect(aborted).rejects.toThrow('gone');
      await expect(waiting).rejects.toBe(boom);

      await turns(5);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a caller that aborted before its batch failed leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const gate = deferred<void>();
      const boom = new Error('db down');
      const loader = new DataLoader<number, string>(async () => {
        await gate.promise;
        throw boom;
      });
      const controller = new AbortController();
      const p = loader.load(1, { signal: controller.signal });
      await turns();
      controller.abort(new Error('gone'));
      await expect(p).rejects.toThrow('gone');
      gate.resolve(); // the batch now fails with nobody left to hear it
      await turns(5);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
