/**
 * No stale write-back across processes (issue #12 §2), on a private Redis, both client libraries: B's
 * load reads the database (v1) and is held; A, another process, changes the row (v2) and invalidates;
 * then B's source answers v1. B's write-back is fenced in Redis, and B's in-process copy goes: the next
 * read anywhere — A, B, and a third process — sees v2. And tenants stay apart across processes: one
 * tenant's entries never answer another's loads, in Redis or in any in-process tier, and a scope
 * invalidation on one process drops only that tenant's entries on the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_CLIENTS, startInstance, startRedis, stopInstances } from '../../redis.js';

afterEach(stopInstances);

describe.each(FAULT_CLIENTS)('no stale write-back across processes over $name', (kind) => {
  it('a load that read before another process invalidated writes nothing back, anywhere', async () => {
    const server = await startRedis();
    try {
      await server.cli('SET', 'db:acme:1', '1');
      const a = startInstance(server.port, kind.name);
      const b = startInstance(server.port, kind.name);
      await Promise.all([a.ready, b.ready]);
      const onB = b.load(1, 1, 400); // B's source reads v1, then takes 400 ms
      while (b.sources.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      await server.cli('SET', 'db:acme:1', '2'); // A's mutation
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

  it("tenants stay apart across processes, and one tenant's invalidateScope leaves the others' entries", async () => {
    const server = await startRedis();
    try {
      await server.cli('SET', 'db:acme:1', '1');
      await server.cli('SET', 'db:globex:1', '7');
      const a = startInstance(server.port, kind.name);
      const b = startInstance(server.port, kind.name);
      await Promise.all([a.ready, b.ready]);
      expect((await a.load(1, 1, 0, 'acme')).values[0]).toMatchObject({ tenant: 'acme', version: 1 });
      await new Promise((resolve) => setTimeout(resolve, 100)); // written back
      // Same id, other tenant, other process: its own source call, never acme's entry.
      expect((await b.load(1, 1, 0, 'globex')).values[0]).toMatchObject({ tenant: 'globex', version: 7 });
      // acme's entry, from Redis, in B.
      expect((await b.load(1, 1, 0, 'acme')).values[0]).toMatchObject({ tenant: 'acme', version: 1 });
      expect(b.tenants).toEqual(['globex']);
      // acme's scope invalidated on A: B drops acme's, keeps globex's (in process: no source call).
      await server.cli('SET', 'db:acme:1', '2');
      await a.invalidateScope('acme');
      expect((await b.load(1, 1, 0, 'acme')).values[0]).toMatchObject({ tenant: 'acme', version: 2 });
      expect((await b.load(1, 1, 0, 'globex')).values[0]).toMatchObject({ tenant: 'globex', version: 7 });
      expect(b.tenants).toEqual(['globex', 'acme']);
    } finally {
      await server.close();
    }
  }, 30_000);
});
