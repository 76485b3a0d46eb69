/**
 * `shared.l1Ttl`: the in-process tier keeps an entry at most that long over a remote tier that keeps it
 * longer, so a change another instance made in the remote tier is seen within the bound.
 */
import { describe, expect, it } from 'vitest';
import { createTestRemoteStore } from '../../src/testing/index.js';
import { flush, harness } from './harness.js';

function setup(l1Ttl: number) {
  /** The row's version in the "database" both instances read. */
  const db = { version: 1 };
  const answer = (id: number) => ({ id, version: db.version });
  let clock = 1_700_000_000_000;
  const remote = createTestRemoteStore({ now: () => clock });
  const reads: number[] = [];
  const counted = {
    ...remote,
    name: 'counted',
    getMany(keys: readonly string[], signal: AbortSignal) {
      reads.push(keys.length);
      return remote.getMany(keys, signal);
    },
    setMany: remote.setMany.bind(remote),
    deleteMany: remote.deleteMany.bind(remote),
    close: remote.close.bind(remote),
  };
  const a = harness({ remote: counted, shared: { ttl: 60_000, l1Ttl }, start: clock, answer });
  const b = harness({ remote: counted, shared: { ttl: 60_000, l1Ttl }, start: clock, answer });
  return {
    db,
    a,
    b,
    reads,
    advance(ms: number) {
      clock += ms;
      a.advance(ms);
      b.advance(ms);
    },
  };
}

describe('shared.l1Ttl', () => {
  it('an in-process entry lives at most l1Ttl; then the remote tier answers (no source call), with its own lifetime', async () => {
    const { a, reads, advance } = setup(1_000);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 });
    await flush();
    expect(reads).toEqual([2]);
    advance(999);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 });
    expect(reads).toEqual([2]); // still in process
    advance(1);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 });
    expect(reads).toEqual([2, 2]); // the in-process copy is gone: read from the remote tier
    expect(a.create.stats().loaders.items!).toMatchObject({ sourceCalls: 1, remoteHits: 1 });
    advance(500);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 });
    expect(reads).toEqual([2, 2]); // kept in process again, for l1Ttl
  });

  it("another instance's change in the remote tier is seen within l1Ttl", async () => {
    const { a, b, db, advance } = setup(1_000);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 });
    await flush();
    // b changes the row and refreshes the key: the new value goes to the remote tier.
    db.version = 2;
    expect(await b.request().items.refresh(1)).toEqual({ id: 1, version: 2 });
    await flush();
    advance(999);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 1 }); // a's copy, within the bound
    advance(1);
    expect(await a.request().items.load(1)).toEqual({ id: 1, version: 2 }); // from the remote tier
    expect(a.keys()).toEqual([[1]]);
  });

  it('l1Ttl 0 keeps nothing in process: every load reads the remote tier', async () => {
    const { a, reads } = setup(0);
    await a.request().items.load(1);
    await flush();
    await a.request().items.load(1);
    await a.request().items.load(1);
    expect(reads).toEqual([2, 2, 2]);
    expect(a.keys()).toEqual([[1]]);
    expect(a.create.stats().store!.entries).toBe(0);
  });

  it('refuses an l1Ttl that is not a number of ms >= 0, naming the loader', () => {
    expect(() => harness({ shared: { l1Ttl: -1 } })).toThrow(
      'Loader "items": shared.l1Ttl must be a finite number of milliseconds >= 0, but got: -1.',
    );
  });
});

describe('shared.l1Ttl without a remote tier', () => {
  it('0 caches nothing and counts no write', async () => {
    const h = harness({ shared: { ttl: 60_000, l1Ttl: 0 } });
    for (let i = 0; i < 3; i++) await h.request().items.load(1);
    expect(h.keys()).toEqual([[1], [1], [1]]);
    expect(h.create.stats().loaders.items!.writes).toBe(0);
  });
});
