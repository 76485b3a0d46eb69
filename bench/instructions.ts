/**
 * `npm run bench:instructions [scenario...]`: instructions per load, counted by valgrind (cachegrind)
 * under `node --predictable`, for loaderkit (the built package), npm dataloader and a baseline without
 * a loader. Unlike time, the count is the same from run to run. Each figure is the difference between
 * 900 and 400 runs of a scenario (so start-up and JIT warm-up cancel out), divided by the loads.
 * Slow (about a minute per figure); needs valgrind (`apt-get install valgrind`).
 */
import { execFileSync } from 'node:child_process';

const SCENARIOS = ['fresh', 'memo', 'mbs100', 'mbs10', 'many', 'nested'];
const LIBRARIES = ['loaderkit', 'dataloader', 'baseline'] as const;
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : SCENARIOS;

function perLoad(library: string, scenario: string): number {
  const read = (runs: number) => {
    const result = execFileSync(
      'sh',
      [
        '-c',
        `valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "${process.execPath}" --predictable bench/icount.mjs ${library} ${scenario} ${runs} 2>&1 | grep "I *refs"`,
      ],
      { encoding: 'utf8' },
    );
    return Number(result.trim().split(/\s+/).pop()!.replace(/,/g, ''));
  };
  return (read(900) - read(400)) / 500 / 1000;
}

console.log('instructions per load (valgrind, steady state: 900 − 400 runs)\n');
console.log(['scenario', ...LIBRARIES, 'loaderkit cost / dataloader cost'].join('\t'));
for (const scenario of chosen) {
  const [ours, theirs, base] = LIBRARIES.map((library) => perLoad(library, scenario)) as [
    number,
    number,
    number,
  ];
  console.log(
    [
      scenario,
      ours.toFixed(0),
      theirs.toFixed(0),
      base.toFixed(0),
      ((ours - base) / (theirs - base)).toFixed(2),
    ].join('\t'),
  );
}
