import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineLoaders } from '../../../src/index.js';
import { sleep } from '../harness.js';

interface Ctx {
  tenant: string;
}

function abortable() {
  const calls: Array<{ ids: number[]; aborted: boolean }> = [];
  const createLoaders = defineLoaders(
    {
      items: {
        batch: (ids: readonly number[], _ctx: Ctx, { signal }: { signal: AbortSignal }) => {
          const call = { ids: [...ids], aborted: false };
          calls.push(call);
          return new Promise<Array<{ id: number }>>((resolve, reject) => {
            const t = setTimeout(() => resolve(ids.map((id) => ({ id }))), 20);
            // a driver that cancels its query a little after the abort (realistic: a round trip)
            signal.addEventListener('abort', () => {
              call.aborted = true;
              setTimeout(() => {
                clearTimeout(t);
                reject(signal.reason);
              }, 5);
            });
          });
        },
        shared: { scope: 'global', ttl: 60_000 },
      },
    },
    { store: createMemoryStore() },
  );
  return { createLoaders, calls };
}

describe('attack: single-flight and abort', () => {
  it('a request that joins after the owner left must not get the owner’s abort', async () => {
    const { createLoaders, calls } = abortable();
    const ownerAbort = new AbortController();
    const owner = createLoaders({ tenant: 'a' }, { signal: ownerAbort.signal }).items.load(1);
    owner.catch(() => {});
    await sleep(1); // the source call is in the air
    ownerAbort.abort(new Error('owner went away'));
    // a second, live request loads the same key while the cancelled call winds down
    const other = createLoaders({ tenant: 'a' }).items.load(1);
    await expect(other).resolves.toEqual({ id: 1 });
    expect(calls.length).toBeGreaterThanOrEqual(1);
  });
});

describe('attack: a flight every waiter left', () => {
  it('is superseded by the next load: answering late (its source ignores the abort), it writes nothing back past an invalidate', async () => {
    let version = 1;
    const releases: Array<() => void> = [];
    const createLoaders = defineLoaders(
      {
        items: {
          // A driver that does not cancel: it answers what it read when it was called.
          batch: (ids: readonly number[]) => {
            const seen = version;
            const rows = ids.map((id) => ({ id, version: seen }));
            if (releases.length >= 2) return Promise.resolve(rows);
            return new Promise<typeof rows>((resolve) => {
              releases.push(() => resolve(rows));
            });
          },
          shared: { scope: 'global', ttl: 60_000 },
        },
      },
      { store: createMemoryStore() },
    );
    const left = new AbortController();
    const first = createLoaders({ tenant: 'a' }, { signal: left.signal }).items.load(1);
    first.catch(() => {});
    await sleep(1);
    left.abort(); // every waiter of the first flight has gone; its source call goes on
    const second = createLoaders({ tenant: 'a' }).items.load(1); // a new flight (never joins the aborted one)
    await sleep(1);
    version = 2;
    await createLoaders.invalidate('items', [1], { tenant: 'a' });
    releases[0]!(); // the first flight's source answers what it read before the invalidation
    releases[1]!();
    await second;
    await sleep(1);
    expect(await createLoaders({ tenant: 'a' }).items.load(1)).toEqual({ id: 1, version: 2 });
  });
});
