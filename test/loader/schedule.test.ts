import NpmDataLoader from 'dataloader';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BatchEvent, DataLoader, type DataLoaderOptions, type LoadEvent } from '../../src/index.js';

/** A loader that records each batch function call and answers `v<key>`. */
function recording(options?: DataLoaderOptions<number, string>) {
  const calls: number[][] = [];
  const events: BatchEvent<number>[] = [];
  const loader = new DataLoader<number, string>(
    async (keys) => {
      calls.push([...keys]);
      return keys.map((k) => `v${k}`);
    },
    { onBatch: (event) => events.push(event), ...options },
  );
  return { loader, calls, events, reasons: () => events.map((e) => e.reason) };
}

/** Runs the promise jobs and `process.nextTick` callbacks queued so far (neither is faked). */
async function flushTicks(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => process.nextTick(resolve));
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('batchWindowMs', () => {
  it('collects keys for N ms from the first key of a batch, then starts a new batch', async () => {
    const { loader, calls, reasons } = recording({ batchWindowMs: 10 });
    const p1 = loader.load(1); // t = 0
    await vi.advanceTimersByTimeAsync(5);
    const p2 = loader.load(2); // t = 5, same window
    await vi.advanceTimersByTimeAsync(4); // t = 9
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1); // t = 10: the window opened at t = 0 closes
    expect(calls).toEqual([[1, 2]]);
    await expect(Promise.all([p1, p2])).resolves.toEqual(['v1', 'v2']);

    await vi.advanceTimersByTimeAsync(1); // t = 11
    const p3 = loader.load(3);
    await vi.advanceTimersByTimeAsync(9); // t = 20
    expect(calls).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(1); // t = 21
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(p3).resolves.toBe('v3');
    expect(reasons()).toEqual(['window', 'window']);
  });

  it('does not dispatch on the default tick', async () => {
    const { loader, calls } = recording({ batchWindowMs: 10 });
    const p = loader.load(1);
    await flushTicks();
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toEqual([[1]]);
    await expect(p).resolves.toBe('v1');
  });

  it('dispatches a batch that reaches maxBatchSize at once, with reason "full"', async () => {
    const { loader, calls, events } = recording({ batchWindowMs: 100, maxBatchSize: 2 });
    const p1 = loader.load(1);
    const p2 = loader.load(2);
    const p3 = loader.load(3);
    await Promise.resolve(); // one microtask, no timer advanced
    expect(calls).toEqual([[1, 2]]);
    await expect(Promise.all([p1, p2])).resolves.toEqual(['v1', 'v2']);
    expect(events.map((e) => [e.keys, e.reason])).toEqual([[[1, 2], 'full']]);

    // The key that did not fit opened a new batch with its own window.
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(p3).resolves.toBe('v3');
    expect(events.map((e) => [e.keys, e.reason])).toEqual([
      [[1, 2], 'full'],
      [[3], 'window'],
    ]);
  });

  it('contrast: npm dataloader with a 100 ms batchScheduleFn holds a full batch until the timer', async () => {
    const calls: number[][] = [];
    const npm = new NpmDataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map((k) => `v${k}`);
      },
      { batchScheduleFn: (cb) => setTimeout(cb, 100), maxBatchSize: 2 },
    );
    const all = Promise.all([npm.load(1), npm.load(2), npm.load(3)]);
    await flushTicks();
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(all).resolves.toEqual(['v1', 'v2', 'v3']);
  });

  it('a custom batchScheduleFn keeps dataloader timing: a full batch waits for the callback', async () => {
    const { loader, calls, reasons } = recording({
      batchScheduleFn: (cb) => setTimeout(cb, 100),
      maxBatchSize: 2,
    });
    const all = Promise.all([loader.load(1), loader.load(2), loader.load(3)]);
    await flushTicks();
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(all).resolves.toEqual(['v1', 'v2', 'v3']);
    expect(reasons()).toEqual(['schedule', 'schedule']);
  });
});

describe('adaptive schedule', () => {
  it('dispatches with reason "settle" once a turn of the event loop adds no key', async () => {
    const { loader, calls, events } = recording({ adaptive: true, maxBatchWaitMs: 50 });
    const p1 = loader.load(1);
    const p2 = loader.load(2);
    await flushTicks(); // the opening tick is over: not dispatched on the tick like the default
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(0); // one setImmediate turn, nothing new
    expect(calls).toEqual([[1, 2]]);
    await expect(Promise.all([p1, p2])).resolves.toEqual(['v1', 'v2']);
    expect(events.map((e) => [e.keys, e.reason])).toEqual([[[1, 2], 'settle']]);
    // The maxBatchWaitMs timer was dropped with the batch.
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toHaveLength(1);
  });

  it('keeps waiting while keys arrive every turn, and settles on the first quiet turn', async () => {
    const { loader, calls, reasons } = recording({ adaptive: true, maxBatchWaitMs: 1000 });
    const promises = [loader.load(1)];
    await flushTicks();
    for (const key of [2, 3, 4]) {
      promises.push(loader.load(key)); // a new key arrives before the turn's check
      vi.advanceTimersToNextTimer(); // that check sees growth and waits another turn
      expect(calls).toEqual([]);
    }
    vi.advanceTimersToNextTimer(); // a quiet turn
    expect(calls).toEqual([[1, 2, 3, 4]]);
    await expect(Promise.all(promises)).resolves.toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(reasons()).toEqual(['settle']);
  });

  it('is forced with reason "window" at maxBatchWaitMs when keys never stop arriving', async () => {
    const { loader, calls, events } = recording({ adaptive: true, maxBatchWaitMs: 5 });
    const promises = [loader.load(0)];
    await flushTicks();
    for (let key = 1; key <= 5; key++) {
      promises.push(loader.load(key));
      vi.advanceTimersByTime(key === 1 ? 0 : 1); // t = 0, 1, 2, 3, 4: one growing turn each
      expect(calls).toEqual([]);
    }
    promises.push(loader.load(6));
    vi.advanceTimersByTime(1); // t = 5: maxBatchWaitMs elapsed
    expect(calls).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
    await expect(Promise.all(promises)).resolves.toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    expect(events.map((e) => e.reason)).toEqual(['window']);

    // The next key opens a fresh batch.
    const p7 = loader.load(7);
    await flushTicks();
    vi.advanceTimersByTime(0);
    expect(calls).toEqual([[0, 1, 2, 3, 4, 5, 6], [7]]);
    await expect(p7).resolves.toBe('v7');
    expect(events.map((e) => e.reason)).toEqual(['window', 'settle']);
  });

  it('dispatches a batch that reaches maxBatchSize at once, with reason "full"', async () => {
    const { loader, calls, reasons } = recording({ adaptive: true, maxBatchSize: 2 });
    const all = Promise.all([loader.load(1), loader.load(2), loader.load(3)]);
    await Promise.resolve();
    expect(calls).toEqual([[1, 2]]);
    await flushTicks();
    vi.advanceTimersByTime(0);
    expect(calls).toEqual([[1, 2], [3]]);
    await expect(all).resolves.toEqual(['v1', 'v2', 'v3']);
    expect(reasons()).toEqual(['full', 'settle']);
  });
});

describe('onBatch', () => {
  it('reports reason "tick" on the default schedule, with keys, loader name and duration', async () => {
    const events: BatchEvent<number>[] = [];
    const loader = new DataLoader<number, string>(
      (keys) => new Promise((resolve) => setTimeout(() => resolve(keys.map((k) => `v${k}`)), 30)),
      { name: 'users', onBatch: (event) => events.push(event) },
    );
    await vi.advanceTimersByTimeAsync(7); // keep the fake clock off 0 (see the durationMs test below)
    const all = Promise.all([loader.load(1), loader.load(2)]);
    await vi.advanceTimersByTimeAsync(29);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await expect(all).resolves.toEqual(['v1', 'v2']);
    expect(events).toEqual([{ loader: 'users', keys: [1, 2], reason: 'tick', durationMs: 30 }]);
    expect('error' in events[0]!).toBe(false);
  });

  it('measures durationMs from dispatch even when the fake clock reads 0 at dispatch', async () => {
    // performance.now() is 0 right after vi.useFakeTimers(); a batch that then takes 30 ms must not
    // report 0 ms.
    const events: BatchEvent<number>[] = [];
    const loader = new DataLoader<number, number>(
      (keys) => new Promise((resolve) => setTimeout(() => resolve([...keys]), 30)),
      { onBatch: (event) => events.push(event) },
    );
    const p = loader.load(1);
    await vi.advanceTimersByTimeAsync(30);
    await expect(p).resolves.toBe(1);
    expect(events.map((e) => e.durationMs)).toEqual([30]);
  });

  it('reports reason "schedule" with a batchScheduleFn', async () => {
    const { loader, calls, events } = recording({ batchScheduleFn: (cb) => setTimeout(cb, 3) });
    const p = loader.load(4);
    await vi.advanceTimersByTimeAsync(3);
    await expect(p).resolves.toBe('v4');
    expect(calls).toEqual([[4]]);
    expect(events.map((e) => [e.keys, e.reason])).toEqual([[[4], 'schedule']]);
  });

  it('reports the error of a failed batch', async () => {
    const boom = new Error('db down');
    const events: BatchEvent<number>[] = [];
    const loader = new DataLoader<number, string>(
      async () => {
        throw boom;
      },
      { onBatch: (event) => events.push(event) },
    );
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(results).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ loader: null, keys: [1, 2], reason: 'tick', error: boom });
  });

  it('does not report per-key Error values as a batch error', async () => {
    const bad = new Error('no 2');
    const events: BatchEvent<number>[] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => keys.map((k) => (k === 2 ? bad : `v${k}`)),
      {
        onBatch: (event) => events.push(event),
      },
    );
    const results = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'v1' },
      { status: 'rejected', reason: bad },
    ]);
    expect(events).toHaveLength(1);
    expect('error' in events[0]!).toBe(false);
  });
});

describe('onLoad', () => {
  it('reports a miss or a hit for every load', async () => {
    const loads: LoadEvent<number>[] = [];
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      async (keys) => {
        calls.push([...keys]);
        return keys.map((k) => `v${k}`);
      },
      { name: 'posts', onLoad: (event) => loads.push(event) },
    );
    await Promise.all([loader.load(1), loader.load(2), loader.load(1)]);
    await loader.load(2);
    await loader.loadMany([3, 1]);
    expect(calls).toEqual([[1, 2], [3]]);
    expect(loads).toEqual([
      { loader: 'posts', key: 1, hit: false },
      { loader: 'posts', key: 2, hit: false },
      { loader: 'posts', key: 1, hit: true },
      { loader: 'posts', key: 2, hit: true },
      { loader: 'posts', key: 3, hit: false },
      { loader: 'posts', key: 1, hit: true },
    ]);
  });

  it('does not report a load that failed the key check', () => {
    const loads: LoadEvent<unknown>[] = [];
    const loader = new DataLoader<unknown, unknown>(async (keys) => [...keys], {
      onLoad: (event) => loads.push(event),
    });
    expect(() => loader.load(null)).toThrow(TypeError);
    expect(loads).toEqual([]);
  });
});

describe('batchScheduleFn', () => {
  it('is called with this = the loader, once per batch', async () => {
    const receivers: unknown[] = [];
    const loader: DataLoader<number, number> = new DataLoader<number, number>(async (keys) => [...keys], {
      batchScheduleFn(this: unknown, cb: () => void) {
        receivers.push(this);
        setTimeout(cb, 1);
      },
    });
    const first = Promise.all([loader.load(1), loader.load(2)]);
    await vi.advanceTimersByTimeAsync(1);
    await expect(first).resolves.toEqual([1, 2]);
    const second = loader.load(3);
    await vi.advanceTimersByTimeAsync(1);
    await expect(second).resolves.toBe(3);
    expect(receivers).toHaveLength(2);
    expect(receivers[0]).toBe(loader);
    expect(receivers[1]).toBe(loader);
  });
});

describe('default tick', () => {
  it('dispatches every batch of thousands queued while older ticks run (the tick queue never empties)', async () => {
    vi.useRealTimers();
    // Two chains of loaders whose batch functions load from the next loader of their chain: each
    // dispatch queues the next batch before the other chain's tick ran, so batches keep waiting.
    const length = 3000;
    const calls: string[] = [];
    const chain = (name: string) => {
      const loaders: DataLoader<number, number>[] = [];
      for (let i = 0; i < length; i++) {
        loaders.push(
          new DataLoader<number, number>(async (keys) => {
            calls.push(`${name}${i}`);
            const next = loaders[i + 1];
            return Promise.all(keys.map((key) => (next === undefined ? key : next.load(key + 1))));
          }),
        );
      }
      return loaders[0]!;
    };
    const [x, y] = [chain('x'), chain('y')];
    await expect(Promise.all([x.load(0), y.load(10)])).resolves.toEqual([length - 1, length + 9]);
    expect(calls).toHaveLength(2 * length);
    expect(calls.slice(0, 4)).toEqual(['x0', 'y0', 'x1', 'y1']);
    expect(calls.slice(-2)).toEqual([`x${length - 1}`, `y${length - 1}`]);
  });
});
