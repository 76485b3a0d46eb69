import { afterEach, describe, expect, it, vi } from 'vitest';
import { cached, createMemoryStore } from '../src/index.js';
import { deferred } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('cached(fn, options)', () => {
  it('shares one call among concurrent calls with equal arguments, and caches the result', async () => {
    const gate = deferred<void>();
    const calls: string[][] = [];
    const rate = cached(
      async (from: string, to: string) => {
        calls.push([from, to]);
        await gate.promise;
        return { from, to, rate: 1.1 };
      },
      { name: 'rates', scope: 'global', ttl: 60_000 },
    );
    const results = Promise.all(Array.from({ length: 100 }, () => rate('EUR', 'USD')));
    const other = rate('EUR', 'GBP');
    gate.resolve();
    expect(await results).toHaveLength(100);
    expect((await results)[0]).toEqual({ from: 'EUR', to: 'USD', rate: 1.1 });
    await other;
    expect(await rate('EUR', 'USD')).toEqual({ from: 'EUR', to: 'USD', rate: 1.1 });
    expect(calls).toEqual([
      ['EUR', 'USD'],
      ['EUR', 'GBP'],
    ]);
    expect(rate.stats().joins).toBe(99);
    await rate.close();
  });

  it('expires by ttl, invalidates and refreshes by arguments', async () => {
    let now = 1_000;
    let version = 0;
    const fn = cached(async (id: number) => ({ id, version: ++version }), {
      name: 'items',
      scope: 'global',
      ttl: 100,
      jitter: 0,
      now: () => now,
      store: createMemoryStore({ now: () => now }),
    });
    expect(await fn(1)).toEqual({ id: 1, version: 1 });
    now += 99;
    expect(await fn(1)).toEqual({ id: 1, version: 1 });
    now += 1;
    expect(await fn(1)).toEqual({ id: 1, version: 2 });
    await fn.invalidate(1);
    expect(await fn(1)).toEqual({ id: 1, version: 3 });
    expect(await fn.refresh(1)).toEqual({ id: 1, version: 4 });
    expect(await fn(1)).toEqual({ id: 1, version: 4 });
  });

  it('keeps scopes apart with a scope function of the arguments', async () => {
    const calls: string[] = [];
    const profile = cached(
      async (tenant: string, id: number) => {
        calls.push(`${tenant}/${id}`);
        return { tenant, id };
      },
      { name: 'profile', scope: (tenant) => tenant, ttl: 60_000 },
    );
    expect(await profile('a', 1)).toEqual({ tenant: 'a', id: 1 });
    expect(await profile('b', 1)).toEqual({ tenant: 'b', id: 1 });
    expect(await profile('a', 1)).toEqual({ tenant: 'a', id: 1 });
    await profile.invalidateScope('a', 0);
    expect(await profile('a', 1)).toEqual({ tenant: 'a', id: 1 });
    expect(await profile('b', 1)).toEqual({ tenant: 'b', id: 1 });
    expect(calls).toEqual(['a/1', 'b/1', 'a/1']);
  });

  it('rejects with the error of a failed call and never caches it', async () => {
    let attempts = 0;
    const flaky = cached(
      async (id: number) => {
        attempts++;
        if (attempts === 1) throw new Error(`down for ${id}`);
        return id * 2;
      },
      { name: 'flaky', scope: 'global', ttl: 60_000 },
    );
    await expect(flaky(21)).rejects.toThrow('down for 21');
    expect(await flaky(21)).toBe(42);
    expect(attempts).toBe(2);
  });

  it('validates its arguments with messages that name them', () => {
    expect(() => cached('nope' as never, { name: 'x', scope: 'global', ttl: 1 })).toThrow(
      /async function, but got: "nope"/,
    );
    expect(() => cached(async () => 1, { name: '', scope: 'global', ttl: 1 })).toThrow(/options.name/);
    expect(() => cached(async () => 1, { name: 'x', ttl: 1 } as never)).toThrow(/shared.scope is required/);
    expect(() => cached(async () => 1, { name: 'x', scope: 'global', ttl: -1 })).toThrow(
      /shared.ttl must be/,
    );
  });

  it('throws on unknown options, naming the function and listing the valid ones', () => {
    expect(() => cached(async () => 1, { name: 'rates', scpoe: 'global', ttl: 1 } as never)).toThrow(
      'cached "rates": unknown option "scpoe"; valid options: name, scope, ttl, jitter, negativeTtl, graceMs, version, l1Ttl, lock, store, remote, remoteOptions, prefix, now, onError.',
    );
  });

  it('checks store, prefix, now and onError up front', () => {
    const options = { name: 'rates', scope: 'global' as const, ttl: 1 };
    expect(() => cached(async () => 1, { ...options, store: {} as never })).toThrow(
      /^cached "rates": option store is missing name, get, set, delete, deleteSpaces, stats, close \(/,
    );
    expect(() => cached(async () => 1, { ...options, now: 'now' as never })).toThrow(
      'cached "rates": option now must be a function returning epoch milliseconds, but got: "now".',
    );
    expect(() => cached(async () => 1, { ...options, onError: {} as never })).toThrow(
      'cached "rates": option onError must be a function of the error, but got: {}.',
    );
    expect(() => cached(async () => 1, { ...options, prefix: 3 as never })).toThrow(
      'cached "rates": option prefix must be a string, but got: 3.',
    );
  });

  it('snapshots the arguments at the call: a caller mutating them afterwards cannot move a result to another scope', async () => {
    const calls: string[] = [];
    const payroll = cached(
      async (query: { tenant: string }) => {
        calls.push(query.tenant);
        return `${query.tenant}-payroll`;
      },
      { name: 'payroll', scope: (query) => query.tenant, ttl: 60_000 },
    );
    // One arguments object, reused for the next tenant before the first call's result is in.
    const query = { tenant: 'acme' };
    const acme = payroll(query);
    query.tenant = 'globex';
    const globex = payroll(query);
    expect([await acme, await globex]).toEqual(['acme-payroll', 'globex-payroll']);
    expect(calls).toEqual(['acme', 'globex']);
    // Later calls read the entries: each under the scope and key it was computed for.
    expect(await payroll({ tenant: 'acme' })).toBe('acme-payroll');
    expect(await payroll({ tenant: 'globex' })).toBe('globex-payroll');
    expect(calls).toEqual(['acme', 'globex']);
    await payroll.close();
  });

  it('hands fn a copy of plain-data arguments and refuses arguments that cannot be a key', async () => {
    const seen: unknown[] = [];
    const fn = cached(
      async (arg: unknown) => {
        seen.push(arg);
        return 1;
      },
      { name: 'copy', scope: 'global', ttl: 60_000 },
    );
    const list: number[] = [1];
    list[2] = 3; // a hole at 1
    const arg = { when: new Date(0), list, nested: { a: undefined } };
    await fn(arg);
    expect(seen[0]).toEqual(arg);
    expect(seen[0]).not.toBe(arg);
    expect(1 in (seen[0] as typeof arg).list).toBe(false);
    class Point {
      x = 1;
    }
    await expect(fn(new Point())).rejects.toThrow(TypeError);
    await expect(fn(() => 1)).rejects.toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(fn(cyclic)).rejects.toThrow(TypeError);
    expect(seen).toHaveLength(1);
    await fn.close();
  });
});
