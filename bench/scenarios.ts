/**
 * The scenarios of `npm run bench` and the libraries they run against. Each library runs in its own
 * worker thread (bench/worker.ts), so its call sites stay monomorphic as in a real server.
 */
import NpmDataLoader from 'dataloader';
import { kit } from './kit.js';

const { DataLoader } = kit;

type AnyLoader = {
  load(key: number): Promise<unknown>;
  loadMany(keys: number[]): Promise<unknown[]>;
  prime(key: number, value: unknown): unknown;
};
type Make = (options?: { maxBatchSize?: number }) => AnyLoader;

const identityBatch = (keys: readonly number[]) => Promise.resolve(keys);

/** No batching, no memo: what the scenario costs without any loader. */
const baseline: Make = () => ({
  load: (key) => Promise.resolve(key),
  loadMany: (keys) => Promise.all(keys.map((key) => Promise.resolve(key))),
  prime: () => undefined,
});

export const LIBRARIES = ['loaderkit', 'dataloader', 'baseline'] as const;
export type Library = (typeof LIBRARIES)[number];
export const libraries: Record<Library, Make> = {
  loaderkit: (options) => new DataLoader<number, number>(identityBatch, options),
  dataloader: (options) => new NpmDataLoader<number, number>(identityBatch, options),
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
function loadEveryKey(options?: { maxBatchSize?: number }): Scenario['prepare'] {
  return async (make) => () => {
    const loader = make(options);
    return Promise.all(KEYS.map((k) => loader.load(k)));
  };
}

export const scenarios: Scenario[] = [
  {
    name: 'fresh loader, 1000 distinct keys',
    loads: N,
    prepare: loadEveryKey(),
  },
  {
    name: 'memo hits (1000 cached keys)',
    loads: N,
    prepare: async (make) => {
      const loader = make();
      await Promise.all(KEYS.map((k) => loader.load(k)));
      return () => Promise.all(KEYS.map((k) => loader.load(k)));
    },
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
