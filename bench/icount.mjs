// Runs one scenario of `npm run bench:instructions` a given number of times (under valgrind).
// node bench/icount.mjs <loaderkit|dataloader|baseline> <fresh|memo|mbs100|mbs10|many|nested> <runs>
import NpmDataLoader from 'dataloader';
import { DataLoader } from '../dist/index.js';

const [library, scenario, runsArg] = process.argv.slice(2);
const N = 1000;
const KEYS = Array.from({ length: N }, (_, i) => i);
const DUPLICATES = KEYS.map((i) => i % 500);
const identityBatch = (keys) => Promise.resolve(keys);
const baseline = () => ({
  load: (key) => Promise.resolve(key),
  loadMany: (keys) => Promise.all(keys.map((key) => Promise.resolve(key))),
});
const make =
  library === 'loaderkit'
    ? (options) => new DataLoader(identityBatch, options)
    : library === 'dataloader'
      ? (options) => new NpmDataLoader(identityBatch, options)
      : baseline;

let run;
if (scenario === 'fresh') {
  run = () => {
    const loader = make();
    return Promise.all(KEYS.map((k) => loader.load(k)));
  };
} else if (scenario === 'memo') {
  const loader = make();
  await Promise.all(KEYS.map((k) => loader.load(k)));
  run = () => Promise.all(KEYS.map((k) => loader.load(k)));
} else if (scenario === 'mbs100') {
  run = () => {
    const loader = make({ maxBatchSize: 100 });
    return Promise.all(KEYS.map((k) => loader.load(k)));
  };
} else if (scenario === 'mbs10') {
  run = () => {
    const loader = make({ maxBatchSize: 10 });
    return Promise.all(KEYS.map((k) => loader.load(k)));
  };
} else if (scenario === 'many') {
  run = () => make().loadMany(DUPLICATES);
} else if (scenario === 'nested') {
  run = () => {
    const loader = make();
    const walk = async (root) => {
      for (let tier = 0; tier < 10; tier++) await loader.load(tier * 100 + root);
    };
    return Promise.all(Array.from({ length: 100 }, (_, root) => walk(root)));
  };
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
const runs = Number(runsArg);
for (let i = 0; i < runs; i++) await run();
