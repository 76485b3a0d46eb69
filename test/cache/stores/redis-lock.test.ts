/**
 * Distributed single-flight (`shared.lock`, issue #12 §3) across real processes on a private Redis, both
 * client libraries: 3 processes × 100 concurrent requests for one cold key → 1 source call in all; the
 * holder SIGKILLed in the middle of its load → the others finish within the wait bound plus the source
 * time, with their own source call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../../src/redis.js';
import { FAULT_CLIENTS, startInstance, startRedis, stopInstances } from '../../redis.js';

const LOCK = { ttlMs: 5_000, waitMs: 1_000, pollMs: 5 };
const SOURCE_MS = 150;
const instance = (port: number, client: string) =>
  startInstance(port, client, { lock: LOCK, sourceMs: SOURCE_MS });
/** What a busy 2-core machine may add (process scheduling, other test files). */
const ALLOWANCE_MS = 500;

afterEach(stopInstances);

describe.each(FAULT_CLIENTS)('shared.lock across processes over $name', (kind) => {
  it('3 processes × 100 concurrent requests for one cold key: 1 source call in all', async () => {
    const server = await startRedis();
    try {
      const instances = [1, 2, 3].map(() => instance(server.port, kind.name));
      await Promise.all(instances.map((i) => i.ready));
      const results = await Promise.all(instances.map((i) => i.load(42, 100)));
      const calls = instances.flatMap((i) => i.sources);
      expect(calls).toEqual([[42]]);
      const holder = instances.find((i) => i.sources.length === 1)!.child.pid!;
      for (const result of results) {
        expect(result.values).toHaveLength(100);
        // Every request of every process got the holder's value.
        expect(result.values.every((value) => value.id === 42 && value.by === holder)).toBe(true);
      }
      expect(results.map((r) => r.locks.taken).sort()).toEqual([0, 0, 1]);
      expect(results.map((r) => r.locks.landed).sort()).toEqual([0, 1, 1]);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('the holder SIGKILLed mid-load: the others finish within waitMs + source time, each loading it once', async () => {
    const server = await startRedis();
    try {
      const holder = instance(server.port, kind.name);
      const others = [instance(server.port, kind.name), instance(server.port, kind.name)];
      await Promise.all([holder, ...others].map((i) => i.ready));
      void holder.load(7, 10);
      while (holder.sources.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      const started = performance.now();
      const waiting = others.map((i) => i.load(7, 100));
      await new Promise((resolve) => setTimeout(resolve, 20));
      holder.child.kill('SIGKILL'); // its lock stays until it expires; its value never comes
      const results = await Promise.all(waiting);
      const took = performance.now() - started;
      expect(took).toBeLessThan(LOCK.waitMs + SOURCE_MS + ALLOWANCE_MS);
      for (const result of results) {
        expect(result.values).toHaveLength(100);
        expect(result.values.every((value) => value.id === 7)).toBe(true);
        expect(result.locks).toMatchObject({ waited: 1, landed: 0, timedOut: 1 });
      }
      // Each waiter, once the wait ran out, loaded the key itself (the lock was still held).
      expect(others.map((i) => i.sources)).toEqual([[[7]], [[7]]]);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('on a server that runs no scripts, locks are taken with SET NX and released by their token', async () => {
    const server = await startRedis(['--rename-command', 'EVAL', '']);
    const client = await kind.connect(server.port);
    try {
      const store = createRedisStore({ client: client.client, invalidation: false });
      const signal = new AbortController().signal;
      expect(await store.locks!.acquire(['l1', 'l2'], 'mine', 5_000, signal)).toEqual([true, true]);
      expect(await store.locks!.acquire(['l1'], 'theirs', 5_000, signal)).toEqual([false]);
      await store.locks!.release(['l1', 'l2'], 'theirs', signal); // not theirs: stays
      expect(await server.cli('GET', 'l1')).toBe('mine');
      await store.locks!.release(['l1', 'l2'], 'mine', signal);
      expect(await server.cli('EXISTS', 'l1', 'l2')).toBe('0');
      await store.close();
    } finally {
      await client.close();
      await server.close();
    }
  });
});
