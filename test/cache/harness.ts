/**
 * Test harness for the shared tier, driven through `defineLoaders`: a source whose calls are recorded
 * (keys and the scope of the context they were made for) and, in manual mode, held until the test
 * settles them; a clock the test moves; and a store the test can watch or break.
 */

import {
  createMemoryStore,
  defineLoaders,
  type LocalStore,
  type RemoteStore,
  type ResilienceOptions,
  type SharedPolicy,
} from '../../src/index.js';
import { chaosRemoteStore, createTestRemoteStore } from '../../src/testing/index.js';

export interface Ctx {
  tenant: string;
}

/** What the source answers: the key, the tenant it was loaded for and which source call made it. */
export interface Item {
  readonly id: number;
  readonly tenant: string;
  readonly call: number;
}

export interface SourceCall {
  readonly keys: number[];
  readonly tenant: string;
  /** 1-based, in the order calls started. */
  readonly call: number;
  /** Manual mode: answers the call (default: one Item per key, or what `answer` says). */
  resolve(values?: unknown[]): void;
  /** Manual mode: fails the whole call. */
  reject(error?: Error): void;
  readonly settled: boolean;
}

export type Answer = (id: number, ctx: Ctx, call: number) => unknown;

export interface HarnessOptions {
  shared?: Partial<SharedPolicy<number, any, Ctx>>;
  /** Hold every source call until the test resolves or rejects it. */
  manual?: boolean;
  answer?: Answer;
  /** Answer with a Map (keys the answer gives null or undefined for are left out). */
  mapResult?: boolean;
  onMissing?: 'null' | 'error';
  maxBatchSize?: number;
  store?: LocalStore;
  /** A remote tier (e.g. a chaos-wrapped test remote store). */
  remote?: RemoteStore;
  remoteOptions?: ResilienceOptions;
  /** Start of the clock (epoch ms). */
  start?: number;
}

export const defaultAnswer: Answer = (id, ctx, call) => ({ id, tenant: ctx.tenant, call });

export function harness(options: HarnessOptions = {}) {
  let clock = options.start ?? 1_700_000_000_000;
  const now = () => clock;
  const calls: SourceCall[] = [];
  const errors: Error[] = [];
  const answer = options.answer ?? defaultAnswer;
  const store = options.store ?? createMemoryStore({ now, maxEntries: 100_000 });

  const batch = (ids: readonly number[], ctx: Ctx): Promise<any> => {
    const call = calls.length + 1;
    const keys = [...ids];
    const build = (values?: unknown[]) => {
      const list = values ?? keys.map((id) => answer(id, ctx, call));
      if (!options.mapResult) return list;
      const map = new Map<number, unknown>();
      keys.forEach((id, i) => {
        if (list[i] !== null && list[i] !== undefined) map.set(id, list[i]);
      });
      return map;
    };
    let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
    const promise = new Promise<unknown>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const record: SourceCall & { settled: boolean } = {
      keys,
      tenant: ctx.tenant,
      call,
      settled: false,
      resolve(values) {
        if (record.settled) throw new Error(`source call ${call} already settled`);
        record.settled = true;
        settle.resolve(build(values));
      },
      reject(error = new Error(`source call ${call} failed`)) {
        if (record.settled) throw new Error(`source call ${call} already settled`);
        record.settled = true;
        settle.reject(error);
      },
    };
    calls.push(record);
    if (!options.manual) record.resolve();
    return promise;
  };

  const create = defineLoaders(
    {
      items: {
        batch,
        ...(options.onMissing === undefined ? {} : { onMissing: options.onMissing }),
        ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
        shared: { scope: (ctx: Ctx) => ctx.tenant, ttl: 1_000, jitter: 0, ...options.shared } as SharedPolicy<
          number,
          any,
          Ctx
        >,
      },
    },
    {
      store,
      now,
      onError: (error) => errors.push(error),
      ...(options.remote === undefined ? {} : { remote: options.remote }),
      ...(options.remoteOptions === undefined ? {} : { remoteOptions: options.remoteOptions }),
    },
  );

  return {
    create,
    store,
    calls,
    errors,
    now,
    /** A new request of `tenant`. */
    request: (tenant = 'acme') => create({ tenant }),
    advance(ms: number) {
      clock += ms;
    },
    /** Keys of every source call, in order. */
    keys: () => calls.map((c) => c.keys),
    pending: () => calls.filter((c) => !c.settled),
  };
}

/** Lets queued work run: promise jobs, ticks and a few macrotask turns (no timers). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export type State<T> =
  | { status: 'pending' }
  | { status: 'fulfilled'; value: T }
  | { status: 'rejected'; reason: unknown };

/** Where a promise stands after queued work has run; handles rejections so none goes unhandled. */
export function track<T>(promise: Promise<T>): { readonly state: State<T> } {
  const box: { state: State<T> } = { state: { status: 'pending' } };
  promise.then(
    (value) => {
      box.state = { status: 'fulfilled', value };
    },
    (reason: unknown) => {
      box.state = { status: 'rejected', reason };
    },
  );
  return box;
}

export async function stateAfterFlush<T>(promise: Promise<T>): Promise<State<T>> {
  const box = track(promise);
  await flush();
  return box.state;
}

type StoreMethod = 'get' | 'set' | 'delete' | 'deleteSpaces';

/**
 * A local store over a memory store that records calls and can be made to fail: `fail.add(method)`
 * makes that method throw.
 */
export function watchedStore(inner: LocalStore) {
  const fail = new Set<StoreMethod>();
  const counts: Record<StoreMethod, number> = { get: 0, set: 0, delete: 0, deleteSpaces: 0 };
  const writes: Array<{
    space: string;
    key: unknown;
    ttlMs: number;
    freshUntil: number;
    staleUntil: number;
  }> = [];
  /** The keys `get` was called with, in order. */
  const reads: unknown[] = [];
  const check = (method: StoreMethod) => {
    counts[method]++;
    if (fail.has(method)) throw new Error(`store down (${method})`);
  };
  const store: LocalStore = {
    name: 'watched',
    get(space, key) {
      check('get');
      reads.push(key);
      return inner.get(space, key);
    },
    set(entry, ttlMs) {
      check('set');
      writes.push({
        space: entry.space,
        key: entry.key,
        ttlMs,
        freshUntil: entry.freshUntil,
        staleUntil: entry.staleUntil,
      });
      inner.set(entry, ttlMs);
    },
    delete(space, key) {
      check('delete');
      inner.delete(space, key);
    },
    deleteSpaces(prefix) {
      check('deleteSpaces');
      return inner.deleteSpaces(prefix);
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
  return { store, fail, counts, writes, reads };
}

/** Two-instance attacks: an instance is one defineLoaders over a shared remote store, on a mutable db. */

/** Waits real time (deadlines in fault tests). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
