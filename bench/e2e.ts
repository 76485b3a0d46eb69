/**
 * `npm run bench:e2e`: autocannon against the example server (examples/yoga-server, embedded PGlite,
 * run in a child process so load generation and serving do not share a thread), for each way of
 * fetching: naive resolvers, hand-wired npm dataloader, loaderkit per request, and loaderkit over a
 * warm shared cache. Reports requests per second, p99 latency and SQL statements per request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';

const PORT = Number(process.env.BENCH_PORT ?? 4477);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
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
    `${CONNECTIONS} connections, ${DURATION} s per mode after a 2 s warm-up, node ${process.version}\n`,
  );
  const rows: string[][] = [['mode', 'req/s', 'p99 ms', 'SQL/request', 'errors']];
  const rps: Record<string, number> = {};
  for (const mode of MODES) {
    await load(mode, 2); // warm-up (and, for shared, a warm cache)
    const result = await load(mode, DURATION);
    const sql = await statementsPerRequest(mode);
    rps[mode] = result.requests.average;
    rows.push([
      mode,
      result.requests.average.toFixed(0),
      String(result.latency.p99),
      String(sql),
      String(result.errors + result.non2xx),
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
