/**
 * `npm run bench`: ns per load of loaderkit's DataLoader and npm `dataloader`, side by side in one
 * process. Each library (and a baseline without a loader, where each load is an already-resolved
 * promise) runs in its own worker thread, so no library's code makes another's call sites
 * polymorphic; the workers take turns, never run at once. Every round runs each scenario once per
 * library in rotating order; ns figures are medians over rounds, ratios are medians of the ratios
 * within each round. A loader's own cost is its total minus the baseline (the harness: map,
 * Promise.all, awaits), and the cost ratio compares those. Both
 * loaders use their default options unless a scenario says otherwise.
 */
import { Worker } from 'node:worker_threads';
import { LIBRARIES, type Library, scenarios } from './scenarios.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A worker running bench/worker.ts through tsx (registered inside the worker). */
function startWorker(library: Library): Worker {
  const entry = new URL('./worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: library });
}

function time(worker: Worker, scenario: number, repeats: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (ns: number) => {
      worker.off('error', reject);
      resolve(ns);
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
    worker.postMessage({ scenario, repeats });
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
  const repeats = Number(process.env.BENCH_REPEATS ?? 40);
  const filter = process.argv[2];
  console.log(`loaderkit vs dataloader: ns per load, median of ${rounds} rotating rounds x ${repeats} runs`);
  console.log(`node ${process.version}; loader cost = total - baseline (no loader)\n`);
  const workers = Object.fromEntries(LIBRARIES.map((lib) => [lib, startWorker(lib)])) as Record<
    Library,
    Worker
  >;
  const rows: string[][] = [
    ['scenario', 'loaderkit', 'dataloader', 'baseline', 'total ratio', 'loader cost (ns)', 'cost ratio'],
  ];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      if (filter && !scenario.name.includes(filter)) continue;
      const samples = Object.fromEntries(LIBRARIES.map((lib) => [lib, [] as number[]])) as Record<
        Library,
        number[]
      >;
      // Warm every library up before measuring.
      for (let i = 0; i < 3; i++) for (const lib of LIBRARIES) await time(workers[lib], index, repeats);
      for (let round = 0; round < rounds; round++) {
        for (let j = 0; j < LIBRARIES.length; j++) {
          const lib = LIBRARIES[(round + j) % LIBRARIES.length]!;
          samples[lib].push((await time(workers[lib], index, repeats)) / scenario.loads);
        }
      }
      const [ours, theirs, base] = LIBRARIES.map((lib) => median(samples[lib])) as [number, number, number];
      // The host's speed drifts in phases of seconds; ratios taken within a round, where all three ran
      // back to back, are steadier than ratios of medians taken over the whole run.
      const roundTotals = samples.loaderkit.map((ours, r) => ours / samples.dataloader[r]!);
      const roundCosts = samples.loaderkit.map(
        (ours, r) => (ours - samples.baseline[r]!) / (samples.dataloader[r]! - samples.baseline[r]!),
      );
      rows.push([
        scenario.name,
        ours.toFixed(1),
        theirs.toFixed(1),
        base.toFixed(1),
        `${median(roundTotals).toFixed(2)}x`,
        `${(ours - base).toFixed(1)} vs ${(theirs - base).toFixed(1)}`,
        `${median(roundCosts).toFixed(2)}x`,
      ]);
    }
  } finally {
    await Promise.all(Object.values(workers).map((worker) => worker.terminate()));
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
  }
}

await main();
