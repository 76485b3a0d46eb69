/**
 * Distributed single-flight (`shared.lock`, src/cache/remote/flights.ts) over the test remote store: two
 * instances (definitions, each its own in-process tier) missing the same keys load them once; waiters
 * take the value when it lands, load it themselves when the holder's lock goes without a value, or
 * after waitMs; a failing lock call loads here (fail open). Exact source calls and lock counts.
 */
import { describe, expect, it } from 'vitest';
import { defineLoaders, type RemoteStore } from '../../../src/index.js';
import { createTestRemoteStore } from '../../../src/testing/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Held {
  readonly keys: number[];
  resolve(): void;
  reject(error: Error): void;
}

function instance(remote: RemoteStore, options: { hold?: boolean; waitMs?: number } = {}) {
  const calls: Held[] = [];
  const create = defineLoaders(
    {
      users: {
        batch: (ids: readonly number[]) =>
          new Promise<Array<{ id: number }>>((resolve, reject) => {
            const call: Held = {
              keys: [...ids],
              resolve: () => resolve(ids.map((id) => ({ id }))),
              reject,
            };
            calls.push(call);
            if (!options.hold) call.resolve();
          }),
        shared: {
          scope: 'global',
          ttl: 60_000,
          lock: { ttlMs: 5_000, waitMs: options.waitMs ?? 2_000, pollMs: 5 },
        },
      },
    },
    { remote, onError: () => {}, remoteOptions: { timeoutMs: 200 } },
  );
  const load = (ids: number[]) => {
    const loaders = create({});
    return Promise.all(ids.map((id) => loaders.users.load(id)));
  };
  return { create, calls, load, locks: () => create.stats().remote!.locks };
}

describe('shared.lock: distributed single-flight', () => {
  it('two instances missing the same keys: one source call; the other takes the values when they land', async () => {
    const remote = createTestRemoteStore();
    const a = instance(remote, { hold: true });
    const b = instance(remote);
    const onA = a.load([1, 2, 3]);
    await sleep(5); // A holds the locks, its source is open
    const onB = b.load([1, 2, 3, 4]);
    await sleep(30); // B polls
    expect(b.calls.map((c) => c.keys)).toEqual([[4]]); // only the key nobody held
    a.calls[0]!.resolve();
    expect(await onA).toEqual([1, 2, 3].map((id) => ({ id })));
    expect(await onB).toEqual([1, 2, 3, 4].map((id) => ({ id })));
    expect(a.calls.map((c) => c.keys)).toEqual([[1, 2, 3]]);
    expect(b.calls.map((c) => c.keys)).toEqual([[4]]);
    expect(a.locks()).toMatchObject({ taken: 3, waited: 0 });
    expect(b.locks()).toMatchObject({ taken: 1, waited: 3, landed: 3, timedOut: 0 });
    expect(b.create.stats().loaders.users).toMatchObject({ remoteHits: 3, sourceCalls: 1 });
    // The locks are gone once A's write-back landed.
    await sleep(5);
    expect(remote.size()).toBe(5); // 4 entries and the scope's generation token
  });

  it("the holder's source fails: its locks go at once, and the waiter loads the keys itself", async () => {
    const remote = createTestRemoteStore();
    const a = instance(remote, { hold: true });
    const b = instance(remote);
    const onA = a.load([1]).catch((error: unknown) => error);
    await sleep(5);
    const started = performance.now();
    const onB = b.load([1]);
    await sleep(20);
    a.calls[0]!.reject(new Error('database down'));
    expect(await onA).toBeInstanceOf(Error);
    expect(await onB).toEqual([{ id: 1 }]);
    expect(performance.now() - started).toBeLessThan(1_000); // well before waitMs (2 s)
    expect(b.calls.map((c) => c.keys)).toEqual([[1]]);
    expect(b.locks()).toMatchObject({ waited: 1, landed: 0, timedOut: 0 });
  });

  it('a holder that never answers: the waiter loads the key itself after waitMs', async () => {
    const remote = createTestRemoteStore();
    const a = instance(remote, { hold: true });
    const b = instance(remote, { waitMs: 100 });
    void a.load([1]);
    await sleep(5);
    const started = performance.now();
    expect(await b.load([1])).toEqual([{ id: 1 }]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(b.locks()).toMatchObject({ waited: 1, landed: 0, timedOut: 1 });
    a.calls[0]!.resolve();
  });

  it('fails open: when the lock call fails, the batch loads its keys itself', async () => {
    const inner = createTestRemoteStore();
    const remote: RemoteStore = {
      ...inner,
      locks: {
        acquire: () => Promise.reject(new Error('locks down')),
        release: inner.locks.release,
      },
    };
    const a = instance(remote);
    expect(await a.load([1, 2])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(a.calls.map((c) => c.keys)).toEqual([[1, 2]]);
    expect(a.create.stats().remote).toMatchObject({ failures: 1, locks: { taken: 0, waited: 0 } });
  });

  it('is refused without a remote store that has locks, and checked like the other options', () => {
    const define = (lock: unknown, remote?: RemoteStore) => () =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
            shared: { scope: 'global', ttl: 1000, lock: lock as never },
          },
        },
        remote === undefined ? {} : { remote },
      );
    expect(define(true)).toThrow(
      'Loader "users": shared.lock needs a remote store with locks (such as createRedisStore of loaderkit/redis), but there is no remote store.',
    );
    const { locks: _, ...withoutLocks } = createTestRemoteStore();
    expect(define(true, withoutLocks as RemoteStore)).toThrow('the remote store "test-remote" has none');
    expect(define({ waitMs: 0 }, createTestRemoteStore())).toThrow(
      'Loader "users": shared.lock.waitMs must be a whole number of milliseconds >= 1, but got: 0.',
    );
    expect(define({ wait: 1 }, createTestRemoteStore())).toThrow(
      'Loader "users": unknown shared.lock option "wait"; valid: ttlMs, waitMs, pollMs.',
    );
    expect(define('yes', createTestRemoteStore())).toThrow('shared.lock must be true, false or an object');
    expect(define(false)).not.toThrow();
  });
});
