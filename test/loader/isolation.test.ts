/**
 * User code a loader calls besides the batch function (hooks, a custom schedule, a cacheMap, a result's
 * `then`) never fails a load it should not fail, never wedges the loader and never throws out of
 * loaderkit's internals (no uncaught exception, no unhandled rejection). Issue #10, §3.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DataLoader } from '../../src/index.js';

/** Lets pending ticks, promise jobs and the default schedule run. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Collects uncaught exceptions and unhandled rejections while a test runs, in place of the test
 * runner's own listeners (which would fail the run instead of letting the test say what went wrong).
 */
function strayErrors() {
  const stray: { uncaught: unknown[]; unhandled: unknown[] } = { uncaught: [], unhandled: [] };
  const saved = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  const onUncaught = (error: unknown) => stray.uncaught.push(error);
  const onUnhandled = (reason: unknown) => stray.unhandled.push(reason);
  process.removeAllListeners('uncaughtException');
  process.removeAllListeners('unhandledRejection');
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  const restore = () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
    for (const l of saved.uncaughtException) process.on('uncaughtException', l as never);
    for (const l of saved.unhandledRejection) process.on('unhandledRejection', l as never);
  };
  return { stray, restore };
}

let capture: ReturnType<typeof strayErrors>;
let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  capture = strayErrors();
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  capture.restore();
  warn.mockRestore();
});

function expectNoStrayErrors(): void {
  expect(capture.stray.uncaught).toEqual([]);
  expect(capture.stray.unhandled).toEqual([]);
}

describe('throwing hooks', () => {
  it('a throwing onBatch never affects loads, on success or failure, and is reported once per loader', async () => {
    const boom = new Error('db down');
    const loader = new DataLoader<number, string>(
      async (keys) => {
        if (keys.includes(9)) throw boom;
        return keys.map((k) => `v${k}`);
      },
      {
        name: 'users',
        onBatch: () => {
          throw new Error('hook broke');
        },
      },
    );
    await expect(loader.load(1)).resolves.toBe('v1');
    await expect(loader.load(9)).rejects.toBe(boom);
    await expect(loader.loadMany([2, 3])).resolves.toEqual(['v2', 'v3']);
    // The synchronous failure path (the batch function throws) reports too.
    const sync = new DataLoader<number, string>(
      () => {
        throw boom;
      },
      {
        onBatch: () => {
          throw new Error('hook broke');
        },
      },
    );
    await expect(sync.load(1)).rejects.toThrow(/errored synchronously/);
    await turns();
    expectNoStrayErrors();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0]![0])).toMatch(/"users".*onBatch.*hook broke/);
  });

  it('a throwing onLoad never affects loads, misses or hits, and is reported once per loader', async () => {
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map((k) => `v${k}`);
      },
      {
        onLoad: () => {
          throw new Error('hook broke');
        },
      },
    );
    const a = loader.load(1);
    const b = loader.load(2);
    await expect(Promise.all([a, b])).resolves.toEqual(['v1', 'v2']);
    await expect(loader.load(1)).resolves.toBe('v1'); // a hit
    expect(calls).toEqual([[1, 2]]);
    await turns();
    expectNoStrayErrors();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/onLoad.*hook broke/);
  });
});

describe('a throwing batchScheduleFn', () => {
  it("fails that batch's keys with its error, un-memoized, and leaves the loader usable", async () => {
    const oops = new Error('scheduler broke');
    let throwNext = true;
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map((k) => `v${k}`);
      },
      {
        batchScheduleFn: (callback) => {
          if (throwNext) {
            throwNext = false;
            throw oops;
          }
          setTimeout(callback, 1);
        },
      },
    );
    const first = loader.load(1);
    const second = loader.load(2); // joins the same batch
    await expect(first).rejects.toBe(oops);
    await expect(second).rejects.toBe(oops);
    // Not wedged: new loads open a new batch, and the failed keys were not memoized.
    await expect(loader.loadMany([1, 3])).resolves.toEqual(['v1', 'v3']);
    expect(calls).toEqual([[1, 3]]);
    await turns();
    expectNoStrayErrors();
  });
});

describe('a batch result whose then throws', () => {
  it('a throwing then getter rejects that batch instead of crashing and hanging', async () => {
    const broken = new Error('then getter broke');
    let poisoned = true;
    const loader = new DataLoader<number, string>((keys) => {
      if (poisoned) {
        poisoned = false;
        return {
          get then(): never {
            throw broken;
          },
        } as never;
      }
      return Promise.resolve(keys.map((k) => `v${k}`));
    });
    const settled = await Promise.race([
      loader.load(1).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      turns(10).then(() => 'hung'),
    ]);
    expect(settled).toBeInstanceOf(TypeError);
    expect((settled as TypeError).cause).toBe(broken);
    // Un-memoized, and the loader still works.
    await expect(loader.load(1)).resolves.toBe('v1');
    expectNoStrayErrors();
  });

  it('a then that throws when called rejects that batch with its error', async () => {
    const broken = new Error('then broke');
    let poisoned = true;
    const loader = new DataLoader<number, string>((keys) => {
      if (poisoned) {
        poisoned = false;
        return {
          then() {
            throw broken;
          },
        } as never;
      }
      return Promise.resolve(keys.map((k) => `v${k}`));
    });
    await expect(loader.load(1)).rejects.toBe(broken);
    await expect(loader.load(1)).resolves.toBe('v1');
    await turns();
    expectNoStrayErrors();
  });
});

describe('a cacheMap whose delete throws', () => {
  class BrokenDelete<K, V> extends Map<K, V> {
    override delete(_key: K): boolean {
      throw new Error('delete broke');
    }
  }

  it("a failed batch's keys still reject with the batch's error, and nothing is thrown out", async () => {
    const boom = new Error('db down');
    const rejecting = new DataLoader<number, string>(
      async () => {
        throw boom;
      },
      { cacheMap: new BrokenDelete() },
    );
    await expect(rejecting.load(1)).rejects.toBe(boom);
    const throwing = new DataLoader<number, string>(
      () => {
        throw boom;
      },
      { cacheMap: new BrokenDelete() },
    );
    const settled = await Promise.race([
      throwing.load(1).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      turns(10).then(() => 'hung'),
    ]);
    expect(settled).toBeInstanceOf(TypeError);
    expect((settled as TypeError).cause).toBe(boom);
    await turns();
    expectNoStrayErrors();
    expect(warn).toHaveBeenCalled();
    expect(String(warn.mock.calls[0]![0])).toMatch(/cacheMap.*delete broke/);
  });

  it('with cacheErrors: false, per-key errors and rejected primes still settle', async () => {
    const loader = new DataLoader<number, string>(
      async (keys) => keys.map((k) => (k === 2 ? new Error('no 2') : `v${k}`)),
      { cacheMap: new BrokenDelete(), cacheErrors: false },
    );
    const settled = await Promise.race([loader.loadMany([1, 2]), turns(10).then(() => 'hung')]);
    expect(settled).toEqual(['v1', new Error('no 2')]);
    loader.prime(5, Promise.reject(new Error('primed failure')));
    await expect(loader.load(5)).rejects.toThrow('primed failure');
    await turns();
    expectNoStrayErrors();
  });
});
