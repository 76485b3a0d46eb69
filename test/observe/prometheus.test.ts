import { Counter, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import {
  createMemoryStore,
  type DefineLoadersOptions,
  defineLoaders,
  type RemoteStore,
} from '../../src/index.js';
import { createLoaderMetrics } from '../../src/observe/prometheus.js';
import { chaosRemoteStore, createTestBusHub, createTestRemoteStore } from '../../src/testing/index.js';

function definitions() {
  return defineLoaders({
    users: {
      batch: async (ids: readonly number[]) => ids.map((id) => (id === 13 ? new Error('unlucky') : { id })),
      shared: { scope: 'global', ttl: 60_000 },
    },
    tags: {
      batch: async (names: readonly string[]) => {
        if (names.includes('boom')) throw new Error('tags down');
        return names.map((name) => name.length);
      },
    },
  });
}

/** A shared loader (`users`; `docs`, whose key 0 is too large to encode) and an unshared one over a remote. */
function tiered(remote: RemoteStore, options: Omit<DefineLoadersOptions, 'remote'> = {}) {
  return defineLoaders(
    {
      users: {
        batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
        shared: { scope: 'global', ttl: 60_000, graceMs: 60_000 },
      },
      docs: {
        batch: async (ids: readonly number[]) =>
          ids.map((id) => (id === 0 ? 'x'.repeat(600_000) : `doc ${id}`)),
        shared: { scope: 'global', ttl: 60_000 },
      },
      tags: { batch: async (names: readonly string[]) => names.map((name) => name.length) },
    },
    { remote, onError: () => undefined, ...options },
  );
}

/** The value of one sample line, e.g. `loaderkit_batch_size_count{loader="users"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The lookups of one loader and tier, as `{ hit, stale, miss }` (undefined where a series is absent). */
function lookups(text: string, loader: string, tier: string) {
  const of = (result: string) =>
    sample(text, `loaderkit_cache_lookups_total{loader="${loader}",tier="${tier}",result="${result}"}`);
  return { hit: of('hit'), stale: of('stale'), miss: of('miss') };
}

/** The remote error counters of the test store, by reason. */
function remoteErrors(text: string, store = 'test-remote') {
  const of = (reason: string) =>
    sample(text, `loaderkit_remote_errors_total{store="${store}",reason="${reason}"}`);
  return { error: of('error'), timeout: of('timeout'), garbage: of('garbage'), skipped: of('skipped') };
}

/** The breaker state gauge, one value per state. */
function breaker(text: string, store = 'test-remote') {
  const of = (state: string) =>
    sample(text, `loaderkit_remote_breaker_state{store="${store}",state="${state}"}`);
  return { closed: of('closed'), 'half-open': of('half-open'), open: of('open') };
}

describe('createLoaderMetrics', () => {
  it('counts batches, source calls, cache lookups and errors per loader', async () => {
    const registry = new Registry();
    const createLoaders = definitions();
    const metrics = createLoaderMetrics(createLoaders, { registry });
    const before = await registry.metrics();
    expect(sample(before, 'loaderkit_l1_entries')).toBe(0);
    expect(lookups(before, 'users', 'l1')).toEqual({ hit: undefined, stale: undefined, miss: undefined });

    const a = createLoaders({});
    await Promise.all([
      a.users.load(1),
      a.users.load(2),
      a.users.load(1),
      a.users.load(13).catch(() => null),
    ]);
    await Promise.all([a.tags.load('x'), a.tags.load('yy')]);
    await a.tags.load('boom').catch(() => null);
    await createLoaders({}).users.loadMany([1, 2]); // l1 hits in a new request

    const text = await registry.metrics();
    expect(sample(text, 'loaderkit_batch_size_count{loader="users"}')).toBe(1);
    expect(sample(text, 'loaderkit_batch_size_sum{loader="users"}')).toBe(3);
    expect(sample(text, 'loaderkit_batch_size_count{loader="tags"}')).toBe(2);
    expect(sample(text, 'loaderkit_source_duration_seconds_count{loader="tags",result="ok"}')).toBe(1);
    expect(sample(text, 'loaderkit_source_duration_seconds_count{loader="tags",result="error"}')).toBe(1);
    expect(lookups(text, 'users', 'memo')).toEqual({ hit: 1, stale: undefined, miss: 5 });
    expect(lookups(text, 'users', 'l1')).toEqual({ hit: 2, stale: 0, miss: 3 });
    // No remote store: no l2 series, no remote metrics; no shared tier for tags.
    expect(lookups(text, 'users', 'l2')).toEqual({ hit: undefined, stale: undefined, miss: undefined });
    expect(lookups(text, 'tags', 'l1')).toEqual({ hit: undefined, stale: undefined, miss: undefined });
    expect(text).not.toContain('tier="shared"');
    expect(text).not.toMatch(/^loaderkit_remote_/m);
    expect(sample(text, 'loaderkit_errors_total{loader="users"}')).toBe(1);
    expect(sample(text, 'loaderkit_errors_total{loader="tags"}')).toBe(1);
    // The owned memory store: users 1 and 2 (13 failed), no byte bound, nothing evicted.
    expect(sample(text, 'loaderkit_l1_entries')).toBe(2);
    expect(sample(text, 'loaderkit_l1_bytes')).toBeUndefined();
    expect(sample(text, 'loaderkit_l1_evictions_total')).toBe(0);

    metrics.dispose();
    expect(await registry.metrics()).not.toContain('loaderkit_');
    await createLoaders({}).tags.load('zzz'); // no observer left: nothing to record, nothing throws
    await createLoaders.close();
  });

  it('splits shared lookups into l1 (per instance) and l2 (the remote store both instances share)', async () => {
    const remote = createTestRemoteStore();
    const first = tiered(remote);
    const firstRegistry = new Registry();
    createLoaderMetrics(first, { registry: firstRegistry });
    await first({}).users.loadMany([1, 2, 3]);
    await first({}).tags.load('x');
    await vi.waitFor(() => expect(remote.commands.setMany).toBe(1)); // the write-back landed

    let text = await firstRegistry.metrics();
    expect(lookups(text, 'users', 'l1')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(lookups(text, 'users', 'l2')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(lookups(text, 'tags', 'l1').miss).toBeUndefined();
    expect(lookups(text, 'tags', 'l2').miss).toBeUndefined();
    expect(lookups(text, 'docs', 'l2').miss).toBeUndefined(); // never loaded
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBe(2); // a read, a write
    expect(remoteErrors(text)).toEqual({ error: 0, timeout: 0, garbage: 0, skipped: 0 });
    expect(
      sample(text, 'loaderkit_remote_writes_dropped_total{store="test-remote",reason="queue_full"}'),
    ).toBe(0);
    expect(
      sample(text, 'loaderkit_remote_writes_dropped_total{store="test-remote",reason="unwritable"}'),
    ).toBe(0);
    expect(sample(text, 'loaderkit_remote_pending_writes{store="test-remote"}')).toBe(0);
    expect(breaker(text)).toEqual({ closed: 1, 'half-open': 0, open: 0 });
    expect(sample(text, 'loaderkit_l1_entries')).toBe(3);

    // A second instance (its own l1) over the same remote store: l2 answers what l1 lacks.
    const second = tiered(remote);
    const secondRegistry = new Registry();
    createLoaderMetrics(second, { registry: secondRegistry });
    await second({}).users.loadMany([1, 2, 3]);
    text = await secondRegistry.metrics();
    expect(lookups(text, 'users', 'l1')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(lookups(text, 'users', 'l2')).toEqual({ hit: 3, stale: 0, miss: 0 });
    expect(
      sample(text, 'loaderkit_source_duration_seconds_count{loader="users",result="ok"}'),
    ).toBeUndefined();
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBe(1); // one read, no write
    expect(sample(text, 'loaderkit_l1_entries')).toBe(3);

    // The same instance again: its l1 answers, the remote is not asked.
    await second({}).users.loadMany([1, 2, 3]);
    text = await secondRegistry.metrics();
    expect(lookups(text, 'users', 'l1')).toEqual({ hit: 3, stale: 0, miss: 3 });
    expect(lookups(text, 'users', 'l2')).toEqual({ hit: 3, stale: 0, miss: 0 });
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBe(1);
    expect(remote.commands.getMany).toBe(2);
    await Promise.all([first.close(), second.close()]);
  });

  it('counts stale hits per tier', async () => {
    let clock = 1_700_000_000_000;
    const now = () => clock;
    const remote = createTestRemoteStore({ now });
    const first = tiered(remote, { now });
    const firstRegistry = new Registry();
    createLoaderMetrics(first, { registry: firstRegistry });
    await first({}).users.loadMany([1, 2, 3]);
    await vi.waitFor(() => expect(remote.commands.setMany).toBe(1));

    clock += 90_000; // past the ttl, within grace
    await first({}).users.load(1); // stale in its l1
    const second = tiered(remote, { now });
    const secondRegistry = new Registry();
    createLoaderMetrics(second, { registry: secondRegistry });
    await second({}).users.load(2); // stale in the remote store

    const one = await firstRegistry.metrics();
    expect(lookups(one, 'users', 'l1')).toEqual({ hit: 0, stale: 1, miss: 3 });
    expect(lookups(one, 'users', 'l2')).toEqual({ hit: 0, stale: 0, miss: 3 });
    const two = await secondRegistry.metrics();
    expect(lookups(two, 'users', 'l1')).toEqual({ hit: 0, stale: 0, miss: 1 });
    expect(lookups(two, 'users', 'l2')).toEqual({ hit: 0, stale: 1, miss: 0 });
    await Promise.all([first.close(), second.close()]);
  });

  it('counts timeouts and skipped calls of a hung remote store, and shows the breaker state', async () => {
    let clock = 1_700_000_000_000;
    const chaos = chaosRemoteStore(createTestRemoteStore());
    chaos.hang();
    const createLoaders = tiered(chaos.store, {
      now: () => clock,
      remoteOptions: { timeoutMs: 20, breakerThreshold: 2, breakerCooldownMs: 60_000 },
    });
    const registry = new Registry();
    createLoaderMetrics(createLoaders, { registry });

    await createLoaders({}).users.load(1); // times out: 1 failure, below the threshold
    let text = await registry.metrics();
    expect(remoteErrors(text)).toEqual({ error: 0, timeout: 1, garbage: 0, skipped: 0 });
    expect(breaker(text)).toEqual({ closed: 1, 'half-open': 0, open: 0 });

    await createLoaders({}).users.load(2); // times out: 2 consecutive failures open the breaker
    text = await registry.metrics();
    expect(remoteErrors(text)).toEqual({ error: 0, timeout: 2, garbage: 0, skipped: 0 });
    expect(breaker(text)).toEqual({ closed: 0, 'half-open': 0, open: 1 });

    await createLoaders({}).users.load(3); // the open breaker skips the call
    text = await registry.metrics();
    expect(remoteErrors(text)).toEqual({ error: 0, timeout: 2, garbage: 0, skipped: 1 });
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBe(2);
    expect(chaos.calls.getMany).toBe(2);
    expect(lookups(text, 'users', 'l1')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(lookups(text, 'users', 'l2')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(sample(text, 'loaderkit_errors_total{loader="users"}')).toBe(3); // 2 timed out, 1 skipped

    clock += 60_000; // the cooldown is over: the next call is a probe
    expect(breaker(await registry.metrics())).toEqual({ closed: 0, 'half-open': 1, open: 0 });
    await createLoaders.close();
  });

  it('counts write-backs the store fenced out (it made fewer writes than it was given)', async () => {
    const inner = createTestRemoteStore({ name: 'fencing' });
    // Its own compare-and-set is exercised elsewhere; here it says it made one write of each call.
    const store: RemoteStore = {
      name: 'fencing',
      getMany: (keys, signal) => inner.getMany(keys, signal),
      setMany: async (writes, signal) => {
        await inner.setMany(writes, signal);
        return 1;
      },
      deleteMany: (keys, signal) => inner.deleteMany(keys, signal),
      close: () => inner.close(),
    };
    const createLoaders = tiered(store);
    const registry = new Registry();
    createLoaderMetrics(createLoaders, { registry });
    await createLoaders({}).docs.loadMany([1, 2]); // 2 entries and the generation token: 3 writes, 1 made
    for (let i = 0; i < 20 && createLoaders.stats().remote!.pendingWrites > 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(createLoaders.stats().remote).toMatchObject({ writesFenced: 2 });
    const text = await registry.metrics();
    expect(sample(text, 'loaderkit_remote_writes_dropped_total{store="fencing",reason="fenced"}')).toBe(2);
    await createLoaders.close();
  });

  it('counts failed calls, garbage answers and dropped writes of the remote store by reason', async () => {
    const chaos = chaosRemoteStore(createTestRemoteStore(), { name: 'flaky' });
    const createLoaders = tiered(chaos.store, {
      remoteOptions: {
        timeoutMs: 1_000,
        breakerThreshold: 2,
        breakerCooldownMs: 60_000,
        maxPendingWrites: 0,
      },
    });
    const registry = new Registry();
    createLoaderMetrics(createLoaders, { registry });

    chaos.fail({ methods: 'getMany', times: 1 });
    await createLoaders({}).docs.load(1); // the read fails: nothing is written (no generation known)
    chaos.answer('numbers', { times: 1 });
    await createLoaders({}).docs.load(2); // 2 values not ours (generation + key); 2 writes over the bound
    await createLoaders({}).docs.load(0); // too large to encode: kept in process, not written

    const text = await registry.metrics();
    expect(remoteErrors(text, 'flaky')).toEqual({ error: 1, timeout: 0, garbage: 2, skipped: 0 });
    expect(sample(text, 'loaderkit_remote_calls_total{store="flaky"}')).toBe(3);
    expect(sample(text, 'loaderkit_remote_writes_dropped_total{store="flaky",reason="queue_full"}')).toBe(2);
    expect(sample(text, 'loaderkit_remote_writes_dropped_total{store="flaky",reason="unwritable"}')).toBe(1);
    expect(sample(text, 'loaderkit_remote_pending_writes{store="flaky"}')).toBe(0);
    expect(breaker(text, 'flaky')).toEqual({ closed: 1, 'half-open': 0, open: 0 });
    expect(lookups(text, 'docs', 'l2')).toEqual({ hit: 0, stale: 0, miss: 3 });
    expect(chaos.calls.setMany).toBe(0);
    expect(sample(text, 'loaderkit_l1_entries')).toBe(3);
    await createLoaders.close();
  });

  it('shows write-backs in the air', async () => {
    const chaos = chaosRemoteStore(createTestRemoteStore());
    chaos.hang('setMany');
    const createLoaders = tiered(chaos.store, { remoteOptions: { timeoutMs: 50 } });
    const registry = new Registry();
    createLoaderMetrics(createLoaders, { registry });
    const pending = async () =>
      sample(await registry.metrics(), 'loaderkit_remote_pending_writes{store="test-remote"}');

    await createLoaders({}).users.loadMany([1, 2]);
    await vi.waitFor(async () => expect(await pending()).toBe(1));
    await vi.waitFor(async () => expect(await pending()).toBe(0)); // the write timed out
    const text = await registry.metrics();
    expect(remoteErrors(text)).toEqual({ error: 0, timeout: 1, garbage: 0, skipped: 0 });
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBe(2);
    await createLoaders.close();
  });

  it('reports the in-process store: entries, bytes and evictions', async () => {
    const store = createMemoryStore({ maxEntries: 2, maxBytes: 100_000 });
    const createLoaders = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { store },
    );
    const registry = new Registry();
    createLoaderMetrics(createLoaders, { registry });
    await createLoaders({}).users.loadMany([1, 2, 3, 4, 5]);

    const text = await registry.metrics();
    const bytes = store.stats().bytes!;
    expect(bytes).toBeGreaterThan(0);
    expect(sample(text, 'loaderkit_l1_entries')).toBe(2);
    expect(sample(text, 'loaderkit_l1_bytes')).toBe(bytes);
    expect(sample(text, 'loaderkit_l1_evictions_total')).toBe(3);
    await createLoaders.close();
  });

  it('shows no in-process or remote tier samples where there is none', async () => {
    const registry = new Registry();
    const createLoaders = defineLoaders({
      tags: { batch: async (names: readonly string[]) => names.map((name) => name.length) },
    });
    createLoaderMetrics(createLoaders, { registry });
    await createLoaders({}).tags.load('x');
    const text = await registry.metrics();
    expect(lookups(text, 'tags', 'memo')).toEqual({ hit: 0, stale: undefined, miss: 1 });
    // Only HELP and TYPE lines for the tier metrics: no store is made without a shared loader.
    for (const name of ['l1_entries', 'l1_bytes', 'l1_evictions_total', 'remote_calls_total']) {
      expect(text).toContain(`# TYPE loaderkit_${name} `);
      expect(text).not.toMatch(new RegExp(`^loaderkit_${name}[ {]`, 'm'));
    }
    expect(text).not.toMatch(/^loaderkit_remote_/m);
    expect(text).not.toMatch(/^loaderkit_cache_lookups_total\{[^}]*tier="l[12]"/m);
  });

  it('dispose removes every metric it registered, remote and in-process tiers included', async () => {
    const registry = new Registry();
    const createLoaders = tiered(createTestRemoteStore());
    const metrics = createLoaderMetrics(createLoaders, { registry });
    await createLoaders({}).users.load(1);
    const text = await registry.metrics();
    expect(sample(text, 'loaderkit_remote_calls_total{store="test-remote"}')).toBeGreaterThan(0);
    expect(sample(text, 'loaderkit_l1_entries')).toBe(1);
    expect(
      registry
        .getMetricsAsArray()
        .map((metric) => metric.name)
        .sort(),
    ).toEqual(
      [
        'batch_size',
        'bus_errors_total',
        'bus_lag_max_seconds',
        'bus_lag_seconds_total',
        'bus_messages_total',
        'bus_resyncs_total',
        'bus_trusted',
        'cache_lookups_total',
        'errors_total',
        'l1_bytes',
        'l1_entries',
        'l1_evictions_total',
        'remote_breaker_state',
        'remote_calls_total',
        'remote_errors_total',
        'remote_lock_keys_total',
        'remote_node_commands_total',
        'remote_pending_writes',
        'remote_writes_dropped_total',
        'source_duration_seconds',
      ].map((name) => `loaderkit_${name}`),
    );

    metrics.dispose();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(await registry.metrics()).not.toContain('loaderkit_');
    // Every name is free again.
    createLoaderMetrics(createLoaders, { registry }).dispose();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    await createLoaders.close();
  });

  it('shows the invalidation bus: messages by direction, errors by reason, resyncs, trust and lag', async () => {
    const hub = createTestBusHub();
    const data = createTestRemoteStore();
    const a = tiered({ ...data, bus: hub.transport() });
    const b = tiered({ ...data, bus: hub.transport() });
    const registry = new Registry();
    const metrics = createLoaderMetrics(b, { registry });
    const series = (name: string, labels: string) => `loaderkit_bus_${name}{store="test-remote",${labels}}`;
    const one = (name: string) => `loaderkit_bus_${name}{store="test-remote"}`;
    await vi.waitUntil(() => a.stats().bus!.trusted && b.stats().bus!.trusted);
    let text = await registry.metrics();
    expect(sample(text, one('trusted'))).toBe(1);
    expect(sample(text, one('resyncs_total'))).toBe(1);
    await a.invalidate('users', [1, 2], {});
    await a.invalidateScope('users', {});
    hub.inject('garbage');
    await vi.waitUntil(() => b.stats().bus!.garbage === 1);
    text = await registry.metrics();
    expect(sample(text, series('messages_total', 'direction="in"'))).toBe(2);
    expect(sample(text, series('messages_total', 'direction="out"'))).toBe(1); // B's acknowledgement
    expect(sample(text, series('messages_total', 'direction="garbage"'))).toBe(1);
    expect(sample(text, series('errors_total', 'reason="publish"'))).toBe(0);
    expect(sample(text, one('lag_seconds_total'))).toBeGreaterThanOrEqual(0);
    expect(sample(text, one('lag_max_seconds'))).toBeLessThan(1);
    hub.pause();
    await vi.waitUntil(() => !b.stats().bus!.trusted, { timeout: 2000 });
    text = await registry.metrics();
    expect(sample(text, one('trusted'))).toBe(0);
    expect(sample(text, series('errors_total', 'reason="heartbeat"'))).toBeGreaterThan(0);
    hub.resume();
    metrics.dispose();
    await a.close();
    await b.close();
  });

  it('counts the keys of distributed single-flight by result', async () => {
    const remote = createTestRemoteStore();
    const createLoaders = defineLoaders(
      {
        users: {
          batch: async (ids: readonly number[]) => ids.map((id) => ({ id })),
          shared: { scope: 'global', ttl: 60_000, lock: true },
        },
      },
      { remote },
    );
    const registry = new Registry();
    const metrics = createLoaderMetrics(createLoaders, { registry });
    const loaders = createLoaders({});
    await Promise.all([loaders.users.load(1), loaders.users.load(2)]);
    const text = await registry.metrics();
    const of = (result: string) =>
      sample(text, `loaderkit_remote_lock_keys_total{store="test-remote",result="${result}"}`);
    expect([of('taken'), of('waited'), of('landed'), of('timed_out')]).toEqual([2, 0, 0, 0]);
    metrics.dispose();
    await createLoaders.close();
  });

  it('counts commands per node for a store spread over several (its nodes(); none for a store without)', async () => {
    const data = createTestRemoteStore();
    let nodes = [
      { node: '10.0.0.1:6379', ok: 7, errors: 1, refused: 0 },
      { node: '10.0.0.2:6379', ok: 3, errors: 0, refused: 2 },
    ];
    const createLoaders = tiered({ ...data, nodes: () => nodes });
    const registry = new Registry();
    const metrics = createLoaderMetrics(createLoaders, { registry });
    let text = await registry.metrics();
    const of = (node: string, result: string) =>
      sample(
        text,
        `loaderkit_remote_node_commands_total{store="test-remote",node="${node}",result="${result}"}`,
      );
    expect([of('10.0.0.1:6379', 'ok'), of('10.0.0.1:6379', 'error'), of('10.0.0.2:6379', 'refused')]).toEqual(
      [7, 1, 2],
    );
    expect(createLoaders.stats().remote!.nodes).toEqual(nodes);
    // A store whose nodes() answers no array (or throws) reads as having none.
    nodes = null as never;
    text = await registry.metrics();
    expect(text).not.toContain('loaderkit_remote_node_commands_total{');
    metrics.dispose();
    await createLoaders.close();
  });

  it('leaves none of its metrics behind when a name is taken', () => {
    const registry = new Registry();
    new Counter({ name: 'loaderkit_remote_calls_total', help: 'someone else', registers: [registry] });
    expect(() => createLoaderMetrics(definitions(), { registry })).toThrow(/loaderkit_remote_calls_total/);
    expect(registry.getMetricsAsArray().map((metric) => metric.name)).toEqual([
      'loaderkit_remote_calls_total',
    ]);
  });

  it('takes a prefix, and refuses bad arguments with messages that name them', () => {
    const registry = new Registry();
    const metrics = createLoaderMetrics(definitions(), { registry, prefix: 'app_loaders_' });
    expect(registry.getSingleMetric('app_loaders_batch_size')).toBeDefined();
    expect(registry.getSingleMetric('app_loaders_remote_breaker_state')).toBeDefined();
    metrics.dispose();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(() => createLoaderMetrics((() => ({})) as never)).toThrow(
      /takes the function defineLoaders returned/,
    );
    expect(() => createLoaderMetrics(definitions(), { registry, prefix: 'bad prefix' })).toThrow(/prefix/);
  });
});
