/**
 * The remote tier's invalidation markers (src/cache/remote/tier.ts): the `invalidate` calls of one tick
 * share one write, however many (a loop of calls is one round trip, and never more calls in the air
 * than the remote facade allows).
 */
import { describe, expect, it } from 'vitest';
import { createTestRemoteStore } from '../../../src/testing/index.js';
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
