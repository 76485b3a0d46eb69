import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';
import { type Deferred, deferred } from '../helpers.js';

/** Lets the default tick schedule dispatch whatever is pending. */
async function dispatched(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** How a promise settled, without leaving a rejection unhandled. */
function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('aborting the loader-level signal settles every pending load', () => {
  it('rejects the keys of an in-flight batch whose function ignores its signal and never answers', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      (keys) => {
        calls.push([...keys]);
        return new Promise<string[]>(() => {}); // never answers
      },
      { signal: controller.signal },
    );
    const p1 = outcome(loader.load(1));
    const p2 = outcome(loader.load(2, {})); // the general path
    await dispatched();
    expect(calls).toEqual([[1, 2]]);
    controller.abort(reason);
    await expect(p1).resolves.toEqual({ error: reason });
    await expect(p2).resolves.toEqual({ error: reason });
    // Their memo entries are dropped, as for a failed batch.
    expect(loader.peek(1)).toBeUndefined();
    expect(loader.peek(2)).toBeUndefined();
  });

  it('ignores a late answer of the batch function', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    const gate: Deferred<void> = deferred<void>();
    const loader = new DataLoader<number, string>(
      async (keys) => {
        await gate.promise;
        return keys.map((k) => `v${k}`);
      },
      { signal: controller.signal },
    );
    const p = outcome(loader.load(1));
    await dispatched();
    controller.abort(reason);
    await expect(p).resolves.toEqual({ error: reason });
    gate.resolve();
    await dispatched();
    expect(loader.peek(1)).toBeUndefined();
    await expect(loader.load(1)).rejects.toBe(reason);
  });

  it('ignores a late failure of the batch function', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    let fail!: (error: Error) => void;
    const loader = new DataLoader<number, string>(
      () =>
        new Promise<string[]>((_, reject) => {
          fail = reject;
        }),
      { signal: controller.signal },
    );
    const p = outcome(loader.load(1));
    await dispatched();
    controller.abort(reason);
    await expect(p).resolves.toEqual({ error: reason });
    fail(new Error('late'));
    await dispatched();
    expect(loader.peek(1)).toBeUndefined();
  });

  it('settles the memo hits waiting on in-flight batches', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    const calls: number[][] = [];
    const loader = new DataLoader<number, string>(
      (keys) => {
        calls.push([...keys]);
        return new Promise<string[]>(() => {});
      },
      { signal: controller.signal },
    );
    const first = outcome(loader.load(1));
    await dispatched();
    // A hit on batch 0's key that waits on batch 1 (dataloader's timing), and a hit waiting alone.
    const hit = outcome(loader.load(1));
    const other = outcome(loader.load(2));
    await dispatched();
    const lone = outcome(loader.load(2)); // a hit on batch 1, in a batch without keys
    await dispatched();
    expect(calls).toEqual([[1], [2]]);
    controller.abort(reason);
    for (const p of [first, hit, other, lone]) await expect(p).resolves.toEqual({ error: reason });
  });

  it('settles the keys of several in-flight batches, with per-call signals too', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    const loader = new DataLoader<number, string>(() => new Promise<string[]>(() => {}), {
      signal: controller.signal,
      maxBatchSize: 2,
    });
    const caller = new AbortController();
    const pending = [1, 2, 3, 4, 5].map((k) => outcome(loader.load(k, { signal: caller.signal })));
    await dispatched();
    const later = outcome(loader.load(6));
    await dispatched();
    controller.abort(reason);
    for (const p of [...pending, later]) await expect(p).resolves.toEqual({ error: reason });
  });

  it('aborts the batch function signal of every in-flight batch', async () => {
    const controller = new AbortController();
    const reason = new Error('request finished');
    const signals: AbortSignal[] = [];
    const loader = new DataLoader<number, string>(
      (_keys, { signal }) => {
        signals.push(signal);
        return new Promise<string[]>(() => {});
      },
      { signal: controller.signal },
    );
    const p1 = outcome(loader.load(1));
    await dispatched();
    const p2 = outcome(loader.load(2));
    await dispatched();
    expect(signals).toHaveLength(2);
    controller.abort(reason);
    expect(signals.map((s) => [s.aborted, s.reason])).toEqual([
      [true, reason],
      [true, reason],
    ]);
    await expect(p1).resolves.toEqual({ error: reason });
    await expect(p2).resolves.toEqual({ error: reason });
  });
});

describe('listeners on the loader-level signal', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('20 loaders reading info.signal in many in-flight batches add at most one listener each', async () => {
    process.on('warning', onWarning);
    const controller = new AbortController();
    const signal = controller.signal;
    const gates: Deferred<void>[] = [];
    const loaders = Array.from(
      { length: 20 },
      () =>
        new DataLoader<number, string>(
          async (keys, info) => {
            info.signal.throwIfAborted();
            const gate = deferred<void>();
            gates.push(gate);
            await gate.promise;
            return keys.map((k) => `v${k}`);
          },
          { signal },
        ),
    );
    const loads: Promise<string>[] = [];
    let most = 0;
    for (let level = 0; level < 3; level++) {
      for (const loader of loaders) loads.push(loader.load(level));
      await dispatched();
      most = Math.max(most, getEventListeners(signal, 'abort').length);
    }
    expect(gates).toHaveLength(60); // 60 batches in flight at once
    expect(most).toBeLessThanOrEqual(20); // the brief's bound: one per loader
    expect(most).toBe(1); // what holds: one per signal
    for (const gate of gates) gate.resolve();
    await Promise.all(loads);
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
    await dispatched();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('loaders made one after another on a long-lived signal never add up listeners', async () => {
    process.on('warning', onWarning);
    const controller = new AbortController();
    const signal = controller.signal;
    for (let request = 0; request < 50; request++) {
      const loaders = Array.from(
        { length: 20 },
        () =>
          new DataLoader<number, string>(
            async (keys, info) => {
              info.signal.throwIfAborted();
              return keys.map((k) => `v${k}`);
            },
            { signal },
          ),
      );
      await Promise.all(loaders.map((loader) => loader.load(request)));
    }
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
    await dispatched();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    // The signal still settles the loads of a later loader.
    const reason = new Error('shutdown');
    const loader = new DataLoader<number, string>(() => new Promise<string[]>(() => {}), { signal });
    const p = outcome(loader.load(1));
    await dispatched();
    controller.abort(reason);
    await expect(p).resolves.toEqual({ error: reason });
  });
});
