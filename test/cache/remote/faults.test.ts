/**
 * A remote store never fails or hangs a load (issue #10, §3–4): the shared tier over the test remote
 * store, made slow, hanging, throwing or lying by the chaos wrapper of `loaderkit/testing`. Deadlines
 * are real (20 ms here), so tests wait a little real time; nothing asserts durations.
 */
import { describe, expect, it } from 'vitest';
import { MAX_IN_FLIGHT } from '../../../src/cache/remote/resilient.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../../src/testing/index.js';
import { flush, harness, type Item, track } from '../harness.js';

const item = (id: number, call: number, tenant = 'acme'): Item => ({ id, tenant, call });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const TIMEOUT = 20;

/** Two instances (each its own in-process tier) over one chaos-wrapped remote store. */
function setup(options: Parameters<typeof harness>[0] = {}) {
  let clock = 1_700_000_000_000;
  const inner = createTestRemoteStore({ now: () => clock });
  const chaos = chaosRemoteStore(inner);
  const remoteOptions = { timeoutMs: TIMEOUT, breakerThreshold: 1_000 };
  const a = harness({ ...options, remote: chaos.store, remoteOptions, start: clock });
  const b = harness({ ...options, remote: chaos.store, remoteOptions, start: clock });
  return {
    a,
    b,
    inner,
    chaos,
    advance(ms: number) {
      clock += ms;
      a.advance(ms);
      b.advance(ms);
    },
  };
}

describe('one remote round trip per batch', () => {
  it('a cold batch reads the generation and its keys in one getMany and writes once; a warm one only reads', async () => {
    const { a, b, chaos } = setup();
    expect(await a.request().items.loadMany([1, 2, 3])).toEqual([item(1, 1), item(2, 1), item(3, 1)]);
    await flush();
    expect(chaos.calls).toMatchObject({ getMany: 1, setMany: 1, deleteMany: 0 });
    // Instance b has an empty in-process tier: one read answers all three, the source is not called.
    expect(await b.request().items.loadMany([1, 2, 3])).toEqual([item(1, 1), item(2, 1), item(3, 1)]);
    await flush();
    expect(chaos.calls).toMatchObject({ getMany: 2, setMany: 1 });
    expect(b.calls).toHaveLength(0);
    // Then b answers from its in-process tier: no more remote calls.
    await b.request().items.loadMany([1, 2, 3]);
    expect(chaos.calls).toMatchObject({ getMany: 2, setMany: 1 });
  });

  it('a remote hit fills the in-process tier with its remaining lifetime, never a fresh full TTL', async () => {
    const { a, b, advance } = setup();
    await a.request().items.load(1);
    await flush();
    advance(600);
    expect(await b.request().items.load(1)).toEqual(item(1, 1));
    advance(399); // 999 ms after the write: still fresh in b
    expect(await b.request().items.load(1)).toEqual(item(1, 1));
    expect(b.calls).toHaveLength(0);
    advance(1); // 1000 ms: expired everywhere, so b loads it itself
    await b.request().items.load(1);
    expect(b.calls).toHaveLength(1);
  });
});

describe('a remote store that hangs, fails or lies', () => {
  it('a getMany that never answers (ignoring its signal): loads go to the source at the deadline, and later loads do not join a hung flight', async () => {
    const { a, chaos } = setup();
    chaos.hangIgnoringSignal({ methods: ['getMany'], times: 1 });
    const first = track(a.request().items.load(1));
    const joiner = track(a.request().items.load(1));
    await flush();
    expect(first.state.status).toBe('pending');
    await sleep(TIMEOUT * 2);
    await flush();
    expect(first.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(joiner.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(a.create.stats().remote).toMatchObject({ timeouts: 1, failures: 1 });
    expect(a.calls).toHaveLength(1);
  });

  it('a setMany that takes long or never answers does not delay the miss, and never keeps a flight past its TTL', async () => {
    const { a, b, chaos, advance } = setup();
    chaos.hangIgnoringSignal(['setMany']);
    const first = track(a.request().items.load(1));
    await flush();
    // Answered as soon as the source answered, while the write is still in the air.
    expect(first.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    expect(chaos.pending()).toBe(1);
    advance(10_000); // long past the 1 s TTL
    expect(await a.request().items.load(1)).toEqual(item(1, 2));
    expect(await b.request().items.load(1)).toEqual({ id: 1, tenant: 'acme', call: 1 });
    await sleep(TIMEOUT * 2);
    // The writes (a's two, b's one) timed out behind the loads.
    expect(a.create.stats().remote).toMatchObject({ timeouts: 2 });
    expect(b.create.stats().remote).toMatchObject({ timeouts: 1 });
  });

  for (const kind of ['null', 'not-array', 'short', 'long', 'numbers', 'undefined'] as const) {
    it(`a getMany answering ${kind} is a miss, counted, and never fails a load`, async () => {
      const { a, b, chaos } = setup();
      await a.request().items.loadMany([1, 2]);
      await flush();
      chaos.answer(kind);
      expect(await b.request().items.loadMany([1, 2])).toEqual([
        { id: 1, tenant: 'acme', call: 1 },
        { id: 2, tenant: 'acme', call: 1 },
      ]);
      const remote = b.create.stats().remote!;
      expect(remote.failures + remote.garbage).toBeGreaterThan(0);
    });
  }

  it('garbage strings and another key’s entry are misses, never a wrong answer', async () => {
    for (const kind of ['garbage', 'other-key'] as const) {
      const { a, b, chaos } = setup();
      await a.request().items.loadMany([1, 2, 3]);
      await flush();
      chaos.answer(kind);
      const values = await b.request().items.loadMany([1, 2, 3]);
      expect(values).toEqual([1, 2, 3].map((id) => ({ id, tenant: 'acme', call: 1 })));
      expect(b.calls).toHaveLength(1);
      // Garbage at the generation key is no token of ours: the batch reads every key as a miss.
    }
  });

  it('single-flight holds when every remote read fails: 100 concurrent loads of one key make 1 source call', async () => {
    const { a, chaos } = setup({ manual: true });
    chaos.fail(['getMany']);
    const loads = Array.from({ length: 100 }, () => track(a.request().items.load(1)));
    await sleep(5);
    await flush();
    expect(a.calls).toHaveLength(1);
    a.calls[0]!.resolve();
    await flush();
    expect(loads.every((load) => load.state.status === 'fulfilled')).toBe(true);
  });

  it('a throwing store (synchronously) is a failure like a rejection', async () => {
    const { a, chaos } = setup();
    chaos.throwSync(['getMany', 'setMany']);
    expect(await a.request().items.loadMany([1, 2])).toEqual([item(1, 1), item(2, 1)]);
    await flush();
    // The read failed, so the batch does not know the scope's generation: it writes nothing remote.
    expect(a.create.stats().remote).toMatchObject({ calls: 1, failures: 1 });
    expect(chaos.calls.setMany).toBe(0);
    expect(a.create.stats().loaders.items.errors).toBe(1);
  });

  it('the circuit breaker opens after repeated failures, skips the store, and closes after a probe succeeds', async () => {
    let clock = 1_000_000;
    const chaos = chaosRemoteStore(createTestRemoteStore({ now: () => clock }));
    const a = harness({
      remote: chaos.store,
      remoteOptions: { timeoutMs: TIMEOUT, breakerThreshold: 3, breakerCooldownMs: 1_000 },
      start: clock,
    });
    chaos.fail(['getMany', 'setMany']);
    for (let i = 0; i < 3; i++) await a.request().items.load(i);
    await flush();
    expect(a.create.stats().remote!.breaker).toBe('open');
    const callsWhenOpen = chaos.calls.getMany + chaos.calls.setMany;
    await a.request().items.load(10);
    await flush();
    expect(chaos.calls.getMany + chaos.calls.setMany).toBe(callsWhenOpen);
    expect(a.create.stats().remote!.skipped).toBeGreaterThan(0);
    chaos.heal();
    clock += 1_000;
    a.advance(1_000);
    expect(a.create.stats().remote!.breaker).toBe('half-open');
    await a.request().items.load(11);
    await flush();
    expect(a.create.stats().remote!.breaker).toBe('closed');
  });

  it('a marker write refused: invalidate deletes the entry instead (one more call), and resolves', async () => {
    const { a, b, chaos } = setup();
    await a.request().items.load(1);
    await flush();
    chaos.fail(['setMany']);
    await a.request().items.invalidate(1);
    expect(chaos.calls).toMatchObject({ deleteMany: 1 });
    chaos.heal();
    expect(await b.request().items.load(1)).toEqual(item(1, 1)); // b's own source call: the store had none
    expect(b.calls).toHaveLength(1);
  });

  it('a marker write and a delete that never answer: invalidate rejects after their deadlines (counted), and the in-process entry is gone anyway', async () => {
    const { a, chaos } = setup();
    await a.request().items.load(1);
    chaos.hangIgnoringSignal(['setMany', 'deleteMany']);
    const invalidating = a.request().items.invalidate(1);
    await expect(invalidating).rejects.toThrow(
      'Loader "items": invalidate fenced the loads in flight, but the remote store could not be reached (its entries may be served, by other instances too, until their TTL).',
    );
    expect(a.create.stats().loaders.items.errors).toBe(1);
    chaos.heal();
    expect(await a.request().items.load(1)).toEqual({ id: 1, tenant: 'acme', call: 1 });
    // The remote entry survived the failed invalidation: that is what the rejection told the caller.
  });

  it('invalidateScope rejects when the new generation cannot be written', async () => {
    const { a, chaos } = setup();
    await a.request().items.load(1);
    chaos.fail(['setMany']);
    await expect(a.request().items.invalidateScope()).rejects.toThrow(
      /invalidateScope fenced the loads in flight, but the remote store could not be reached/,
    );
  });
});

describe('invalidation across the remote tier', () => {
  it('a refresh on B reads the store before its source, so an invalidation on A meanwhile fences it, not a stale value', async () => {
    const { a, b, chaos, inner } = setup({ manual: true });
    const warm = track(a.request().items.load(1));
    await flush();
    a.calls[0]!.resolve();
    await flush();
    expect(warm.state.status).toBe('fulfilled');
    chaos.delay(10, { methods: ['getMany'], times: 1 }); // B's read of the store is slow
    const refreshing = b.request().items.refresh(1);
    await flush();
    expect(b.calls).toHaveLength(0); // its source waits for the read
    await a.request().items.invalidate(1); // A: mutation, invalidation (its marker) while B reads
    // The read (which saw A's marker) comes back after its delay (later on a busy machine): then the
    // source reads.
    for (let waited = 0; b.calls.length === 0 && waited < 2000; waited += 5) await sleep(5);
    await flush();
    expect(b.calls).toHaveLength(1);
    b.calls[0]!.resolve([{ id: 1, tenant: 'acme', call: 2 }]); // read after the mutation
    await refreshing;
    await flush();
    expect(b.create.stats().remote).toMatchObject({ writesFenced: 0 });
    // A's in-process entry went with its invalidation: it reads B's refreshed value from the store.
    const fresh = track(a.request().items.load(1));
    await flush();
    expect(fresh.state).toEqual({ status: 'fulfilled', value: { id: 1, tenant: 'acme', call: 2 } });
    expect(a.calls).toHaveLength(1);
    expect(inner.commands.getMany).toBeGreaterThan(0);
  });

  it('a load on B that read the key before A invalidated it writes nothing to the store afterwards', async () => {
    const { a, b, inner } = setup({ manual: true });
    const onB = track(b.request().items.load(1));
    await flush();
    expect(b.calls).toHaveLength(1); // B read the store (nothing there) and holds its source open
    await a.request().items.invalidate(1); // A: the mutation, then the invalidation
    inner.resetCommands();
    b.calls[0]!.resolve([{ id: 1, tenant: 'acme', call: -1 }]); // what B's source read before the mutation
    await flush();
    expect(onB.state).toEqual({ status: 'fulfilled', value: { id: 1, tenant: 'acme', call: -1 } });
    expect(inner.commands).toMatchObject({ setMany: 1, keysWritten: 2 }); // tried, fenced by A's marker
    expect(b.create.stats().remote).toMatchObject({ writesFenced: 1, failures: 0 });
    // The next read anywhere misses in the store and loads the new value.
    const onA = track(a.request().items.load(1));
    await flush();
    expect(a.calls).toHaveLength(1);
    a.calls[0]!.resolve();
    await flush();
    expect(onA.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    await flush();
    expect(inner.commands).toMatchObject({ setMany: 2, keysWritten: 3 }); // A's write replaced the marker
  });

  it('invalidate fences at the call: a load whose source answers meanwhile writes neither tier', async () => {
    const { a, b } = setup({ manual: true });
    const before = track(a.request().items.load(1));
    await flush();
    const invalidated = a.request().items.invalidate(1);
    a.calls[0]!.resolve();
    await invalidated;
    await flush();
    expect(before.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
    const fromB = track(b.request().items.load(1));
    await flush();
    expect(b.calls).toHaveLength(1); // a miss in the remote store too
    b.calls[0]!.resolve();
    await flush();
    expect(fromB.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
  });

  it('after invalidateScope on one instance, another instance with an empty in-process tier never reads the old generation', async () => {
    const { a, b } = setup();
    await a.request().items.loadMany([1, 2]);
    await flush();
    await a.request().items.invalidateScope();
    expect(await b.request().items.loadMany([1, 2])).toEqual([
      { id: 1, tenant: 'acme', call: 1 },
      { id: 2, tenant: 'acme', call: 1 },
    ]);
    expect(b.calls).toHaveLength(1);
    // Other scopes keep their entries.
    await a.request('globex').items.load(1);
    await flush();
    await a.request().items.invalidateScope();
    expect(await b.request('globex').items.load(1)).toEqual({ id: 1, tenant: 'globex', call: 2 });
    expect(b.calls).toHaveLength(1);
  });

  it('a load in flight across invalidateScope writes under the old generation: nobody reads it', async () => {
    const { a, b } = setup({ manual: true });
    const before = track(a.request().items.load(1));
    await flush();
    await a.request().items.invalidateScope();
    a.calls[0]!.resolve();
    await flush();
    expect(before.state.status).toBe('fulfilled');
    const fromB = track(b.request().items.load(1));
    await flush();
    expect(b.calls).toHaveLength(1);
    b.calls[0]!.resolve();
    await flush();
    expect(fromB.state.status).toBe('fulfilled');
  });
});

describe('a request leaving while the remote store hangs', () => {
  it('its signal rejects its own loads at once; another request waiting on the same flight gets its value', async () => {
    const clock = 1_000_000;
    const chaos = chaosRemoteStore(createTestRemoteStore({ now: () => clock }));
    const h = harness({ remote: chaos.store, remoteOptions: { timeoutMs: 200 }, start: clock });
    chaos.hangIgnoringSignal({ methods: ['getMany'], times: 1 });
    const controller = new AbortController();
    const leaving = track(h.create({ tenant: 'acme' }, { signal: controller.signal }).items.load(1));
    const staying = track(h.request().items.load(1));
    await flush();
    controller.abort(new Error('client went away'));
    await flush();
    expect(leaving.state).toMatchObject({ status: 'rejected', reason: { message: 'client went away' } });
    expect(staying.state.status).toBe('pending');
    await sleep(250); // the read's deadline
    await flush();
    expect(staying.state).toEqual({ status: 'fulfilled', value: item(1, 1) });
  });
});

describe('calls a store holds unsettled are bounded', () => {
  it('at most MAX_IN_FLIGHT calls unsettled; meanwhile calls are skipped; they count down as the store lets go', async () => {
    const inner = createTestRemoteStore();
    const chaos = chaosRemoteStore(inner);
    // A store that answers 300 ms late whatever the signal (a paused server), and a breaker that never opens.
    chaos.delay(300, { methods: ['getMany'], ignoreSignal: true });
    const h = harness({
      remote: chaos.store,
      remoteOptions: { timeoutMs: TIMEOUT, breakerThreshold: 1_000_000, breakerCooldownMs: 0 },
    });
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    // 300 concurrent loads: the first MAX_IN_FLIGHT reads go out and are held; the rest are not made.
    const first = await Promise.all(ids(0, 300).map((id) => h.request().items.load(id)));
    expect(first.map((value) => (value as Item).id)).toEqual(ids(0, 300));
    const held = h.create.stats().remote!;
    expect(held).toMatchObject({
      inFlight: MAX_IN_FLIGHT,
      abandoned: MAX_IN_FLIGHT,
      skipped: 300 - MAX_IN_FLIGHT,
    });
    expect(chaos.calls.getMany).toBe(MAX_IN_FLIGHT);
    await sleep(400);
    expect(h.create.stats().remote!).toMatchObject({ inFlight: 0, abandoned: 0 });
    chaos.heal();
    await h.request().items.load(1000);
    expect(chaos.calls.getMany).toBe(MAX_IN_FLIGHT + 1);
  });

  it('a store that never settles what it holds cannot shut the tier off: the breaker opens, a probe that succeeds forgets them', async () => {
    const inner = createTestRemoteStore();
    const chaos = chaosRemoteStore(inner);
    chaos.hangIgnoringSignal(['getMany']);
    const h = harness({
      remote: chaos.store,
      remoteOptions: { timeoutMs: TIMEOUT, breakerThreshold: 2, breakerCooldownMs: 50 },
    });
    await Promise.all(Array.from({ length: MAX_IN_FLIGHT }, (_, i) => h.request().items.load(i)));
    expect(h.create.stats().remote!).toMatchObject({ inFlight: MAX_IN_FLIGHT, abandoned: MAX_IN_FLIGHT });
    expect(h.create.stats().remote!.breaker).toBe('open');
    chaos.heal(); // the held calls stay hung for ever
    h.advance(60); // the breaker's cooldown (on the definition's clock)
    // The probe goes through although MAX_IN_FLIGHT are held, succeeds, and the held ones are forgotten.
    await h.request().items.load(5000);
    expect(chaos.calls.getMany).toBe(MAX_IN_FLIGHT + 1);
    await flush(); // its write-back lands
    expect(h.create.stats().remote!).toMatchObject({ inFlight: 0, abandoned: 0, breaker: 'closed' });
    await h.request().items.load(5001);
    expect(chaos.calls.getMany).toBe(MAX_IN_FLIGHT + 2);
  });
});
