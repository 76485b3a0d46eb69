/**
 * The rows and key blocks the Redis benchmarks load (bench/redis.ts, bench/cluster.ts): a 205-byte user
 * row per id, in blocks of BATCH ids (the keys of one batch).
 */

/** Keys per batch. */
export const BATCH = 100;

export interface User {
  id: number;
  name: string;
  email: string;
  role: string;
  active: boolean;
  createdAt: string;
  bio: string;
}

/** The row of an id (as the benchmarks' sources answer it). */
export const row = (id: number): User => ({
  id,
  name: `User ${id}`,
  email: `user${id}@example.com`,
  role: 'member',
  active: id % 3 !== 0,
  createdAt: '2024-01-15T10:20:30.000Z',
  bio: 'Writes about caching, batching and GraphQL servers; likes small benchmarks.',
});

/** The ids of block `b`: the same keys every time (warm data). */
export const block = (b: number): number[] => Array.from({ length: BATCH }, (_, i) => b * BATCH + i + 1);

let nextFreshId = 10_000_000;
/** A block of ids never used before in this process (misses). */
export const freshBlock = (): number[] => {
  const ids = Array.from({ length: BATCH }, (_, i) => nextFreshId + i);
  nextFreshId += BATCH;
  return ids;
};
