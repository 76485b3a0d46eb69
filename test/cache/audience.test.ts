/**
 * Issue #10: one client going away must not fail another's load. Request B joins request A's
 * in-flight shared load; A's request signal aborts; B still gets the value. The source's signal aborts
 * only when every request waiting on it has gone.
 */
import { describe, expect, it } from 'vitest';
import { Audience } from '../../src/cache/audience.js';
import { type BatchLoadContext, defineLoaders } from '../../src/index.js';
import { deferred, untilOrAborted } from '../helpers.js';

function setup() {
  const gate = deferred<void>();
  const signals: AbortSignal[] = [];
  const create = defineLoaders({
    users: {
      // Honours its signal, as the README recommends.
      batch: async (ids: readonly number[], _ctx: unknown, { signal }: BatchLoadContext) => {
        signals.push(signal);
        await untilOrAborted(gate.promise, signal);
        return ids.map((id) => `user ${id}`);
      },
      shared: { scope: 'global', ttl: 60_000 },
    },
  });
  return { create, gate, signals };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a shared load several requests wait on', () => {
  it('goes on for the requests that stay when the one that started it goes away', async () => {
    const { create, gate, signals } = setup();
    const a = new AbortController();
    const b = new AbortController();
    const first = create({}, { signal: a.signal }).users.load(1);
    await turn();
    const second = create({}, { signal: b.signal }).users.load(1);
    await turn();
    expect(signals).toHaveLength(1);
    a.abort(new Error('client A went away'));
    await expect(first).rejects.toThrow('client A went away');
    expect(signals[0]!.aborted).toBe(false);
    gate.resolve();
    await expect(second).resolves.toBe('user 1');
    expect(signals).toHaveLength(1);
    await create.close();
  });

  it('is aborted once every request waiting on it has gone', async () => {
    const { create, signals } = setup();
    const a = new AbortController();
    const b = new AbortController();
    const first = create({}, { signal: a.signal }).users.load(1);
    await turn();
    const second = create({}, { signal: b.signal }).users.load(1);
    await turn();
    a.abort(new Error('A gone'));
    await expect(first).rejects.toThrow('A gone');
    expect(signals[0]!.aborted).toBe(false);
    b.abort(new Error('B gone'));
    await expect(second).rejects.toThrow('B gone');
    expect(signals[0]!.aborted).toBe(true);
    await create.close();
  });

  it('a request without a signal pins it: it is never aborted', async () => {
    const { create, gate, signals } = setup();
    const a = new AbortController();
    const first = create({}, { signal: a.signal }).users.load(1);
    await turn();
    const second = create({}).users.load(1);
    await turn();
    a.abort(new Error('A gone'));
    await expect(first).rejects.toThrow('A gone');
    expect(signals[0]!.aborted).toBe(false);
    gate.resolve();
    await expect(second).resolves.toBe('user 1');
    await create.close();
  });
});

describe('Audience (the signal a shared source call receives)', () => {
  /** A batch context whose signal can abort (what a request's batch passes). */
  const batchOf = (signal: AbortSignal) => ({ signal, reason: 'schedule' as const });

  it('is made on first read, then the same signal every read', () => {
    const audience = new Audience('schedule');
    audience.attend(batchOf(new AbortController().signal));
    expect((audience as unknown as { controller: unknown }).controller).toBeNull();
    const signal = audience.context.signal;
    expect(signal.aborted).toBe(false);
    expect(audience.context.signal).toBe(signal);
  });

  it('read only after every waiter has gone, it is aborted already, with the last one reason', () => {
    const audience = new Audience('schedule');
    const a = new AbortController();
    const b = new AbortController();
    audience.attend(batchOf(a.signal));
    audience.attend(batchOf(b.signal));
    a.abort(new Error('A gone'));
    expect(audience.aborted).toBe(false);
    b.abort(new Error('B gone'));
    expect(audience.aborted).toBe(true);
    const signal = audience.context.signal;
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('B gone');
  });

  it('read before, it aborts when the last waiter goes', () => {
    const audience = new Audience('schedule');
    const a = new AbortController();
    audience.attend(batchOf(a.signal));
    const signal = audience.context.signal;
    a.abort(new Error('A gone'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('A gone');
  });
});
