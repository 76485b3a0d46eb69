/**
 * `npm run bench` (second part): the shared cache.
 * 1. Cost of a shared hit vs a memo hit: ns per load of 1000 keys answered by the request memo, and by
 *    the shared cache in a new request (interleaved rounds, medians). Target: shared <= 2x memo.
 * 2. Thundering herd: 1000 concurrent requests for one cold key, with a shared loader (single-flight)
 *    and with per-request loaders only, against a source with a pool of 10 connections (5 ms per
 *    query): source calls and wall time.
 */
import { kit } from './kit.js';

const { defineLoaders } = kit;

const N = 1000;
const KEYS = Array.from({ length: N }, (_, i) => i);
const rows = (keys: readonly number[]) => Promise.resolve(keys.map((id) => ({ id, name: `user ${id}` })));

const createLoaders = defineLoaders({
  users: { batch: rows, shared: { scope: 'global', ttl: 3_600_000 } },
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function time(run: () => Promise<unknown>, repeats: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) await run();
  return Number(process.hrtime.bigint() - start) / repeats / N;
}

async function hitCosts(rounds: number, repeats: number): Promise<void> {
  // Warm the shared cache, and one request whose memo holds every key.
  const warm = createLoaders({});
  await Promise.all(KEYS.map((k) => warm.users.load(k)));
  const memoHit = () => Promise.all(KEYS.map((k) => warm.users.load(k)));
  const sharedHit = () => {
    const request = createLoaders({});
    return Promise.all(KEYS.map((k) => request.users.load(k)));
  };
  for (let i = 0; i < 3; i++) {
    await time(memoHit, repeats);
    await time(sharedHit, repeats);
  }
  const memo: number[] = [];
  const shared: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      memo.push(await time(memoHit, repeats));
      shared.push(await time(sharedHit, repeats));
    } else {
      shared.push(await time(sharedHit, repeats));
      memo.push(await time(memoHit, repeats));
    }
  }
  const m = median(memo);
  const s = median(shared);
  console.log('hit cost, ns per load (1000 keys, median of rounds)');
  console.log(`  memo hit (same request)     ${m.toFixed(1)}`);
  console.log(`  shared hit (new request)    ${s.toFixed(1)}   ${(s / m).toFixed(2)}x memo`);
}

async function thunderingHerd(requests: number, rounds: number): Promise<void> {
  let calls = 0;
  // A database with a pool of 10 connections, each query holding one for 5 ms.
  let free = 10;
  const waiting: Array<() => void> = [];
  const slowRow = async (keys: readonly number[]) => {
    calls++;
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const next = waiting.shift();
    if (next) next();
    else free++;
    return keys.map((id) => ({ id }));
  };
  const withShared = defineLoaders({ user: { batch: slowRow, shared: { scope: 'global', ttl: 60_000 } } });
  const perRequest = defineLoaders({ user: { batch: slowRow } });
  console.log(
    `\nthundering herd: ${requests} concurrent requests for one cold key, database pool of 10 (median of ${rounds} rounds)`,
  );
  for (const [label, create] of [
    ['shared (single-flight)', withShared],
    ['per-request loaders only', perRequest],
  ] as const) {
    const times: number[] = [];
    let callsPerRound = 0;
    for (let round = 0; round < rounds + 2; round++) {
      await create.invalidate('user', [42], {});
      calls = 0;
      const start = performance.now();
      await Promise.all(Array.from({ length: requests }, () => create({}).user.load(42)));
      if (round >= 2) times.push(performance.now() - start); // two warm-up rounds
      callsPerRound = calls;
    }
    console.log(
      `  ${label.padEnd(26)} source calls: ${String(callsPerRound).padStart(5)}   ${median(times).toFixed(1)} ms`,
    );
  }
  await withShared.close();
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 25);
const repeats = Number(process.env.BENCH_REPEATS ?? 40);
console.log(`\nloaderkit shared cache (node ${process.version})\n`);
await hitCosts(rounds, repeats);
await thunderingHerd(1000, 9);
await createLoaders.close();
