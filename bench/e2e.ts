/**
 * `npm run bench:e2e`: autocannon against the example server (examples/yoga-server, embedded PGlite,
 * run in a child process so load generation and serving do not share a thread), for each way of
 * fetching: naive resolvers, hand-wired npm dataloader, loaderkit per request, loaderkit over a
 * warm shared cache, and loaderkit over a partly warm one (`partly`: only the users loader is shared,
 * and it keeps only even user ids, so about half of its shared lookups hit in steady state, however
 * long the run; see examples/yoga-server/loaders.ts). Reports requests per second, p99 latency, SQL
 * statements per request measured over the timed runs (the server's totals per mode, read before
 * and after each run), and the partly mode's shared hit ratio over its runs.
 *
 * Chosen over random user ranges against a bounded store: with a fixed rule of which keys are kept
 * the hit ratio does not depend on eviction order, run length or the request mix, so rounds compare.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';

const PORT = Number(process.env.BENCH_PORT ?? 4477);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS_E2E ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const QUERY = '{ users(limit: 10) { name posts { title tags { name } comments { body author { name } } } } }';
const MODES = ['naive', 'dataloader', 'loaders', 'shared', 'partly'] as const;
const url = `http://127.0.0.1:${PORT}/graphql`;

async function startServer(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/yoga-server/main.ts'], {
    env: { ...process.env, PORT: String(PORT) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the example server did not start within 60 s')), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('GraphiQL:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the example server exited with ${code}`)));
  });
  return child;
}

interface BenchStats {
  totals: Record<string, { requests: number; statements: number }>;
  partlyUsers: { sharedHits: number; staleHits: number; misses: number };
}

/** The server's totals so far (this request is not counted). */
async function benchStats(): Promise<BenchStats> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bench-stats': '1' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  const body = (await response.json()) as { extensions: { bench: BenchStats } };
  return body.extensions.bench;
}

/** Waits until the server answers a trivial request quickly again (its queue is empty). */
async function drain(): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ user(id: 1) { name } }' }),
    });
    if (performance.now() - started < 50) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function load(mode: string, duration: number) {
  return autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration,
    headers: { 'content-type': 'application/json', 'x-loaderkit-mode': mode },
    body: JSON.stringify({ query: QUERY }),
  });
}

const server = await startServer();
try {
  console.log(`loaderkit e2e: ${QUERY}`);
  console.log(
    `${CONNECTIONS} connections; ${ROUNDS} rounds of ${DURATION} s per batched mode in rotating order ` +
      `(medians, after a 2 s warm-up each), naive once at the end; node ${process.version}\n`,
  );
  const samples = Object.fromEntries(
    MODES.map((mode) => [
      mode,
      { rps: [] as number[], p99: [] as number[], errors: 0, requests: 0, statements: 0 },
    ]),
  );
  let hits = 0;
  let lookups = 0;
  const measure = async (mode: string) => {
    const before = await benchStats();
    const result = await load(mode, DURATION);
    // Requests still queued in the server when a run ends would slow the next one: let them drain
    // (the drain's own requests are counted under another mode: \`loaders\`, read after these totals).
    const after = await benchStats();
    await drain();
    const sample = samples[mode]!;
    sample.rps.push(result.requests.average);
    sample.p99.push(result.latency.p99);
    sample.errors += result.errors + result.non2xx;
    sample.requests += after.totals[mode]!.requests - before.totals[mode]!.requests;
    sample.statements += after.totals[mode]!.statements - before.totals[mode]!.statements;
    if (mode === 'partly') {
      const served = (s: BenchStats) => s.partlyUsers.sharedHits + s.partlyUsers.staleHits;
      hits += served(after) - served(before);
      lookups += served(after) + after.partlyUsers.misses - served(before) - before.partlyUsers.misses;
    }
  };
  const batched = MODES.filter((mode) => mode !== 'naive');
  for (const mode of batched) {
    await load(mode, 2); // warm-up (and, for shared and partly, a warm cache)
    await drain();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < batched.length; j++) await measure(batched[(round + j) % batched.length]!);
  }
  // Naive last and once: its seconds-long queues would spill into whatever ran after it.
  await measure('naive');
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const rows: string[][] = [
    ['mode', 'req/s', 'x dataloader', 'per-round x dataloader (min-max)', 'p99 ms', 'SQL/request', 'errors'],
  ];
  const rps: Record<string, number> = {};
  for (const mode of MODES) {
    const sample = samples[mode]!;
    rps[mode] = median(sample.rps);
    rows.push([
      mode,
      rps[mode]!.toFixed(0),
      '',
      '',
      String(median(sample.p99)),
      (sample.statements / sample.requests).toFixed(2),
      String(sample.errors),
    ]);
  }
  for (const row of rows.slice(1)) {
    const mode = row[0]!;
    row[2] = `${(rps[mode]! / rps.dataloader!).toFixed(2)}x`;
    // Batched modes ran back to back within each round: their ratio there is steadier than the medians'.
    if (mode === 'naive') continue;
    const ratios = samples[mode]!.rps.map((value, r) => value / samples.dataloader!.rps[r]!);
    const sorted = [...ratios].sort((a, b) => a - b);
    row[3] = `${median(ratios).toFixed(2)}x (${sorted[0]!.toFixed(2)}-${sorted[sorted.length - 1]!.toFixed(2)})`;
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
  console.log(
    `\nloaderkit per request / dataloader: ${(rps.loaders! / rps.dataloader!).toFixed(2)}x; ` +
      `warm shared / dataloader: ${(rps.shared! / rps.dataloader!).toFixed(2)}x; ` +
      `partly warm / dataloader: ${(rps.partly! / rps.dataloader!).toFixed(2)}x`,
  );
  console.log(
    `partly warm: shared users hit ratio ${((100 * hits) / lookups).toFixed(1)}% ` +
      `(${hits} of ${lookups} shared lookups over its timed runs)`,
  );
} finally {
  server.kill('SIGTERM');
}
