import { describe, expect, it } from 'vitest';
import { type BatchLoadContext, DataLoader, type DataLoaderOptions } from '../../src/index.js';
import { type Deferred, deferred } from '../helpers.js';

/**
 * A loader whose batches stay in flight until `release(i)` answers batch `i`, so a test can abort
 * callers while the batch function runs. Records each call's keys and context.
 */
function controlled(options?: DataLoaderOptions<number, string>) {
  const calls: number[][] = [];
  const contexts: BatchLoadContext[] = [];
  const gates: Deferred<void>[] = [];
  const loader = new DataLoader<number, string>(async (keys, context) => {
    calls.push([...keys]);
    contexts.push(context);
    const gate = deferred<void>();
    gates.push(gate);
    await gate.promise;
    return keys.map((k) => `v${k}`);
  }, options);
  const release = (i: number) => gates[i]!.resolve();
  return { loader, calls, contexts, release };
}

/** A loader that answers at once and records each call's keys. */
function instant(options?: DataLoaderOptions<number, string>) {
  const calls: number[][] = [];
  const loader = new DataLoader<number, string>(async (keys) => {
    calls.push([...keys]);
    return keys.map((k) => `v${k}`);
  }, options);
  return { loader, calls };
}

/** Lets the default tick schedule dispatch whatever is pending. */
async function dispatched(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('the batch function context', () => {
  it('receives a second argument whose signal is a live AbortSignal', async () => {
    const { loader, contexts, release } = controlled();
    const p = loader.load(1);
    await dispatched();
    expect(contexts).toHaveLength(1);
    const signal = contexts[0]!.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
    expect(contexts[0]!.signal).toBe(signal); // stable across reads
    release(0);
    await expect(p).resolves.toBe('v1');
    expect(signal.aborted).toBe(false);
  });
});

describe('load(key, { signal })', () => {
  it('rejects with the signal reason as soon as it aborts, without waiting for the batch', async () => {
    const { loader, calls, release } = controlled();
    const controller = new AbortController();
    const reason = new Error('client went away');
    const p = loader.load(1, { signal: controller.signal });
    await dispatched();
    expect(calls).toEqual([[1]]);
    controller.abort(reason);
    await expect(p).rejects.toBe(reason); // batch 0 is still in flight
    release(0);
  });

  it('aborts the batch signal once every caller waiting on a dispatched batch has aborted', async () => {
    const { loader, calls, contexts, release } = controlled();
    const a = new AbortController();
    const b = new AbortController();
    const reasonA = new Error('a left');
    const reasonB = new Error('b left');
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(2, { signal: b.signal });
    await dispatched();
    expect(calls).toEqual([[1, 2]]);
    const signal = contexts[0]!.signal;
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));

    a.abort(reasonA);
    await expect(pA).rejects.toBe(reasonA);
    expect(signal.aborted).toBe(false);

    b.abort(reasonB);
    await expect(pB).rejects.toBe(reasonB);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reasonB);
    expect(seen).toEqual([reasonB]);
    release(0);
  });

  it('aborts the batch signal even when the batch function reads it only after the abort', async () => {
    const gate = deferred<void>();
    let late: AbortSignal | undefined;
    const loader = new DataLoader<number, string>(async (keys, context) => {
      await gate.promise;
      late = context.signal;
      return keys.map((k) => `v${k}`);
    });
    const controller = new AbortController();
    const reason = new Error('gone');
    const p = loader.load(1, { signal: controller.signal });
    await dispatched();
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    gate.resolve();
    await dispatched();
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBe(reason);
  });

  it('does not abort while a caller without a signal still waits; that caller gets its value', async () => {
    const { loader, calls, contexts, release } = controlled();
    const controller = new AbortController();
    const reason = new Error('gone');
    const pA = loader.load(1, { signal: controller.signal });
    const pB = loader.load(2);
    await dispatched();
    expect(calls).toEqual([[1, 2]]);
    controller.abort(reason);
    await expect(pA).rejects.toBe(reason);
    expect(contexts[0]!.signal.aborted).toBe(false);
    release(0);
    await expect(pB).resolves.toBe('v2');
    expect(contexts[0]!.signal.aborted).toBe(false);
  });

  it('does not abort while a caller with a live signal still waits; that caller gets its value', async () => {
    const { loader, calls, contexts, release } = controlled();
    const a = new AbortController();
    const b = new AbortController();
    const reason = new Error('gone');
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(2, { signal: b.signal });
    await dispatched();
    expect(calls).toEqual([[1, 2]]);
    a.abort(reason);
    await expect(pA).rejects.toBe(reason);
    expect(contexts[0]!.signal.aborted).toBe(false);
    release(0);
    await expect(pB).resolves.toBe('v2');
    expect(contexts[0]!.signal.aborted).toBe(false);
  });

  it('never calls the batch function when every caller aborts before dispatch, and memoizes nothing', async () => {
    const { loader, calls } = instant();
    const a = new AbortController();
    const b = new AbortController();
    const reasonA = new Error('a left');
    const reasonB = new Error('b left');
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(2, { signal: b.signal });
    a.abort(reasonA);
    b.abort(reasonB);
    await expect(pA).rejects.toBe(reasonA);
    await expect(pB).rejects.toBe(reasonB);
    await dispatched();
    expect(calls).toEqual([]);

    await expect(loader.load(1)).resolves.toBe('v1');
    await expect(loader.load(2)).resolves.toBe('v2');
    expect(calls).toEqual([[1], [2]]);
  });

  it('rejects at once for an already-aborted signal, without queuing the key', async () => {
    const { loader, calls } = instant();
    const reason = new Error('already gone');
    const p1 = loader.load(1, { signal: AbortSignal.abort(reason) });
    const p2 = loader.load(2);
    await expect(p1).rejects.toBe(reason);
    await expect(p2).resolves.toBe('v2');
    expect(calls).toEqual([[2]]);
    await expect(loader.load(1)).resolves.toBe('v1');
    expect(calls).toEqual([[2], [1]]);
  });

  it('applies to each key of loadMany', async () => {
    const { loader, calls, contexts, release } = controlled();
    const controller = new AbortController();
    const reason = new Error('gone');
    const many = loader.loadMany([1, 2], { signal: controller.signal });
    await dispatched();
    expect(calls).toEqual([[1, 2]]);
    controller.abort(reason);
    await expect(many).resolves.toEqual([reason, reason]);
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(contexts[0]!.signal.reason).toBe(reason);
    release(0);
  });
});

describe('the loader-level signal option', () => {
  it('aborts the signal of an in-flight batch', async () => {
    const loaderController = new AbortController();
    const reason = new Error('request finished');
    const { loader, calls, contexts, release } = controlled({ signal: loaderController.signal });
    const p = loader.load(1);
    const settled = p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await dispatched();
    expect(calls).toEqual([[1]]);
    const signal = contexts[0]!.signal;
    expect(signal.aborted).toBe(false);
    loaderController.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    // The keys reject at once; the batch function's answer, which ignored its signal, comes too late.
    await expect(settled).resolves.toEqual({ error: reason });
    release(0);
    await dispatched();
    expect(loader.peek(1)).toBeUndefined();
  });

  it('fails a pending batch without calling the batch function', async () => {
    const loaderController = new AbortController();
    const reason = new Error('request finished');
    const { loader, calls } = instant({ signal: loaderController.signal });
    const p1 = loader.load(1);
    const p2 = loader.load(2);
    loaderController.abort(reason);
    const results = await Promise.allSettled([p1, p2]);
    expect(results).toEqual([
      { status: 'rejected', reason },
      { status: 'rejected', reason },
    ]);
    expect(calls).toEqual([]);
  });

  it('makes later loads reject, memo hits included', async () => {
    const loaderController = new AbortController();
    const reason = new Error('request finished');
    const { loader, calls } = instant({ signal: loaderController.signal });
    await expect(loader.load(1)).resolves.toBe('v1');
    loaderController.abort(reason);
    await expect(loader.load(2)).rejects.toBe(reason);
    await expect(loader.load(1)).rejects.toBe(reason);
    await expect(loader.loadMany([3])).resolves.toEqual([reason]);
    await dispatched();
    expect(calls).toEqual([[1]]);
  });
});

describe('memo hits and signals', () => {
  it('a hit with a signal counts as a waiter of the batch that owns the key', async () => {
    const { loader, calls, contexts, release } = controlled();
    const a = new AbortController();
    const b = new AbortController();
    const reasonA = new Error('a left');
    const reasonB = new Error('b left');
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(1, { signal: b.signal }); // a hit on batch 0
    await dispatched();
    expect(calls).toEqual([[1]]);

    a.abort(reasonA);
    await expect(pA).rejects.toBe(reasonA);
    expect(contexts[0]!.signal.aborted).toBe(false);

    b.abort(reasonB);
    await expect(pB).rejects.toBe(reasonB);
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(contexts[0]!.signal.reason).toBe(reasonB);
    release(0);
  });

  it('a hit with a live signal keeps the batch going and gets the value', async () => {
    const { loader, calls, contexts, release } = controlled();
    const a = new AbortController();
    const b = new AbortController();
    const reason = new Error('a left');
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(1, { signal: b.signal });
    await dispatched();
    a.abort(reason);
    await expect(pA).rejects.toBe(reason);
    release(0);
    await expect(pB).resolves.toBe('v1');
    expect(contexts[0]!.signal.aborted).toBe(false);
    expect(calls).toEqual([[1]]);
  });

  it('hits with signals that all abort before dispatch: the batch function is never called', async () => {
    const { loader, calls } = instant();
    const a = new AbortController();
    const b = new AbortController();
    const pA = loader.load(1, { signal: a.signal });
    const pB = loader.load(1, { signal: b.signal });
    a.abort(new Error('a'));
    b.abort(new Error('b'));
    await Promise.allSettled([pA, pB]);
    await dispatched();
    expect(calls).toEqual([]);
    await expect(loader.load(1)).resolves.toBe('v1');
    expect(calls).toEqual([[1]]);
  });

  /*
   * A memo hit without a signal must pin the batch that owns the key. `load(key)` with no options on
   * a loader with the default configuration takes the "plain" fast path, which returns the memoized
   * promise without pinning; `load(key, {})` takes the general path and does pin.
   */
  const withoutSignal: Array<[string, (loader: DataLoader<number, string>) => Promise<string>]> = [
    ['load(1)', (loader) => loader.load(1)],
    ['load(1, {})', (loader) => loader.load(1, {})],
  ];

  for (const [how, loadWithoutSignal] of withoutSignal) {
    it(`a hit without a signal (${how}) pins a dispatched batch: it is not aborted`, async () => {
      const { loader, calls, contexts, release } = controlled();
      const controller = new AbortController();
      const reason = new Error('a left');
      const pA = loader.load(1, { signal: controller.signal });
      const pB = loadWithoutSignal(loader);
      const settledB = pB.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await dispatched();
      expect(calls).toEqual([[1]]);
      controller.abort(reason);
      await expect(pA).rejects.toBe(reason);
      expect(contexts[0]!.signal.aborted).toBe(false);
      release(0);
      await expect(settledB).resolves.toEqual({ value: 'v1' });
    });

    it(`a hit without a signal (${how}) pins a pending batch: it is still dispatched`, async () => {
      const { loader, calls } = instant();
      const controller = new AbortController();
      const reason = new Error('a left');
      const pA = loader.load(1, { signal: controller.signal });
      const pB = loadWithoutSignal(loader);
      const settledB = pB.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      controller.abort(reason);
      await expect(pA).rejects.toBe(reason);
      await expect(settledB).resolves.toEqual({ value: 'v1' });
      expect(calls).toEqual([[1]]);
    });
  }

  it('loadMany without options pins the batch that owns a key it hits', async () => {
    const { loader, calls } = instant();
    const controller = new AbortController();
    const reason = new Error('a left');
    const pA = loader.load(1, { signal: controller.signal });
    const many = loader.loadMany([1]);
    controller.abort(reason);
    await expect(pA).rejects.toBe(reason);
    await expect(many).resolves.toEqual(['v1']);
    expect(calls).toEqual([[1]]);
  });
});

describe('loads that arrive after every earlier caller of a pending batch aborted', () => {
  /*
   * Once the last signal-carrying caller of a not-yet-dispatched batch aborts, the batch is marked
   * aborted, but it still accepts new keys and memo hits until it dispatches; at dispatch it then
   * fails them all with the earlier caller's abort reason.
   */
  it('a new key from a caller without a signal is loaded, not rejected with another caller reason', async () => {
    const { loader, calls } = instant();
    const controller = new AbortController();
    const reason = new Error('a left');
    const pA = loader.load(1, { signal: controller.signal });
    controller.abort(reason);
    const p2 = loader.load(2); // same tick: joins the batch that is still pending
    const settled2 = p2.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await expect(pA).rejects.toBe(reason);
    await expect(settled2).resolves.toEqual({ value: 'v2' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain(2);
  });

  it('a load of the aborted key itself, without a signal, gets its value', async () => {
    const { loader, calls } = instant();
    const controller = new AbortController();
    const reason = new Error('a left');
    const pA = loader.load(1, { signal: controller.signal });
    controller.abort(reason);
    const pB = loader.load(1, {}); // the general path, which pins the owning batch
    const settledB = pB.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await expect(pA).rejects.toBe(reason);
    await expect(settledB).resolves.toEqual({ value: 'v1' });
    expect(calls).toEqual([[1]]);
  });
});
