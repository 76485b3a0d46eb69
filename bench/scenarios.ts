/**
 * The scenarios of `npm run bench` and the libraries they run against. Each library runs in its own
 * worker thread (bench/worker.ts), so its call sites stay monomorphic as in a real server.
 */
import NpmDataLoader from 'dataloader';
import { FloorLoader } from './floor.js';
import { kit } from './kit.js';

const { DataLoader } = kit;

type AnyLoader = {
  load(key: number): Promise<unknown>;
  loadMany(keys: number[]): Promise<unknown[]>;
  prime(key: number, value: unknown): unknown;
};
/**
 * Options a scenario may set. Only loaderkit reads `immediateCacheHits` (dataloader and the floor
 * always make a hit wait for the pending batch); only the baseline reads `memoBaseline`.
 */
type Options = { maxBatchSize?: number; immediateCacheHits?: boolean; memoBaseline?: boolean };
type Make = (options?: Options) => AnyLoader;

const identityBatch = (keys: readonly number[]) => Promise.resolve(keys);

/**
 * No batching, no memo: what the scenario costs without any loader (each load a new resolved
 * promise). With `memoBaseline` (the memo-hit scenarios), each key's promise is made once and
 * returned again, so the baseline is the harness alone (map and Promise.all over promises that
 * already exist) and a loader's cost is everything a hit does: without it, a loader that answers a
 * hit with the memoized promise cost less than the baseline's new promise per load, below zero.
 */
const baseline: Make = (options) => {
  if (options?.memoBaseline) {
    const promises: Promise<number>[] = [];
    const load = (key: number) => (promises[key] ??= Promise.resolve(key));
    return { load, loadMany: (keys) => Promise.all(keys.map(load)), prime: () => undefined };
  }
  return {
    load: (key) => Promise.resolve(key),
    loadMany: (keys) => Promise.all(keys.map((key) => Promise.resolve(key))),
    prime: () => undefined,
  };
};

export const LIBRARIES = ['loaderkit', 'dataloader', 'floor', 'baseline'] as const;
export type Library = (typeof LIBRARIES)[number];
export const libraries: Record<Library, Make> = {
  loaderkit: (options) =>
    new DataLoader<number, number>(
      identityBatch,
      options && { maxBatchSize: options.maxBatchSize, immediateCacheHits: options.immediateCacheHits },
    ),
  dataloader: (options) =>
    new NpmDataLoader<number, number>(
      identityBatch,
      options?.maxBatchSize === undefined ? undefined : { maxBatchSize: options.maxBatchSize },
    ),
  floor: (options) =>
    new FloorLoader<number, number>(identityBatch, options && { maxBatchSize: options.maxBatchSize }),
  baseline,
};

const N = 1000;
const KEYS = Array.from({ length: N }, (_, i) => i);
const KEYS_WITH_DUPLICATES = Array.from({ length: N }, (_, i) => i % (N / 2));

export interface Scenario {
  name: string;
  /** Loads performed by one run, for the per-load figure. */
  loads: number;
  /** Prepares state outside the timed part; returns the timed part. */
  prepare(make: Make): Promise<() => Promise<unknown>>;
}

/** A run: a new loader with `options` loads the 1000 distinct keys at once. */
function loadEveryKey(options?: Options): Scenario['prepare'] {
  return async (make) => () => {
    const loader = make(options);
    return Promise.all(KEYS.map((k) => loader.load(k)));
  };
}

/** A run: the same loader (made with `options`) loads 1000 keys that are all in its memo. */
function memoHits(options: Options): Scenario['prepare'] {
  return async (make) => {
    const loader = make(options);
    await Promise.all(KEYS.map((k) => loader.load(k)));
    return () => Promise.all(KEYS.map((k) => loader.load(k)));
  };
}

export const scenarios: Scenario[] = [
  {
    name: 'fresh loader, 1000 distinct keys',
    loads: N,
    prepare: loadEveryKey(),
  },
  {
    // dataloader's timing (each hit waits for the pending batch), whatever loaderkit's default is.
    name: 'memo hits, dataloader timing (1000 keys)',
    loads: N,
    prepare: memoHits({ immediateCacheHits: false, memoBaseline: true }),
  },
  {
    // loaderkit answers with the memoized promise; dataloader and the floor still wait for a batch.
    name: 'memo hits, immediateCacheHits: true',
    loads: N,
    prepare: memoHits({ immediateCacheHits: true, memoBaseline: true }),
  },
  {
    name: 'maxBatchSize 100 (1000 keys)',
    loads: N,
    prepare: loadEveryKey({ maxBatchSize: 100 }),
  },
  {
    name: 'loadMany, 1000 keys with duplicates',
    loads: N,
    prepare: async (make) => () => make().loadMany(KEYS_WITH_DUPLICATES),
  },
  {
    // Not one of issue 2's five: it shows the cost per batch, which small GraphQL batches pay.
    name: 'maxBatchSize 10 (100 batches of 10)',
    loads: N,
    prepare: loadEveryKey({ maxBatchSize: 10 }),
  },
  {
    name: '10 nested tiers of awaits (100 x 10)',
    loads: N,
    prepare: async (make) => () => {
      const loader = make();
      const walk = async (root: number) => {
        for (let tier = 0; tier < 10; tier++) await loader.load(tier * 100 + root);
      };
      return Promise.all(Array.from({ length: 100 }, (_, root) => walk(root)));
    },
  },
];

/** Mean ns of one run of `run`, over `repeats` runs. */
export async function timeRun(run: () => Promise<unknown>, repeats: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) await run();
  return Number(process.hrtime.bigint() - start) / repeats;
}
