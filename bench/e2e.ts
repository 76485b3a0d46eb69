/**
 * `npm run bench:e2e`: autocannon against the example server (examples/yoga-server, embedded PGlite,
 * run in a child process so load generation and serving do not share a thread), for each way of
 * fetching: naive resolvers, hand-wired npm dataloader, loaderkit per request, and loaderkit over a
 * warm shared cache. Reports requests per second, p99 latency and SQL statements per request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';

const PORT = Number(process.env.BENCH_PORT ?? 4477);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS_E2E ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const QUERY = '{ users(limit: 10) { name posts { title tags { name } comments { body author { name } } } } }';
const MODES = ['naive', 'dataloader', 'loaders', 'shared'] as const;
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

async function statementsPerRequest(mode: string): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-loaderkit-mode': mode },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await response.json()) as { extensions: { sql: { statements: number } } };
  return body.extensions.sql.statements;
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
    MODES.map((mode) => [mode, { rps: [] as number[], p99: [] as number[], errors: 0 }]),
  );
  const measure = async (mode: string) => {
    const result = await load(mode, DURATION);
    samples[mode]!.rps.push(result.requests.average);
    samples[mode]!.p99.push(result.latency.p99);
    samples[mode]!.errors += result.errors + result.non2xx;
    // Requests still queued in the server when a run ends would slow the next one: let them drain.
    await drain();
  };
  const batched = MODES.filter((mode) => mode !== 'naive');
  const statements: Record<string, number> = {};
  for (const mode of batched) {
    await load(mode, 2); // warm-up (and, for shared, a warm cache)
    await drain();
    statements[mode] = await statementsPerRequest(mode);
  }
  statements.naive = await statementsPerRequest('naive');
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < batched.length; j++) await measure(batched[(round + j) % batched.length]!);
  }
  // Naive last and once: its seconds-long queues would spill into whatever ran after it.
  await measure('naive');
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const rows: string[][] = [['mode', 'req/s', 'p99 ms', 'SQL/request (warm)', 'errors']];
  const rps: Record<string, number> = {};
  for (const mode of MODES) {
    const sample = samples[mode]!;
    rps[mode] = median(sample.rps);
    rows.push([
      mode,
      rps[mode]!.toFixed(0),
      String(median(sample.p99)),
      String(statements[mode]),
      String(sample.errors),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    );
  console.log(
    `\nloaderkit per request / dataloader: ${(rps.loaders! / rps.dataloader!).toFixed(2)}x; ` +
      `warm shared / dataloader: ${(rps.shared! / rps.dataloader!).toFixed(2)}x`,
  );
} finally {
  server.kill('SIGTERM');
}
