import { describe, expect, it } from 'vitest';
import { db, instance, remote, sleep } from '../harness.js';

describe('attack: invalidation fences vs the remote tier (one instance)', () => {
  it('a load started right after invalidate() (not yet resolved) must not see the old value', async () => {
    const r = remote();
    const data = db();
    const a = instance(r.store, data);
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 });
    await sleep(5); // write-back landed
    data.set(1, 2);
    r.chaos.delay(30, 'deleteMany'); // a slow delete, well within the deadline
    const inv = a.req().invalidate(1); // fenced synchronously at the call
    const after = await a.req().load(1); // a later load
    await inv;
    expect(after).toEqual({ id: 1, v: 2 });
  });

  it('a load started right after invalidateScope() must not see the old value', async () => {
    const r = remote();
    const data = db();
    const a = instance(r.store, data);
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 });
    await sleep(5);
    data.set(1, 2);
    r.chaos.delay(30, 'setMany'); // the new generation token lands late
    const inv = a.req().invalidateScope();
    const after = await a.req().load(1);
    await inv;
    expect(after).toEqual({ id: 1, v: 2 });
    // and the old value was not put back into the in-process tier either
    await sleep(40);
    expect(await a.req().load(1)).toEqual({ id: 1, v: 2 });
  });

  it('a write-back still in the air when invalidate() resolves must not resurrect the old value', async () => {
    const r = remote();
    const data = db();
    const a = instance(r.store, data);
    r.chaos.delay(30, { methods: 'setMany', times: 1 }); // the write-back of v1 is slow (< deadline)
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 });
    data.set(1, 2);
    await a.req().invalidate(1); // resolves: remote delete done
    await sleep(50); // the slow write-back of v1 lands after the delete
    // same instance, in-process entry was dropped: it reads the remote tier
    expect(await a.req().load(1)).toEqual({ id: 1, v: 2 });
  });

  it('refresh() that fails leaves the old remote entry: the next load must go to the source (README), not serve it', async () => {
    const r = remote();
    const data = db();
    let failing = false;
    const a = instance(r.store, data, { fail: () => failing });
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 });
    await sleep(5);
    data.set(1, 2);
    failing = true;
    await expect(a.req().refresh(1)).rejects.toThrow('source down');
    failing = false;
    const calls = a.calls.length;
    expect(await a.req().load(1)).toEqual({ id: 1, v: 2 });
    expect(a.calls.length).toBe(calls + 1);
  });

  it('a refresh whose generation read fails writes nothing remote: after eviction the pre-refresh value is served', async () => {
    const r = remote();
    const data = db();
    const a = instance(r.store, data, { maxEntries: 1 });
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 });
    await sleep(5);
    data.set(1, 2);
    r.chaos.fail({ methods: 'getMany', times: 1 }); // the refresh's generation read fails
    expect(await a.req().refresh(1)).toEqual({ id: 1, v: 2 });
    await sleep(5);
    await a.req().load(99); // evicts key 1 from the 1-entry local tier
    await sleep(5);
    // "Once a refresh resolves, no load sees a value older than it"
    expect(await a.req().load(1)).toEqual({ id: 1, v: 2 });
  });

  it('losing the generation token (evicted by the remote store) resurrects entries from before invalidateScope', async () => {
    const r = remote();
    const data = db();
    const a = instance(r.store, data);
    const b = instance(r.store, data);
    expect(await a.req().load(1)).toEqual({ id: 1, v: 1 }); // written under generation '0' (no token yet)
    await sleep(5);
    data.set(1, 2);
    await a.req().invalidateScope(); // token T
    // the remote store evicts the token (Redis maxmemory-policy allkeys-lru may pick it)
    const gen = '9:loaderkit5:items1:12:sag';
    await r.inner.deleteMany([gen], new AbortController().signal);
    expect(await b.req().load(1)).toEqual({ id: 1, v: 2 });
  });
});
