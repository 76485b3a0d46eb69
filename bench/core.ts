/**
 * `npm run bench`: ns per load of loaderkit's DataLoader, npm `dataloader` and the floor (bench/floor.ts:
 * a Map memo and one promise per key on dataloader's tick, the least a compatible loader can do),
 * side by side in one process. Each library (and a baseline without a loader, where each load is an
 * already-resolved promise) runs in its own worker thread, so no library's code makes another's call sites
 * polymorphic; the workers take turns, never run at once. Every round runs each scenario once per
 * library in rotating order; ns figures are medians over rounds, ratios are medians of the ratios
 * within each round, with their quartiles. A loader's own cost is its total minus the baseline (the
 * harness: map, Promise.all, awaits), and the cost ratios (loaderkit / dataloader, loaderkit / floor)
 * compare those. The loaders use their
 * default options unless a scenario says otherwise. `BENCH_ISOLATION=process` runs each library in
 * a child process instead of a worker thread, as a cross-check (no heap or GC threads shared).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { LIBRARIES, type Library, scenarios } from './scenarios.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/** Where a library runs: a worker thread (the default) or, with BENCH_ISOLATION=process, a child process. */
interface Runner {
  time(scenario: number, repeats: number): Promise<number>;
  stop(): Promise<unknown>;
}

const worker = new URL('./worker.ts', import.meta.url);

/** A worker thread running bench/worker.ts through tsx (registered inside the worker). */
function startThread(library: Library): Runner {
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(worker.href)}); });`;
  const thread = new Worker(code, { eval: true, workerData: library });
  return {
    time: (scenario, repeats) => ask(thread, (message) => thread.postMessage(message), { scenario, repeats }),
    stop: () => thread.terminate(),
  };
}

/** A child process running bench/worker.ts through tsx. */
function startProcess(library: Library): Runner {
  const child: ChildProcess = fork(worker.pathname, [library], { execArgv: ['--import', 'tsx'] });
  return {
    time: (scenario, repeats) => ask(child, (message) => child.send(message), { scenario, repeats }),
    stop: async () => child.kill(),
  };
}

function ask(
  peer: Worker | ChildProcess,
  send: (message: { scenario: number; repeats: number }) => void,
  message: { scenario: number; repeats: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    peer.once('message', (ns: number) => {
      peer.off('error', reject);
      resolve(ns);
    });
    peer.once('error', reject);
    send(message);
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
  // Long enough (~50 ms) that every sample holds several young-generation collections: with short
  // samples the median picks the ones no collection fell into, which hides what allocation costs
  // and flatters the library that allocates less.
  const repeats = Number(process.env.BENCH_REPEATS ?? 300);
  // Each library runs in several independent instances: the JIT of one instance can settle on
  // faster or slower code for a library than another's (single-instance cost ratios of one scenario
  // ranged 0.70-0.82 from run to run); rounds rotate over the instances, so the medians take the
  // typical instance rather than one draw.
  const instances = Number(process.env.BENCH_INSTANCES ?? 4);
  const filter = process.argv[2];
  const isolation = process.env.BENCH_ISOLATION === 'process' ? 'process' : 'thread';
  console.log(
    `loaderkit vs dataloader vs the floor (bench/floor.ts): ns per load, median of ${rounds} rotating rounds x ${repeats} runs, ${instances} ${isolation === 'process' ? 'child processes' : 'worker threads'} per library`,
  );
  console.log(`node ${process.version}; loader cost = total - baseline (no loader)\n`);
  const start = isolation === 'process' ? startProcess : startThread;
  const workers = Object.fromEntries(
    LIBRARIES.map((lib) => [lib, Array.from({ length: instances }, () => start(lib))]),
  ) as Record<Library, Runner[]>;
  const rows: string[][] = [
    [
      'scenario',
      'loaderkit',
      'dataloader',
      'floor',
      'baseline',
      'cost lk / dl / floor (ns)',
      'lk/dl cost',
      'q1-q3',
      'lk/floor cost',
      'q1-q3',
      'targets',
    ],
  ];
  try {
    // Every library first runs every scenario, so each is measured in the state a server's loaders
    // are in (having seen misses, memo hits, full batches and loadMany), whichever scenarios are
    // measured and in whatever order: a loader that has only ever taken one path can run faster
    // than it will in a server.
    for (let i = 0; i < 2; i++) {
      for (const index of scenarios.keys()) {
        for (const lib of LIBRARIES) for (const runner of workers[lib]) await runner.time(index, repeats);
      }
    }
    for (const [index, scenario] of scenarios.entries()) {
      if (filter && !scenario.name.includes(filter)) continue;
      const samples = Object.fromEntries(LIBRARIES.map((lib) => [lib, [] as number[]])) as Record<
        Library,
        number[]
      >;
      // Warm this scenario up again right before measuring it.
      for (const lib of LIBRARIES) for (const runner of workers[lib]) await runner.time(index, repeats);
      for (let round = 0; round < rounds; round++) {
        for (let j = 0; j < LIBRARIES.length; j++) {
          const lib = LIBRARIES[(round + j) % LIBRARIES.length]!;
          const runner = workers[lib][round % instances]!;
          samples[lib].push((await runner.time(index, repeats)) / scenario.loads);
        }
      }
      const ns = Object.fromEntries(LIBRARIES.map((lib) => [lib, median(samples[lib])])) as Record<
        Library,
        number
      >;
      // The host's speed drifts in phases of seconds; ratios taken within a round, where all ran back
      // to back, are steadier than ratios of medians taken over the whole run.
      const costRatios = (other: Library) =>
        samples.loaderkit.map(
          (ours, r) => (ours - samples.baseline[r]!) / (samples[other][r]! - samples.baseline[r]!),
        );
      const vsDataloader = costRatios('dataloader');
      const vsFloor = costRatios('floor');
      const cost = (lib: Library) => (ns[lib] - ns.baseline).toFixed(1);
      // Targets (issue #9): <= 1.00x dataloader (<= 0.80x for memo hits with dataloader's timing) and
      // <= 1.10x the floor.
      const dlTarget = scenario.name.startsWith('memo hits, dataloader timing') ? 0.8 : 1.0;
      const marks = [
        median(vsDataloader) <= dlTarget ? 'ok' : `dl>${dlTarget.toFixed(2)}`,
        median(vsFloor) <= 1.1 ? 'ok' : 'floor>1.10',
      ];
      rows.push([
        scenario.name,
        ns.loaderkit.toFixed(1),
        ns.dataloader.toFixed(1),
        ns.floor.toFixed(1),
        ns.baseline.toFixed(1),
        `${cost('loaderkit')} / ${cost('dataloader')} / ${cost('floor')}`,
        `${median(vsDataloader).toFixed(2)}x`,
        `${quantile(vsDataloader, 0.25).toFixed(2)}-${quantile(vsDataloader, 0.75).toFixed(2)}`,
        `${median(vsFloor).toFixed(2)}x`,
        `${quantile(vsFloor, 0.25).toFixed(2)}-${quantile(vsFloor, 0.75).toFixed(2)}`,
        marks.join(' '),
      ]);
    }
  } finally {
    await Promise.all(
      Object.values(workers)
        .flat()
        .map((runner) => runner.stop()),
    );
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
  }
}

await main();
