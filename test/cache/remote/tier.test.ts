/**
 * The remote tier's invalidation markers (src/cache/remote/tier.ts): the `invalidate` calls of one tick
 * share one write, however many (a loop of calls is one round trip, and never more calls in the air
 * than the remote facade allows).
 */
import { describe, expect, it } from 'vitest';
import { chaosRemoteStore, createTestRemoteStore } from '../../../src/testing/index.js';
import { flush, harness } from '../harness.js';

describe('invalidation markers', () => {
  it('1000 invalidate calls in one tick: one write of 1000 markers, every call resolves, every key misses', async () => {
    const remote = createTestRemoteStore();
    const h = harness({ remote });
    const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
    const request = h.request();
    await Promise.all(ids.map((id) => request.items.load(id)));
    await flush();
    remote.resetCommands();
    await Promise.all(ids.map((id) => h.create.invalidate('items', [id], { tenant: 'acme' })));
    expect(remote.commands).toMatchObject({ setMany: 1, keysWritten: 1000, deleteMany: 0 });
    expect(h.errors).toEqual([]);
    const calls = h.calls.length;
    await Promise.all(ids.map((id) => h.request().items.load(id)));
    expect(h.calls.length).toBeGreaterThan(calls); // loaded again: nothing of before was served
    expect(h.create.stats().loaders.items).toMatchObject({ remoteHits: 0 });
  });

  it('calls of different ticks write apart, and one that repeats a key writes it once', async () => {
    const remote = createTestRemoteStore();
    const h = harness({ remote });
    await h.request().items.load(1);
    await flush();
    remote.resetCommands();
    await Promise.all([
      h.create.invalidate('items', [1], { tenant: 'acme' }),
      h.create.invalidate('items', [1], { tenant: 'acme' }),
    ]);
    expect(remote.commands).toMatchObject({ setMany: 1, keysWritten: 1 });
    await h.create.invalidate('items', [1], { tenant: 'acme' });
    expect(remote.commands).toMatchObject({ setMany: 2, keysWritten: 2 });
  });
});

describe('refresh', () => {
  it('a refresh whose source answers before its marker lands still writes its value back (after the marker, under its fence)', async () => {
    const inner = createTestRemoteStore();
    const chaos = chaosRemoteStore(inner);
    const h = harness({ remote: chaos.store, remoteOptions: { timeoutMs: 1000 } });
    await h.request().items.load(7);
    await flush();
    // The marker write is slow; the refresh's source answers at once.
    chaos.delay(30, 'setMany');
    const refreshed = await h.request().items.refresh(7);
    expect(refreshed).toMatchObject({ id: 7, call: 2 });
    await until(() => h.create.stats().remote!.pendingWrites === 0);
    await until(() => inner.commands.setMany >= 2);
    await until(() => h.create.stats().remote!.pendingWrites === 0);
    // Another instance (its own in-process tier) on the same store reads the refreshed value from it.
    const other = harness({ remote: inner });
    expect(await other.request().items.load(7)).toMatchObject({ id: 7, call: 2 });
    expect(other.calls).toHaveLength(0);
  });
});

async function until(condition: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a cold scope', () => {
  it('concurrent first batches of one process share the token they make: every entry lands readable for another instance', async () => {
    const remote = createTestRemoteStore();
    const h = harness({ remote });
    // Ten requests at once, each its own batch of distinct keys, in a scope Redis has no token for.
    const ids = Array.from({ length: 10 }, (_, i) => i + 1);
    await Promise.all(ids.map((id) => h.request().items.load(id)));
    expect(h.calls).toHaveLength(10);
    await until(() => h.create.stats().remote!.pendingWrites === 0);
    // Another instance reads every one from the store.
    const other = harness({ remote });
    const request = other.request();
    expect(await Promise.all(ids.map((id) => request.items.load(id)))).toEqual(
      ids.map((id) => expect.objectContaining({ id })),
    );
    expect(other.calls).toHaveLength(0);
    expect(other.create.stats().loaders.items).toMatchObject({ remoteHits: 10 });
  });
});
