/** Review helpers: an "instance" is one defineLoaders over a shared remote store. */
import { createMemoryStore, defineLoaders, type RemoteStore } from '../../src/index.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../src/testing/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Ctx {
  tenant: string;
}

/** A mutable "database": version per id. */
export function db() {
  const rows = new Map<number, number>();
  return {
    rows,
    get: (id: number) => rows.get(id) ?? 1,
    set: (id: number, v: number) => rows.set(id, v),
  };
}

export function instance(
  remote: RemoteStore | undefined,
  data: ReturnType<typeof db>,
  opts: {
    maxEntries?: number;
    ttl?: number;
    graceMs?: number;
    fail?: () => boolean;
    delay?: () => number;
    timeoutMs?: number;
    errors?: Error[];
  } = {},
) {
  const calls: number[][] = [];
  const createLoaders = defineLoaders(
    {
      items: {
        batch: async (ids: readonly number[], _ctx: Ctx) => {
          calls.push([...ids]);
          // the db is read at the start of the call (a snapshot), the answer comes back later
          const rows = ids.map((id) => ({ id, v: data.get(id) }));
          const d = opts.delay?.() ?? 0;
          if (d > 0) await sleep(d);
          if (opts.fail?.()) throw new Error('source down');
          return rows;
        },
        shared: {
          scope: (ctx: Ctx) => ctx.tenant,
          ttl: opts.ttl ?? 60_000,
          jitter: 0,
          graceMs: opts.graceMs ?? 0,
        },
      },
    },
    {
      store: createMemoryStore({ maxEntries: opts.maxEntries ?? 1000 }),
      ...(remote === undefined ? {} : { remote }),
      remoteOptions: { timeoutMs: opts.timeoutMs ?? 100, breakerThreshold: 1000 },
      onError: (e) => opts.errors?.push(e),
    },
  );
  return { createLoaders, calls, req: (tenant = 'a') => createLoaders({ tenant }).items };
}

export function remote() {
  const inner = createTestRemoteStore();
  const chaos = chaosRemoteStore(inner);
  return { inner, chaos, store: chaos.store };
}
