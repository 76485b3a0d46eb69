/**
 * No stale write-back across processes (issue #12 §2), on a private Redis, both client libraries: B's
 * load reads the database (v1) and is held; A, another process, changes the row (v2) and invalidates;
 * then B's source answers v1. B's write-back is fenced in Redis, and B's in-process copy goes: the next
 * read anywhere — A, B, and a third process — sees v2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_CLIENTS, startInstance, startRedis, stopInstances } from '../../redis.js';

afterEach(stopInstances);

describe.each(FAULT_CLIENTS)('no stale write-back across processes over $name', (kind) => {
  it('a load that read before another process invalidated writes nothing back, anywhere', async () => {
    const server = await startRedis();
    try {
      await server.cli('SET', 'db:1', '1');
      const a = startInstance(server.port, kind.name);
      const b = startInstance(server.port, kind.name);
      await Promise.all([a.ready, b.ready]);
      const onB = b.load(1, 1, 400); // B's source reads v1, then takes 400 ms
      while (b.sources.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      await server.cli('SET', 'db:1', '2'); // A's mutation
      await a.invalidate(1);
      const loadedB = await onB;
      expect(loadedB.values[0]).toMatchObject({ id: 1, version: 1 }); // what B's source read
      await new Promise((resolve) => setTimeout(resolve, 100)); // B's write-back is over
      const c = startInstance(server.port, kind.name);
      await c.ready;
      for (const instance of [c, a, b]) {
        const { values } = await instance.load(1, 1);
        expect(values[0]).toMatchObject({ id: 1, version: 2 });
        await new Promise((resolve) => setTimeout(resolve, 100)); // its write-back, if any, lands
      }
      // C found A's marker and loaded v2 (written back); A and B read it from Redis (B's v1 copy was
      // dropped: its write-back was fenced, and A's message came): nobody served v1.
      expect([a.sources.length, b.sources.length, c.sources.length]).toEqual([0, 1, 1]);
    } finally {
      await server.close();
    }
  }, 30_000);
});
