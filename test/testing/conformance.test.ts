import { describe, expect, it } from 'vitest';
import type { LocalEntry, LocalStore, RemoteStore, StoreStats } from '../../src/cache/store.js';
import { createMemoryStore } from '../../src/cache/stores/memory.js';
import {
  type ConformanceCase,
  ConformanceError,
  chaosRemoteStore,
  createTestRemoteStore,
  type LocalStoreFactoryOptions,
  localStoreConformance,
  remoteStoreConformance,
} from '../../src/testing/index.js';

/**
 * A reference local store: a Map of spaces of Maps of keys (so keys compare by SameValueZero), with a
 * least-recently-used order kept as the insertion order of one Map (a read re-inserts).
 */
function referenceLocalStore(options: LocalStoreFactoryOptions): LocalStore {
  interface Slot {
    readonly entry: LocalEntry;
    readonly expiresAt: number;
  }
  const spaces = new Map<string, Map<unknown, Slot>>();
  const order = new Map<Slot, true>();
  let bytes = 0;
  let evictions = 0;

  function drop(slot: Slot): void {
    spaces.get(slot.entry.space)?.delete(slot.entry.key);
    if (spaces.get(slot.entry.space)?.size === 0) spaces.delete(slot.entry.space);
    order.delete(slot);
    bytes -= slot.entry.bytes;
  }

  const store: LocalStore = {
    name: 'reference',
    get(space, key) {
      const slot = spaces.get(space)?.get(key);
      if (slot === undefined) return undefined;
      if (options.now() >= slot.expiresAt) {
        drop(slot);
        return undefined;
      }
      order.delete(slot);
      order.set(slot, true);
      return slot.entry;
    },
    set(entry, ttlMs) {
      const old = spaces.get(entry.space)?.get(entry.key);
      if (old !== undefined) drop(old);
      if (options.maxBytes !== undefined && entry.bytes > options.maxBytes) return;
      const slot: Slot = { entry, expiresAt: options.now() + ttlMs };
      let space = spaces.get(entry.space);
      if (space === undefined) {
        space = new Map();
        spaces.set(entry.space, space);
      }
      space.set(entry.key, slot);
      order.set(slot, true);
      bytes += entry.bytes;
      while (
        order.size > options.maxEntries ||
        (options.maxBytes !== undefined && bytes > options.maxBytes)
      ) {
        const [oldest] = order.keys();
        drop(oldest!);
        evictions++;
      }
    },
    delete(space, key) {
      const slot = spaces.get(space)?.get(key);
      if (slot !== undefined) drop(slot);
    },
    deleteSpaces(prefix) {
      let count = 0;
      for (const [space, slots] of [...spaces]) {
        if (!space.startsWith(prefix)) continue;
        for (const slot of [...slots.values()]) {
          drop(slot);
          count++;
        }
      }
      return count;
    },
    stats(): StoreStats {
      return { entries: order.size, bytes, evictions };
    },
    close() {
      spaces.clear();
      order.clear();
      bytes = 0;
    },
  };
  return store;
}

function runAll(cases: ConformanceCase[]): void {
  for (const c of cases) it(c.name, c.run);
}

/** The case of `cases` whose name contains `part` (exactly one). */
function caseNamed(cases: ConformanceCase[], part: string): ConformanceCase {
  const found = cases.filter((c) => c.name.includes(part));
  expect(found, `one case named like ${part}`).toHaveLength(1);
  return found[0]!;
}

describe('remoteStoreConformance: createTestRemoteStore', () => {
  runAll(remoteStoreConformance(() => createTestRemoteStore()));
});

describe('remoteStoreConformance: createTestRemoteStore on a manual clock (no real waiting)', () => {
  let time = 1_700_000_000_000;
  runAll(
    remoteStoreConformance(() => createTestRemoteStore({ now: () => time }), {
      sleep: async (ms) => {
        time += ms;
      },
    }),
  );
});

describe('remoteStoreConformance: chaosRemoteStore with chaos off', () => {
  runAll(remoteStoreConformance(() => chaosRemoteStore(createTestRemoteStore()).store));
});

describe('remoteStoreConformance: an async factory', () => {
  runAll(remoteStoreConformance(async () => createTestRemoteStore()).slice(0, 3));
});

describe('localStoreConformance: the reference local store', () => {
  runAll(localStoreConformance(referenceLocalStore));
});

describe('the suites fail broken stores, with a clear message', () => {
  it('every case has a distinct name', () => {
    for (const cases of [
      remoteStoreConformance(createTestRemoteStore),
      localStoreConformance(referenceLocalStore),
    ]) {
      const names = cases.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('a remote store whose getMany lies about its shape fails', async () => {
    for (const kind of ['null', 'not-array', 'short', 'long', 'numbers', 'undefined'] as const) {
      const cases = remoteStoreConformance(() => {
        const chaos = chaosRemoteStore(createTestRemoteStore());
        chaos.answer(kind);
        return chaos.store;
      });
      const run = caseNamed(cases, 'aligned with its keys, including duplicates').run();
      await expect(run, kind).rejects.toThrow(ConformanceError);
      await expect(run, kind).rejects.toThrow(/getMany must answer/);
    }
  });

  it('a remote store that answers another key or garbage fails', async () => {
    for (const kind of ['other-key', 'garbage'] as const) {
      const cases = remoteStoreConformance(() => {
        const chaos = chaosRemoteStore(createTestRemoteStore());
        chaos.answer(kind);
        return chaos.store;
      });
      await expect(caseNamed(cases, 'setMany then getMany').run(), kind).rejects.toThrow(/at 0 expected/);
    }
  });

  it('a remote store that never expires fails the ttl cases', async () => {
    const cases = remoteStoreConformance(() => createTestRemoteStore({ now: () => 0 }), {
      ttlMs: 5,
      waitMs: 10,
    });
    await expect(caseNamed(cases, 'gone after its ttlMs').run()).rejects.toThrow(
      /at 0 expected null, got "short-lived"/,
    );
    await expect(caseNamed(cases, 'overwrite replaces').run()).rejects.toThrow(/at 1 expected null/);
  });

  it('a remote store whose calls hang fails with a timeout, not a hung test', async () => {
    const cases = remoteStoreConformance(
      () => {
        const chaos = chaosRemoteStore(createTestRemoteStore());
        chaos.hangIgnoringSignal('getMany');
        return chaos.store;
      },
      { callTimeoutMs: 20 },
    );
    await expect(caseNamed(cases, 'empty arrays').run()).rejects.toThrow(
      'getMany did not settle within 20 ms',
    );
  });

  it('a remote store that throws synchronously on an aborted signal fails', async () => {
    const cases = remoteStoreConformance(() => {
      const inner = createTestRemoteStore();
      const store: RemoteStore = {
        name: 'sync-thrower',
        getMany: (keys, signal) => {
          signal.throwIfAborted();
          return inner.getMany(keys, signal);
        },
        setMany: (writes, signal) => inner.setMany(writes, signal),
        deleteMany: (keys, signal) => inner.deleteMany(keys, signal),
        close: () => inner.close(),
      };
      return store;
    });
    await expect(caseNamed(cases, 'aborted signal').run()).rejects.toThrow(
      /must return a promise, but threw synchronously/,
    );
  });

  it('a remote store that answers wrongly after ignoring an aborted signal fails', async () => {
    const cases = remoteStoreConformance(() => {
      const inner = createTestRemoteStore();
      const store: RemoteStore = {
        name: 'abort-liar',
        getMany: (keys, signal) =>
          signal.aborted ? Promise.resolve(keys.map(() => null)) : inner.getMany(keys, signal),
        setMany: (writes, signal) => inner.setMany(writes, signal),
        deleteMany: (keys, signal) => inner.deleteMany(keys, signal),
        close: () => inner.close(),
      };
      return store;
    });
    await expect(caseNamed(cases, 'aborted signal').run()).rejects.toThrow(
      /ignored its aborted signal must answer correctly/,
    );
  });

  it('a remote store that says it ignores signals but rejects on an aborted one fails', async () => {
    const cases = remoteStoreConformance(() => {
      const inner = createTestRemoteStore();
      const store: RemoteStore = {
        name: 'abort-reader',
        ignoresSignal: true,
        getMany: async (keys, signal) => {
          signal.throwIfAborted();
          return inner.getMany(keys, signal);
        },
        setMany: (writes, signal) => inner.setMany(writes, signal),
        deleteMany: (keys, signal) => inner.deleteMany(keys, signal),
        close: () => inner.close(),
      };
      return store;
    });
    await expect(caseNamed(cases, 'aborted signal').run()).rejects.toThrow(
      /ignoresSignal: true must ignore signals, but getMany with an aborted one failed/,
    );
  });

  it('a remote store that mixes concurrent writes fails', async () => {
    const cases = remoteStoreConformance(() => {
      const inner = createTestRemoteStore();
      let last = '';
      const store: RemoteStore = {
        name: 'mixer',
        getMany: (keys, signal) => inner.getMany(keys, signal),
        setMany: (writes, signal) => {
          const mixed = writes.map((w) => ({ ...w, value: last.slice(0, 10) + w.value.slice(10) }));
          last = writes[0]?.value ?? last;
          return inner.setMany(mixed, signal);
        },
        deleteMany: (keys, signal) => inner.deleteMany(keys, signal),
        close: () => inner.close(),
      };
      return store;
    });
    await expect(caseNamed(cases, 'concurrent writes').run()).rejects.toThrow(/a value nobody wrote/);
  });

  it('a remote store whose close is not idempotent fails', async () => {
    const cases = remoteStoreConformance(() => {
      const inner = createTestRemoteStore();
      let closed = false;
      return {
        ...inner,
        getMany: inner.getMany,
        close: async () => {
          if (closed) throw new Error('already closed');
          closed = true;
        },
      };
    });
    await expect(caseNamed(cases, 'close() resolves').run()).rejects.toThrow('already closed');
  });

  it('a local store keyed by joined "space:key" strings fails the key and space cases', async () => {
    const cases = localStoreConformance((options) => {
      const inner = referenceLocalStore(options);
      const joined = (space: string, key: unknown) => `${space}:${String(key)}`;
      return {
        ...inner,
        get: (space, key) => inner.get('', joined(space, key)),
        set: (entry, ttlMs) => inner.set({ ...entry, space: '', key: joined(entry.space, entry.key) }, ttlMs),
        delete: (space, key) => inner.delete('', joined(space, key)),
      };
    });
    await expect(caseNamed(cases, 'scalar keys of every type').run()).rejects.toThrow(ConformanceError);
    await expect(caseNamed(cases, 'same key in two spaces').run()).rejects.toThrow(ConformanceError);
  });

  it('a local store that ignores ttl, maxEntries or maxBytes fails', async () => {
    // A frozen clock (so nothing expires) and no bounds.
    const unbounded = localStoreConformance(() =>
      referenceLocalStore({ now: () => 0, maxEntries: Number.POSITIVE_INFINITY }),
    );
    await expect(caseNamed(unbounded, 'gone after its ttlMs').run()).rejects.toThrow(
      /must be gone 1 ms after its ttl/,
    );
    await expect(caseNamed(unbounded, 'maxEntries holds').run()).rejects.toThrow(
      /with maxEntries 3, 4 entries/,
    );
    await expect(caseNamed(unbounded, 'maxBytes holds').run()).rejects.toThrow(
      /with maxBytes 100, the returned entries hold 120/,
    );
  });

  it('a local store that returns an entry it evicted fails', async () => {
    const cases = localStoreConformance((options) => {
      const inner = referenceLocalStore(options);
      const everything = new Map<string, LocalEntry>();
      return {
        ...inner,
        get: (space, key) => inner.get(space, key) ?? everything.get(`${space}\u0000${String(key)}`),
        set: (entry, ttlMs) => {
          everything.set(`${entry.space}\u0000${String(entry.key)}`, entry);
          inner.set(entry, ttlMs);
        },
      };
    });
    await expect(caseNamed(cases, 'read just before an eviction').run()).rejects.toThrow(
      /evicted, then returned again|entries are returned/,
    );
  });

  it('a local store whose deleteSpaces miscounts, or whose stats miscount evictions, fails', async () => {
    const miscount = localStoreConformance((options) => {
      const inner = referenceLocalStore(options);
      return {
        ...inner,
        deleteSpaces: (prefix) => {
          inner.deleteSpaces(prefix);
          return 0;
        },
      };
    });
    await expect(caseNamed(miscount, 'deleteSpaces(prefix)').run()).rejects.toThrow(
      "deleteSpaces('user:v1:') must return 4",
    );
    const noEvictions = localStoreConformance((options) => {
      const inner = referenceLocalStore(options);
      return { ...inner, stats: () => ({ ...inner.stats(), evictions: 0 }) };
    });
    await expect(caseNamed(noEvictions, 'stats() counts').run()).rejects.toThrow('must count 1 eviction');
  });

  it('a local store whose close keeps entries fails', async () => {
    const cases = localStoreConformance((options) => ({ ...referenceLocalStore(options), close() {} }));
    await expect(caseNamed(cases, 'close() drops').run()).rejects.toThrow('must be gone after close()');
  });

  it('a local store that copies values fails (a hit hands out the shared value itself)', async () => {
    const cases = localStoreConformance((options) => {
      const inner = referenceLocalStore(options);
      return {
        ...inner,
        get: (space, key) => {
          const found = inner.get(space, key);
          return found && { ...found, value: structuredClone(found.value) };
        },
      };
    });
    await expect(caseNamed(cases, 'set then get returns').run()).rejects.toThrow(
      /expected the value .* itself/,
    );
  });

  it('the local byte cases can be left out for a store without a byte bound', () => {
    const names = localStoreConformance(referenceLocalStore, { bytes: false }).map((c) => c.name);
    expect(names.some((name) => name.includes('maxBytes'))).toBe(false);
    expect(localStoreConformance(referenceLocalStore).some((c) => c.name.includes('maxBytes'))).toBe(true);
  });
});

describe('createTestRemoteStore', () => {
  const live = () => new AbortController().signal;

  it('keeps each value for its ttlMs on the given clock, checked on read', async () => {
    let time = 1_000;
    const store = createTestRemoteStore({ now: () => time });
    await store.setMany(
      [
        { key: 'a', value: 'A', ttlMs: 10 },
        { key: 'b', value: 'B', ttlMs: 20 },
      ],
      live(),
    );
    expect(store.size()).toBe(2);
    time += 9;
    expect(await store.getMany(['a', 'b'], live())).toEqual(['A', 'B']);
    time += 1;
    expect(await store.getMany(['a', 'b'], live())).toEqual([null, 'B']);
    expect(store.size()).toBe(1);
    time += 10;
    expect(store.size()).toBe(0);
  });

  it('counts the commands it executed and the keys they touched', async () => {
    const store = createTestRemoteStore();
    await store.setMany([{ key: 'a', value: 'A', ttlMs: 1_000 }], live());
    await store.getMany(['a', 'b', 'a'], live());
    await store.getMany([], live());
    await store.deleteMany(['a', 'zz'], live());
    expect(await store.locks.acquire(['l', 'a'], 't', 1_000, live())).toEqual([true, true]);
    expect(await store.locks.acquire(['l'], 'u', 1_000, live())).toEqual([false]);
    await store.locks.release(['l'], 'u', live()); // not u's: stays
    expect(await store.getMany(['l'], live())).toEqual(['t']);
    await store.locks.release(['l'], 't', live());
    expect(await store.getMany(['l'], live())).toEqual([null]);
    expect(store.commands).toEqual({
      getMany: 4,
      setMany: 1,
      deleteMany: 1,
      locks: 4,
      keysRead: 5,
      keysWritten: 1,
      keysDeleted: 2,
    });
    await expect(store.getMany(['a'], AbortSignal.abort())).rejects.toThrow();
    expect(store.commands.getMany).toBe(4); // refused calls are not executed
    store.resetCommands();
    expect(store.commands).toEqual({
      getMany: 0,
      setMany: 0,
      deleteMany: 0,
      locks: 0,
      keysRead: 0,
      keysWritten: 0,
      keysDeleted: 0,
    });
  });

  it('answers asynchronously, never in the calling tick', async () => {
    const store = createTestRemoteStore();
    let settled = false;
    const write = store.setMany([{ key: 'a', value: 'A', ttlMs: 1_000 }], live()).then(() => {
      settled = true;
    });
    expect(settled).toBe(false);
    expect(store.commands.setMany).toBe(0); // the work itself happens after the call returns
    await write;
    expect(settled).toBe(true);
    const read = store.getMany(['a'], live());
    expect(read).toBeInstanceOf(Promise);
    expect(await read).toEqual(['A']);
  });

  it("rejects with the signal's reason when it is aborted at the call, or before the work happens", async () => {
    const store = createTestRemoteStore();
    const reason = new Error('deadline');
    await expect(store.getMany(['a'], AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(
      store.setMany([{ key: 'a', value: 'A', ttlMs: 1_000 }], AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
    await expect(store.deleteMany(['a'], AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const write = store.setMany([{ key: 'a', value: 'A', ttlMs: 1_000 }], controller.signal);
    controller.abort(reason);
    await expect(write).rejects.toBe(reason);
    expect(await store.getMany(['a'], live())).toEqual([null]);
  });

  it('rejects malformed arguments, writing nothing', async () => {
    const store = createTestRemoteStore();
    await expect(store.setMany([{ key: 'a', value: 'A', ttlMs: 0 }], live())).rejects.toThrow(RangeError);
    await expect(store.setMany([{ key: 'a', value: 'A', ttlMs: 1.5 }], live())).rejects.toThrow(RangeError);
    await expect(
      store.setMany(
        [
          { key: 'ok', value: 'fine', ttlMs: 10 },
          { key: 'a', value: { not: 'a string' } as unknown as string, ttlMs: 10 },
        ],
        live(),
      ),
    ).rejects.toThrow(TypeError);
    await expect(store.getMany([1 as unknown as string], live())).rejects.toThrow(TypeError);
    expect(store.size()).toBe(0);
  });

  it('close() drops everything, is idempotent, and later calls reject', async () => {
    const store = createTestRemoteStore({ name: 'mine' });
    expect(store.name).toBe('mine');
    await store.setMany([{ key: 'a', value: 'A', ttlMs: 1_000 }], live());
    await store.close();
    await store.close();
    expect(store.closed).toBe(true);
    expect(store.size()).toBe(0);
    await expect(store.getMany(['a'], live())).rejects.toThrow('getMany after close()');
  });
});

describe('the memory store meets the local store conformance suite', () => {
  for (const c of localStoreConformance(({ now, maxEntries, maxBytes }) =>
    createMemoryStore({ now, maxEntries, ...(maxBytes === undefined ? {} : { maxBytes }) }),
  ))
    it(c.name, c.run);
});
