/**
 * The resilient facade's signals (src/cache/remote/resilient.ts): a store that reads them gets one per
 * call, aborted at that call's deadline; a store that says it ignores them (`ignoresSignal`) gets one
 * that never aborts, and the deadline holds for it all the same. Deadlines are real (20 ms).
 */
import { describe, expect, it } from 'vitest';
import {
  RemoteTimeoutError,
  ResilientRemote,
  resolveResilience,
} from '../../../src/cache/remote/resilient.js';
import type { RemoteStore } from '../../../src/cache/store.js';

/** A store whose getMany records its signal and answers only when `answer` is true, else hangs. */
function recordingStore(ignoresSignal?: boolean) {
  const signals: AbortSignal[] = [];
  let answer = true;
  const store: RemoteStore = {
    name: 'recording',
    ...(ignoresSignal === undefined ? {} : { ignoresSignal }),
    getMany: (keys, signal) => {
      signals.push(signal);
      return answer ? Promise.resolve(keys.map(() => null)) : new Promise(() => {});
    },
    setMany: async () => {},
    deleteMany: async () => {},
    close: async () => {},
  };
  return {
    store,
    signals,
    hang() {
      answer = false;
    },
  };
}

const facade = (store: RemoteStore) =>
  new ResilientRemote(
    store,
    resolveResilience({ timeoutMs: 20, breakerThreshold: 100 }),
    () => {},
    () => Date.now(),
  );

describe('the signals a remote store is given', () => {
  it('a store that reads them gets a new one per call, aborted with the timeout at that call deadline only', async () => {
    const { store, signals, hang } = recordingStore();
    const remote = facade(store);
    expect(await remote.read(['a'])).toEqual([null]);
    hang();
    expect(await remote.read(['b'])).toBeNull();
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(signals[1]);
    // The answered call's signal is never aborted; the hung one's is, with the deadline's error.
    expect(signals[0]!.aborted).toBe(false);
    expect(signals[1]!.aborted).toBe(true);
    expect(signals[1]!.reason).toBeInstanceOf(RemoteTimeoutError);
    expect(remote.stats()).toMatchObject({ calls: 2, timeouts: 1, failures: 1 });
  });

  it.each([false, undefined])('ignoresSignal %s counts as reading them', async (ignoresSignal) => {
    const { store, signals } = recordingStore(ignoresSignal);
    const remote = facade(store);
    await remote.read(['a']);
    await remote.read(['a']);
    expect(signals[0]).not.toBe(signals[1]);
  });

  it('a store with ignoresSignal gets one signal that never aborts, and its deadline holds all the same', async () => {
    const { store, signals, hang } = recordingStore(true);
    const remote = facade(store);
    expect(await remote.read(['a'])).toEqual([null]);
    hang();
    expect(await remote.read(['b'])).toBeNull();
    expect(await remote.read(['c'])).toBeNull();
    expect(signals).toHaveLength(3);
    expect(new Set(signals).size).toBe(1);
    expect(signals[0]!.aborted).toBe(false);
    expect(remote.stats()).toMatchObject({ calls: 3, timeouts: 2, failures: 2, abandoned: 2 });
  });
});
