import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RemoteStore } from '../../src/cache/store.js';
import {
  CHAOS_ANSWERS,
  ChaosError,
  chaosRemoteStore,
  createTestRemoteStore,
  type TestRemoteStore,
} from '../../src/testing/index.js';

const live = () => new AbortController().signal;

/** Lets pending microtasks run (the test store answers one microtask after a call). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

type State = 'pending' | 'resolved' | 'rejected';

/** Tracks how a promise settled, without leaving a rejection unhandled. */
function watch(promise: Promise<unknown>): { readonly state: State; readonly value: unknown } {
  const seen: { state: State; value: unknown } = { state: 'pending', value: undefined };
  promise.then(
    (value) => {
      seen.state = 'resolved';
      seen.value = value;
    },
    (error: unknown) => {
      seen.state = 'rejected';
      seen.value = error;
    },
  );
  return seen;
}

/** A chaos store over a test store holding a = 'A', b = 'B', c = 'C'. */
async function seeded() {
  const inner = createTestRemoteStore();
  await inner.setMany(
    [
      { key: 'a', value: 'A', ttlMs: 60_000 },
      { key: 'b', value: 'B', ttlMs: 60_000 },
      { key: 'c', value: 'C', ttlMs: 60_000 },
    ],
    live(),
  );
  inner.resetCommands();
  return { inner, ...chaosRemoteStore(inner) };
}

/** The check the shared tier makes of a read: an array of the keys' length, of strings or null. */
function wellFormed(answer: unknown, keys: readonly string[]): boolean {
  return (
    Array.isArray(answer) &&
    answer.length === keys.length &&
    answer.every((value) => typeof value === 'string' || value === null)
  );
}

afterEach(() => {
  vi.useRealTimers();
});

describe('chaos off', () => {
  it('passes every call through, counts calls, and leaves nothing pending', async () => {
    const { store, calls, pending, inner } = await seeded();
    expect(store.name).toBe(inner.name);
    expect(await store.getMany(['a', 'x', 'b'], live())).toEqual(['A', null, 'B']);
    await store.setMany([{ key: 'x', value: 'X', ttlMs: 1_000 }], live());
    await store.deleteMany(['a'], live());
    expect(await store.getMany(['a', 'x'], live())).toEqual([null, 'X']);
    await store.close();
    expect(calls).toEqual({ getMany: 2, setMany: 1, deleteMany: 1, close: 1 });
    expect(inner.commands.getMany).toBe(2);
    expect(pending()).toBe(0);
  });

  it('passes rejections and the signal through', async () => {
    const { store } = await seeded();
    const reason = new Error('gone');
    await expect(store.getMany(['a'], AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('counts calls started and not settled in pending()', async () => {
    const { store, pending } = await seeded();
    const read = store.getMany(['a'], live());
    expect(pending()).toBe(1);
    await read;
    expect(pending()).toBe(0);
  });

  it('takes a name, and resets its call counters', async () => {
    const chaos = chaosRemoteStore(createTestRemoteStore(), { name: 'flaky' });
    expect(chaos.store.name).toBe('flaky');
    await chaos.store.getMany([], live());
    chaos.resetCalls();
    expect(chaos.calls).toEqual({ getMany: 0, setMany: 0, deleteMany: 0, close: 0 });
  });
});

describe('delay', () => {
  it('waits before calling the inner store (a write lands late)', async () => {
    vi.useFakeTimers();
    const { store, delay, inner } = await seeded();
    delay(50);
    const write = watch(store.setMany([{ key: 'late', value: 'L', ttlMs: 60_000 }], live()));
    await vi.advanceTimersByTimeAsync(49);
    expect(write.state).toBe('pending');
    expect(inner.commands.setMany).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(write.state).toBe('resolved');
    expect(await inner.getMany(['late'], live())).toEqual(['L']);
  });

  it("honours the signal: an abort during the delay rejects with its reason, and the inner store isn't called", async () => {
    vi.useFakeTimers();
    const { store, delay, inner, pending } = await seeded();
    delay(1_000);
    const controller = new AbortController();
    const read = watch(store.getMany(['a'], controller.signal));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('deadline');
    controller.abort(reason);
    await flush();
    expect(read).toEqual({ state: 'rejected', value: reason });
    expect(pending()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(inner.commands.getMany).toBe(0);
    await expect(store.getMany(['a'], AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('with ignoreSignal, waits the whole delay and then calls the inner store with the aborted signal', async () => {
    vi.useFakeTimers();
    const seen: AbortSignal[] = [];
    const inner: RemoteStore = {
      name: 'spy',
      getMany: async (keys, signal) => {
        seen.push(signal);
        return keys.map(() => 'v');
      },
      setMany: async () => {},
      deleteMany: async () => {},
      close: async () => {},
    };
    const { store, delay } = chaosRemoteStore(inner);
    delay(100, { ignoreSignal: true });
    const controller = new AbortController();
    const read = watch(store.getMany(['a'], controller.signal));
    controller.abort();
    await vi.advanceTimersByTimeAsync(99);
    expect(read.state).toBe('pending');
    expect(seen).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(read).toEqual({ state: 'resolved', value: ['v'] });
    expect(seen).toEqual([controller.signal]);
    expect(seen[0]!.aborted).toBe(true);
  });

  it('applies only to the methods named', async () => {
    vi.useFakeTimers();
    const { store, delay } = await seeded();
    delay(100, 'setMany');
    const read = watch(store.getMany(['a'], live()));
    const write = watch(store.setMany([], live()));
    await flush();
    expect(read.state).toBe('resolved');
    expect(write.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(100);
    expect(write.state).toBe('resolved');
  });

  it('refuses a negative or infinite delay', () => {
    const { delay } = chaosRemoteStore(createTestRemoteStore());
    expect(() => delay(-1)).toThrow(RangeError);
    expect(() => delay(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => delay(Number.NaN)).toThrow(RangeError);
  });
});

describe('hang', () => {
  it('never settles until the signal aborts, then rejects with its reason; the inner store is never called', async () => {
    vi.useFakeTimers();
    const { store, hang, pending, inner } = await seeded();
    hang();
    const controller = new AbortController();
    const read = watch(store.getMany(['a'], controller.signal));
    const write = watch(store.setMany([{ key: 'h', value: 'H', ttlMs: 1_000 }], controller.signal));
    const gone = watch(store.deleteMany(['a'], live()));
    await vi.advanceTimersByTimeAsync(24 * 60 * 60 * 1000);
    expect([read.state, write.state, gone.state]).toEqual(['pending', 'pending', 'pending']);
    expect(pending()).toBe(3);
    const reason = new Error('deadline');
    controller.abort(reason);
    await flush();
    expect(read).toEqual({ state: 'rejected', value: reason });
    expect(write).toEqual({ state: 'rejected', value: reason });
    expect(gone.state).toBe('pending');
    expect(pending()).toBe(1);
    expect(inner.commands).toMatchObject({ getMany: 0, setMany: 0, deleteMany: 0 });
  });

  it('rejects right away when the signal already aborted', async () => {
    const { store, hang } = await seeded();
    hang('getMany');
    const reason = new Error('already');
    await expect(store.getMany(['a'], AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('hangIgnoringSignal never settles at all: whoever waits must give up by its own deadline', async () => {
    const { store, hangIgnoringSignal, pending, heal } = await seeded();
    hangIgnoringSignal('getMany');
    const controller = new AbortController();
    const read = watch(store.getMany(['a'], controller.signal));
    controller.abort(new Error('deadline'));
    heal();
    const outcome = await Promise.race([
      store.getMany(['a'], live()).then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('gave up'), 20)),
    ]);
    expect(outcome).toBe('answered'); // healed: a new call answers
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read.state).toBe('pending'); // healing does not release a hung call
    expect(pending()).toBe(1);
    hangIgnoringSignal();
    const raced = await Promise.race([
      store.getMany(['a'], AbortSignal.abort()).then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((resolve) => setTimeout(() => resolve('gave up'), 20)),
    ]);
    expect(raced).toBe('gave up');
    expect(pending()).toBe(2);
  });
});

describe('fail and throwSync', () => {
  it('fail rejects with a ChaosError naming the method, without calling the inner store', async () => {
    const { store, fail, inner } = await seeded();
    fail();
    const error = await store
      .setMany([{ key: 'f', value: 'F', ttlMs: 1_000 }], live())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChaosError);
    expect(error).toMatchObject({ method: 'setMany', message: 'chaos: setMany failed' });
    await expect(store.getMany(['a'], live())).rejects.toThrow('chaos: getMany failed');
    await expect(store.deleteMany(['a'], live())).rejects.toThrow(ChaosError);
    expect(inner.commands).toMatchObject({ getMany: 0, setMany: 0, deleteMany: 0 });
    expect(await inner.getMany(['f', 'a'], live())).toEqual([null, 'A']);
  });

  it('fail takes an error, or a function of the method making one', async () => {
    const { store, fail } = await seeded();
    const boom = new Error('ECONNRESET');
    fail('getMany', boom);
    await expect(store.getMany(['a'], live())).rejects.toBe(boom);
    fail(['setMany'], (method: string) => new TypeError(`bad ${method}`));
    await expect(store.setMany([], live())).rejects.toThrow(new TypeError('bad setMany'));
    await expect(store.getMany(['a'], live())).rejects.toBe(boom); // getMany's mode stays
  });

  it('throwSync throws synchronously instead of returning a promise, and nothing is pending', async () => {
    const { store, throwSync, pending } = await seeded();
    throwSync(['getMany', 'deleteMany']);
    expect(() => store.getMany(['a'], live())).toThrow(ChaosError);
    expect(() => store.deleteMany(['a'], live())).toThrow('chaos: deleteMany threw');
    await expect(store.setMany([], live())).resolves.toBe(0);
    const custom = new Error('sync');
    throwSync('setMany', custom);
    expect(() => store.setMany([], live())).toThrow(custom);
    expect(pending()).toBe(0);
  });
});

describe('answer: a lying getMany', () => {
  const keys = ['a', 'b', 'c', 'absent'];
  const truth = ['A', 'B', 'C', null];

  it("'null' and 'undefined' resolve null and undefined", async () => {
    const { store, answer } = await seeded();
    answer('null');
    expect(await store.getMany(keys, live())).toBeNull();
    answer('undefined');
    expect(await store.getMany(keys, live())).toBeUndefined();
  });

  it("'not-array' resolves an array-like object holding the true answer", async () => {
    const { store, answer } = await seeded();
    answer('not-array');
    const got = (await store.getMany(keys, live())) as unknown as Record<string, unknown>;
    expect(Array.isArray(got)).toBe(false);
    expect(got).toEqual({ length: 4, 0: 'A', 1: 'B', 2: 'C', 3: null });
  });

  it("'short' has one element fewer and 'long' one more (a null)", async () => {
    const { store, answer } = await seeded();
    answer('short');
    const short = await store.getMany(keys, live());
    expect(short).toHaveLength(keys.length - 1);
    expect(short).toEqual(truth.slice(0, -1));
    expect(await store.getMany([], live())).toEqual([]);
    answer('long');
    const long = await store.getMany(keys, live());
    expect(long).toHaveLength(keys.length + 1);
    expect(long).toEqual([...truth, null]);
  });

  it("'numbers' answers numbers instead of strings or null", async () => {
    const { store, answer } = await seeded();
    answer('numbers');
    const got = await store.getMany(keys, live());
    expect(got).toHaveLength(keys.length);
    for (const value of got) expect(typeof value).toBe('number');
  });

  it("'garbage' answers a random string for every key, absent ones included", async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return (seed - 1) / 2_147_483_646;
    };
    const inner = createTestRemoteStore();
    await inner.setMany([{ key: 'a', value: 'A', ttlMs: 60_000 }], live());
    const { store, answer } = chaosRemoteStore(inner, { random });
    answer('garbage');
    const first = await store.getMany(['a', 'absent'], live());
    const second = await store.getMany(['a', 'absent'], live());
    for (const got of [first, second]) {
      expect(wellFormed(got, ['a', 'absent'])).toBe(true); // a shape check cannot tell: a codec must
      for (const value of got) {
        expect(typeof value).toBe('string');
        expect(value).not.toBe('A');
        expect((value as string).length).toBeGreaterThan(0);
      }
    }
    expect(second).not.toEqual(first);
  });

  it("'other-key' answers each key with the next key's value, rotating", async () => {
    const { store, answer } = await seeded();
    answer('other-key');
    const got = await store.getMany(keys, live());
    expect(got).toEqual(['B', 'C', null, 'A']);
    expect(wellFormed(got, keys)).toBe(true);
    expect(got).not.toEqual(truth);
  });

  it('every lie about the shape fails the shape check; the content lies pass it but differ from the truth', async () => {
    for (const kind of CHAOS_ANSWERS) {
      const { store, answer } = await seeded();
      answer(kind);
      const got: unknown = await store.getMany(keys, live());
      if (kind === 'garbage' || kind === 'other-key') {
        expect(wellFormed(got, keys), kind).toBe(true);
        expect(got, kind).not.toEqual(truth);
      } else {
        expect(wellFormed(got, keys), kind).toBe(false);
      }
    }
  });

  it('lies only in getMany: the inner store is still read, and writes pass through', async () => {
    const { store, answer, inner } = await seeded();
    answer('null');
    await store.setMany([{ key: 'w', value: 'W', ttlMs: 1_000 }], live());
    await store.deleteMany(['a'], live());
    expect(await store.getMany(['w'], live())).toBeNull();
    expect(inner.commands).toMatchObject({ getMany: 1, setMany: 1, deleteMany: 1 });
    expect(await inner.getMany(['w', 'a'], live())).toEqual(['W', null]);
  });

  it('refuses an unknown kind', () => {
    const { answer } = chaosRemoteStore(createTestRemoteStore());
    expect(() => answer('lies' as never)).toThrow(TypeError);
  });
});

describe('scopes, combinations and heal', () => {
  it('{ times: N } applies a mode to the next N calls of its methods, counted together', async () => {
    const { store, fail } = await seeded();
    fail({ methods: ['getMany', 'setMany'], times: 2 });
    await expect(store.getMany(['a'], live())).rejects.toThrow(ChaosError);
    await expect(store.deleteMany([], live())).resolves.toBeUndefined(); // not in scope, not counted
    await expect(store.setMany([], live())).rejects.toThrow(ChaosError);
    expect(await store.getMany(['a'], live())).toEqual(['A']);
    await expect(store.setMany([], live())).resolves.toBe(0);
  });

  it('times works for every mode', async () => {
    vi.useFakeTimers();
    const { store, hang, answer, throwSync, delay } = await seeded();
    hang({ times: 1 });
    const hung = watch(store.getMany(['a'], live()));
    expect(await store.getMany(['a'], live())).toEqual(['A']);
    expect(hung.state).toBe('pending');
    answer('short', { times: 1 });
    expect(await store.getMany(['a'], live())).toEqual([]);
    expect(await store.getMany(['a'], live())).toEqual(['A']);
    throwSync({ times: 1 });
    expect(() => store.deleteMany([], live())).toThrow(ChaosError);
    await store.deleteMany([], live());
    delay(100, { methods: 'getMany', times: 1 });
    const slow = watch(store.getMany(['a'], live()));
    expect(await store.getMany(['b'], live())).toEqual(['B']);
    expect(slow.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(100);
    expect(slow.state).toBe('resolved');
  });

  it('refuses bad times and unknown methods', () => {
    const { fail, answer, hang } = chaosRemoteStore(createTestRemoteStore());
    expect(() => fail({ times: 0 })).toThrow(RangeError);
    expect(() => fail({ times: 1.5 })).toThrow(RangeError);
    expect(() => answer('null', { times: -1 })).toThrow(RangeError);
    expect(() => hang('close' as never)).toThrow(TypeError);
    expect(() => fail({ times: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('a latency mode and an outcome mode combine: a slow liar', async () => {
    vi.useFakeTimers();
    const { store, delay, answer } = await seeded();
    delay(30, 'getMany');
    answer('other-key');
    const read = watch(store.getMany(['a', 'b'], live()));
    await vi.advanceTimersByTimeAsync(29);
    expect(read.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(read).toEqual({ state: 'resolved', value: ['B', 'A'] });
  });

  it('a mode replaces the mode of its kind on the methods it names, and only those', async () => {
    const { store, fail, answer } = await seeded();
    fail();
    answer('null'); // replaces getMany's outcome only
    expect(await store.getMany(['a'], live())).toBeNull();
    await expect(store.setMany([], live())).rejects.toThrow(ChaosError);
  });

  it('a hung call consumes no outcome mode, and a synchronous throw no latency mode', async () => {
    const { store, hang, fail, throwSync, delay, heal } = await seeded();
    hang({ times: 1 });
    fail({ times: 1 });
    const hung = watch(store.getMany(['a'], live()));
    await expect(store.getMany(['a'], live())).rejects.toThrow(ChaosError); // fail's one call is still there
    expect(await store.getMany(['a'], live())).toEqual(['A']);
    expect(hung.state).toBe('pending');
    heal();
    vi.useFakeTimers();
    delay(50, { times: 1 });
    throwSync({ times: 1 });
    expect(() => store.getMany(['a'], live())).toThrow(ChaosError);
    const slow = watch(store.getMany(['a'], live())); // the delay's one call is still there
    await flush();
    expect(slow.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(50);
    expect(slow.state).toBe('resolved');
  });

  it('heal ends every mode, and counts stay', async () => {
    const { store, fail, answer, hang, heal, calls } = await seeded();
    fail('setMany');
    answer('garbage');
    hang('deleteMany');
    heal();
    expect(await store.getMany(['a'], live())).toEqual(['A']);
    await store.setMany([], live());
    await store.deleteMany([], live());
    expect(calls).toMatchObject({ getMany: 1, setMany: 1, deleteMany: 1 });
  });

  it('close always passes through, and is counted', async () => {
    const inner: TestRemoteStore = createTestRemoteStore();
    const { store, fail, hang, calls } = chaosRemoteStore(inner);
    fail();
    hang();
    await store.close();
    expect(inner.closed).toBe(true);
    expect(calls.close).toBe(1);
  });
});
