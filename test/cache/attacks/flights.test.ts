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
