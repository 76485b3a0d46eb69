/**
 * One library's side of `npm run bench`: prepares scenarios on demand and times them when asked. Runs
 * in a worker thread, or in a child process with `BENCH_ISOLATION=process` (see bench/core.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Library, libraries, scenarios, timeRun } from './scenarios.js';

type Request = { scenario: number; repeats: number };
const library = (parentPort === null ? process.argv[2] : workerData) as Library;
const prepared = new Map<number, () => Promise<unknown>>();

async function answer(message: Request): Promise<number> {
  let run = prepared.get(message.scenario);
  if (run === undefined) {
    run = await scenarios[message.scenario]!.prepare(libraries[library]);
    prepared.set(message.scenario, run);
  }
  return timeRun(run, message.repeats);
}

if (parentPort !== null) {
  const port = parentPort;
  port.on('message', async (message: Request) => port.postMessage(await answer(message)));
} else {
  process.on('message', async (message: Request) => process.send!(await answer(message)));
}
