/**
 * `npm run bench`: ns per load of loaderkit's DataLoader and npm `dataloader`, side by side in one
 * process. Every round runs each scenario for both libraries, in alternating order; the figure is the
 * median over rounds. Both use their default options unless the scenario says otherwise.
 */
import NpmDataLoader from 'dataloader';
import { DataLoader } from '../src/index.js';

type AnyLoader = {
  load(key: number): Promise<unknown>;
  loadMany(keys: number[]): Promise<unknown[]>;
  prime(key: number, value: unknown): unknown;
};
type Make = (options?: { maxBatchSize?: number }) => AnyLoader;

const identityBatch = (keys: readonly number[]) => Promise.resolve(keys);

const libraries: Record<'loaderkit' | 'dataloader', Make> = {
  loaderkit: (options) => new DataLoader<number, number>(identityBatch, options),
  dataloader: (options) => new NpmDataLoader<number, number>(identityBatch, options),
};

const N = 1000;
const KEYS = Array.from({ length: N }, (_, i) => i);
const KEYS_WITH_DUPLICATES = Array.from({ length: N }, (_, i) => i % (N / 2));

interface Scenario {
  name: string;
  /** Loads performed by one run, for the per-load figure. */
  loads: number;
  /** Prepares state outside the timed part; returns the timed part. */
  prepare(make: Make): Promise<() => Promise<unknown>>;
}

const scenarios: Scenario[] = [
  {
    name: 'fresh loader, 1000 distinct keys',
    loads: N,
    prepare: async (make) => () => {
      const loader = make();
      return Promise.all(KEYS.map((k) => loader.load(k)));
    },
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
    prepare: async (make) => () => {
      const loader = make({ maxBatchSize: 100 });
      return Promise.all(KEYS.map((k) => loader.load(k)));
    },
  },
  {
    name: 'loadMany, 1000 keys with duplicates',
    loads: N,
    prepare: async (make) => () => make().loadMany(KEYS_WITH_DUPLICATES),
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

async function timeRun(run: () => Promise<unknown>, repeats: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) await run();
  return Number(process.hrtime.bigint() - start) / repeats;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
  const repeats = Number(process.env.BENCH_REPEATS ?? 40);
  const filter = process.argv[2];
  console.log(
    `loaderkit vs dataloader: ns per load, median of ${rounds} interleaved rounds x ${repeats} runs`,
  );
  console.log(`node ${process.version}\n`);
  const rows: string[][] = [['scenario', 'loaderkit', 'dataloader', 'ratio']];
  for (const scenario of scenarios) {
    if (filter && !scenario.name.includes(filter)) continue;
    const samples = { loaderkit: [] as number[], dataloader: [] as number[] };
    const runs = {
      loaderkit: await scenario.prepare(libraries.loaderkit),
      dataloader: await scenario.prepare(libraries.dataloader),
    };
    // Warm both up before measuring.
    for (let i = 0; i < 3; i++) {
      await timeRun(runs.loaderkit, repeats);
      await timeRun(runs.dataloader, repeats);
    }
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (['loaderkit', 'dataloader'] as const) : (['dataloader', 'loaderkit'] as const);
      for (const lib of order) samples[lib].push((await timeRun(runs[lib], repeats)) / scenario.loads);
    }
    const ours = median(samples.loaderkit);
    const theirs = median(samples.dataloader);
    rows.push([scenario.name, ours.toFixed(1), theirs.toFixed(1), `${(ours / theirs).toFixed(2)}x`]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
}

await main();
