/**
 * The invalidation bus (src/bus/bus.ts) on the test hub (loaderkit/testing), under fake timers: two
 * instances (each its own definition, in-process tier and transport) over one test remote store.
 * Exact source calls and messages; trust, lapse, gaps and resyncs; acknowledgements; coalescing and
 * chunking; failures that reject.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeMessage } from '../../src/bus/messages.js';
import { createMemoryStore, defineLoaders } from '../../src/index.js';
import { createTestBusHub, createTestRemoteStore } from '../../src/testing/index.js';

const HEARTBEAT_MS = 50;
const STALE_AFTER_MS = 200;

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

interface Ctx {
  readonly tenant: string;
}

function world() {
  const hub = createTestBusHub();
  const data = createTestRemoteStore();
  let version = 1;
  const instance = (options: { store?: ReturnType<typeof createTestRemoteStore> } = {}) => {
    const transport = hub.transport({ heartbeatMs: HEARTBEAT_MS, staleAfterMs: STALE_AFTER_MS });
    const remote = options.store ?? { ...data, bus: transport };
    const source: number[][] = [];
    const create = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[], _ctx: Ctx) => {
            source.push([...ids]);
            return ids.map((id) => ({ id, version }));
          },
          shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 60_000, jitter: 0 },
        },
      },
      { remote, onError: () => {} },
    );
    const load = async (ids: number[], tenant = 'acme') => {
      const loaders = create({ tenant });
      return Promise.all(ids.map((id) => loaders.users.load(id)));
    };
    return { create, transport, source, load, bus: () => create.stats().bus! };
  };
  return {
    hub,
    instance,
    setVersion(v: number) {
      version = v;
    },
  };
}

/** The drop messages a transport sent (not its probes or acknowledgements). */
function drops(transport: { readonly sent: readonly string[] }): string[] {
  return transport.sent.filter((text) => {
    const message = decodeMessage(text);
    return message !== null && 'keys' in message;
  });
}

/** Lets the first heartbeats go (both instances trusted). */
async function started(...instances: Array<{ bus(): { trusted: boolean } }>) {
  await vi.advanceTimersByTimeAsync(1);
  for (const i of instances) expect(i.bus().trusted).toBe(true);
}

/** A loads (source, write-back), B loads (remote), B loads again (in process). */
async function warm(a: ReturnType<ReturnType<typeof world>['instance']>, b: typeof a, ids: number[]) {
  await a.load(ids);
  await vi.advanceTimersByTimeAsync(1);
  await b.load(ids);
  await b.load(ids);
  expect(b.create.stats().loaders.users).toMatchObject({
    remoteHits: ids.length,
    sharedHits: 2 * ids.length,
  });
}

describe('the invalidation bus', () => {
  it('an instance trusts its in-process tier only once its first heartbeat is answered', async () => {
    const w = world();
    const a = w.instance();
    expect(a.bus().trusted).toBe(false);
    await a.load([1]);
    await a.load([1]); // not read from process yet: the remote tier answers
    expect(a.create.stats().loaders.users).toMatchObject({ sourceCalls: 1, remoteHits: 1 });
    await vi.advanceTimersByTimeAsync(1);
    expect(a.bus()).toMatchObject({ trusted: true, resyncs: 1 });
    await a.load([1]); // the resync dropped what came before: remote once more, then in process
    await a.load([1]);
    expect(a.create.stats().loaders.users).toMatchObject({ sourceCalls: 1, remoteHits: 2, sharedHits: 3 });
  });

  it('invalidate on A: B drops the keys; one message for many keys and for the calls of one tick', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1, 2, 3]);
    w.setVersion(2);
    await Promise.all([
      a.create.invalidate('users', [1, 2], { tenant: 'acme' }),
      a.create.invalidate('users', [3], { tenant: 'acme' }),
    ]);
    expect(drops(a.transport)).toHaveLength(1);
    expect(decodeMessage(drops(a.transport)[0])).toMatchObject({
      keys: [[expect.any(String), 'sacme', ['1', '2', '3']]],
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(b.bus()).toMatchObject({ received: 1, garbage: 0 });
    expect(a.bus()).toMatchObject({ received: 0, published: 1 });
    expect(await b.load([1, 2, 3])).toEqual([1, 2, 3].map((id) => ({ id, version: 2 })));
    expect(b.source).toEqual([[1, 2, 3]]);
  });

  it('string, bigint, boolean and object keys are dropped in the right local space', async () => {
    const hub = createTestBusHub();
    const data = createTestRemoteStore();
    let version = 1;
    const make = () =>
      defineLoaders(
        {
          things: {
            batch: async (keys: readonly unknown[]) => keys.map((key) => ({ key: String(key), version })),
            cacheKey: (key: unknown) => key,
            shared: { scope: 'global', ttl: 60_000 },
          },
        },
        {
          remote: {
            ...data,
            bus: hub.transport({ heartbeatMs: HEARTBEAT_MS, staleAfterMs: STALE_AFTER_MS }),
          },
        },
      );
    const a = make();
    const b = make();
    await vi.advanceTimersByTimeAsync(1);
    const keys: unknown[] = ['x', '1', 1, 10n, true, 1.5, { id: 1 }, [1, 'a']];
    const load = (c: typeof a) => {
      const loaders = c({});
      return Promise.all(keys.map((key) => loaders.things.load(key as never)));
    };
    await load(a);
    await vi.advanceTimersByTimeAsync(1);
    await load(b);
    await load(b);
    version = 2;
    await a.invalidate('things', keys as never[], {});
    await vi.advanceTimersByTimeAsync(0);
    expect((await load(b)).map((v) => (v as { version: number }).version)).toEqual(keys.map(() => 2));
    expect(b.stats().loaders.things).toMatchObject({ sourceCalls: 1 });
  });

  it('two definitions in one process on one store hear each other without the hub', async () => {
    const w = world();
    const store = createTestRemoteStore({ bus: w.hub.transport() });
    const a = w.instance({ store });
    const b = w.instance({ store });
    await started(a, b);
    await warm(a, b, [1]);
    w.setVersion(2);
    await a.create.invalidate('users', [1], { tenant: 'acme' });
    // Told at the call, before the message went anywhere.
    expect(await b.load([1])).toEqual([{ id: 1, version: 2 }]);
  });

  it('Redis paused: past staleAfterMs the in-process tier is not read; when it answers again it starts empty', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1]);
    w.hub.pause();
    await vi.advanceTimersByTimeAsync(STALE_AFTER_MS - HEARTBEAT_MS);
    expect(b.bus().trusted).toBe(true);
    await b.load([1]); // in process, within the bound
    expect(b.create.stats().loaders.users).toMatchObject({ sharedHits: 3, remoteHits: 1 });
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS + 1);
    expect(b.bus().trusted).toBe(false);
    await b.load([1]); // the remote tier (not paused here: only the bus is)
    expect(b.create.stats().loaders.users).toMatchObject({ sharedHits: 4, remoteHits: 2 });
    w.hub.resume();
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS + 1);
    expect(b.bus()).toMatchObject({ trusted: true, resyncs: 2 });
    await b.load([1]);
    await b.load([1]);
    expect(b.create.stats().loaders.users).toMatchObject({ sharedHits: 6, remoteHits: 3 });
  });

  it('a gap: entries kept before it are dropped at the next answered heartbeat; what was published meanwhile is lost but not served', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1, 2]);
    b.transport.disconnect();
    w.setVersion(2);
    await a.create.invalidate('users', [1], { tenant: 'acme' }); // B misses this message
    // Within the bound B may still serve what reflects everything before its last heartbeat.
    expect(b.bus().trusted).toBe(true);
    b.transport.reconnect();
    await vi.advanceTimersByTimeAsync(1);
    expect(b.bus()).toMatchObject({ trusted: true, resyncs: 2, gaps: 2, received: 0 });
    expect(await b.load([1, 2])).toEqual([
      { id: 1, version: 2 },
      { id: 2, version: 1 },
    ]);
    expect(b.source).toEqual([[1]]); // 1 from the source (A's marker in the store), 2 from the store
  });

  it('a load in flight across a resync answers its callers and writes back remotely, but fills no in-process tier', async () => {
    const w = world();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hub = w.hub;
    const data = createTestRemoteStore();
    const transport = hub.transport({ heartbeatMs: HEARTBEAT_MS, staleAfterMs: STALE_AFTER_MS });
    const create = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[]) => {
            await held;
            return ids.map((id) => ({ id }));
          },
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { remote: { ...data, bus: transport } },
    );
    await vi.advanceTimersByTimeAsync(1);
    const loading = create({}).users.load(1);
    await vi.advanceTimersByTimeAsync(0);
    transport.disconnect();
    transport.reconnect();
    await vi.advanceTimersByTimeAsync(1);
    expect(create.stats().bus!.resyncs).toBe(2);
    release();
    expect(await loading).toEqual({ id: 1 });
    await vi.advanceTimersByTimeAsync(1);
    expect(data.size()).toBe(2); // the entry and the scope's generation token
    await create({}).users.load(1);
    expect(create.stats().loaders.users).toMatchObject({ sourceCalls: 1, remoteHits: 1 });
  });

  it('invalidateScope resolves on the acknowledgements of the instances present; one present that cannot hear makes it wait staleAfterMs', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1]);
    let resolved = false;
    const first = a.create.invalidateScope('users', { tenant: 'acme' }).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(true);
    await first;
    expect(a.bus().ackTimeouts).toBe(0);
    // A stranger listening on the channel is no instance: it is not waited for.
    w.hub.transport().listen({ message() {}, gap() {} });
    await a.create.invalidateScope('users', { tenant: 'acme' });
    expect(a.bus().ackTimeouts).toBe(0);
    // B's listening connection drops: B is still present (its announcement has not expired; its
    // in-process tier is trusted until staleAfterMs after its last heartbeat), so A waits the bound.
    b.transport.disconnect();
    resolved = false;
    const second = a.create.invalidateScope('users', { tenant: 'acme' }).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(STALE_AFTER_MS);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(resolved).toBe(true);
    await second;
    expect(a.bus().ackTimeouts).toBe(1);
    // By then B trusts nothing it kept: it reads the new generation.
    expect(b.bus().trusted).toBe(false);
  });

  it('an instance that cannot hear announces nothing: once its presence expires, nobody waits for it', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    b.transport.disconnect();
    await vi.advanceTimersByTimeAsync(STALE_AFTER_MS + 1);
    expect(b.bus().trusted).toBe(false);
    let resolved = false;
    const waiting = a.create.invalidateScope('users', { tenant: 'acme' }).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(true);
    await waiting;
    expect(a.bus().ackTimeouts).toBe(0);
  });

  it('an acknowledgement counts once per instance, and only for the message and sender it names', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    // Two more instances present that will not answer by themselves.
    const others = w.hub.transport();
    const forever = new AbortController().signal;
    await others.announce('silent-1', 60_000, forever);
    await others.announce('silent-2', 60_000, forever);
    let resolved = false;
    const waiting = a.create.invalidateScope('users', { tenant: 'acme' }).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    const sent = decodeMessage(drops(a.transport)[0]) as { origin: string; id: string };
    const ack = (origin: string, target = sent.origin, id = sent.id) =>
      JSON.stringify({ v: 1, o: origin, t: Date.now(), a: [target, id] });
    w.hub.inject(ack('silent-1'));
    w.hub.inject(ack('silent-1'));
    w.hub.inject(ack('silent-2', 'another bus'));
    w.hub.inject(ack('silent-2', sent.origin, 'another message'));
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(false); // B and silent-1 of B, silent-1, silent-2
    w.hub.inject(ack('silent-2'));
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(true);
    await waiting;
    expect(a.bus().ackTimeouts).toBe(0);
  });

  it('a publish the transport refuses rejects the invalidation, saying the others could not be told', async () => {
    const w = world();
    const a = w.instance();
    await started(a);
    await a.load([1]);
    a.transport.failPublish = true;
    await expect(a.create.invalidate('users', [1], { tenant: 'acme' })).rejects.toThrow(
      /the other instances could not be told/,
    );
    await expect(a.create.invalidateScope('users', { tenant: 'acme' })).rejects.toThrow(
      /the other instances could not be told/,
    );
    expect(a.bus().publishFailures).toBe(2);
  });

  it('many keys go out in messages of at most 64 KiB, every key delivered', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    const ids = Array.from({ length: 20_000 }, (_, i) => 1_000_000 + i);
    await a.create.invalidate('users', ids, { tenant: 'acme' });
    await vi.advanceTimersByTimeAsync(0);
    expect(drops(a.transport).length).toBeGreaterThan(1);
    for (const text of drops(a.transport)) expect(text.length).toBeLessThanOrEqual(64 * 1024 + 200);
    const keys = drops(a.transport).flatMap((text) =>
      (decodeMessage(text) as unknown as { keys: [string, string, string[]][] }).keys.flatMap((k) => k[2]),
    );
    expect(keys).toEqual(ids.map(String));
    expect(b.bus().received).toBe(drops(a.transport).length);
  });

  it('garbage on the channel is counted and drops nothing', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1]);
    const texts = [
      '',
      'null',
      '{',
      '[]',
      '{"v":2,"o":"x","t":1,"s":[["a","b"]]}',
      '{"v":1,"o":"x","t":1,"k":[["a","b",[1]]]}',
      '{"v":1,"o":"x","t":"1","s":[["a","b"]]}',
      '{"v":1,"o":"x","t":1}',
    ];
    for (const text of texts) w.hub.inject(text);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.bus().garbage).toBe(texts.length);
    await b.load([1]);
    expect(b.create.stats().loaders.users).toMatchObject({ sharedHits: 3, remoteHits: 1 });
  });
});

describe('decodeMessage', () => {
  it('never throws, and what it accepts has only the fields of a message (no prototype pollution)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        const message = decodeMessage(text);
        expect(({} as Record<string, unknown>).v).toBeUndefined();
        if (message !== null) expect(typeof message.origin).toBe('string');
      }),
      { numRuns: 2000 },
    );
    expect(decodeMessage('{"v":1,"o":"x","t":1,"s":[["a","b"]],"__proto__":{"polluted":1}}')).toMatchObject({
      scopes: [['a', 'b']],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the invalidation bus and loaders that join late or leave', () => {
  it('a definition that joins later over a shared in-process store never serves what that store kept before it joined', async () => {
    const hub = createTestBusHub();
    const data = createTestRemoteStore();
    const local = createMemoryStore();
    let version = 1;
    const define = (store = local) =>
      defineLoaders(
        {
          users: {
            batch: async (ids: readonly number[]) => ids.map((id) => ({ id, version })),
            shared: { scope: 'global', ttl: 60_000 },
          },
        },
        {
          store,
          remote: {
            ...data,
            bus: hub.transport({ heartbeatMs: HEARTBEAT_MS, staleAfterMs: STALE_AFTER_MS }),
          },
        },
      );
    const first = define();
    const other = define(createMemoryStore());
    await vi.advanceTimersByTimeAsync(1);
    await first({}).users.load(1);
    await first({}).users.load(1); // in the shared local store now
    await first.close(); // leaves the bus: what it kept stays in the store
    version = 2;
    await other.invalidate('users', [1], {}); // nobody in this process hears it for the store
    const later = define(); // a new definition over the same store, same bus
    await vi.advanceTimersByTimeAsync(1);
    expect(await later({}).users.load(1)).toEqual({ id: 1, version: 2 });
  });

  it('a closed definition trusts nothing in process any more', async () => {
    const w = world();
    const a = w.instance();
    const b = w.instance();
    await started(a, b);
    await warm(a, b, [1]);
    await b.create.close();
    const before = b.create.stats().loaders.users!.remoteHits;
    await b.load([1]);
    expect(b.create.stats().loaders.users!.remoteHits).toBe(before + 1); // not from process
  });
});
