/**
 * One library's side of `npm run bench`: prepares scenarios on demand and times them when asked.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Library, libraries, scenarios, timeRun } from './scenarios.js';

const library = workerData as Library;
const prepared = new Map<number, () => Promise<unknown>>();

parentPort!.on('message', async (message: { scenario: number; repeats: number }) => {
  let run = prepared.get(message.scenario);
  if (run === undefined) {
    run = await scenarios[message.scenario]!.prepare(libraries[library]);
    prepared.set(message.scenario, run);
  }
  parentPort!.postMessage(await timeRun(run, message.repeats));
});
