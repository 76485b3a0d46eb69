/**
 * Properties of the shared tier under random interleavings of loads, refreshes, invalidations, scope
 * invalidations, clock moves and source calls answering (or failing) in any order:
 *  (a) scope isolation: a request only ever receives values the source produced for its own scope;
 *  (b) no stale value after invalidate: once `invalidate(k)` has resolved, a load of k that starts
 *      afterwards never receives a value from a source call that started before the invalidate did.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flush, harness, type Item, type State, track } from './harness.js';

const TENANTS = ['a', 'b', 'a|b', '1'] as const;
const KEYS = [0, 1, 2, 3] as const;
/** The source answers null for this key (exercises negative caching). */
const NOT_FOUND_KEY = 3;

type Via = 'new' | 'persistent' | 'external';
type Op = Step & { settle?: true };
type Step =
  | { t: 'load'; tenant: number; key: number; via: Via; fresh: boolean }
  | { t: 'loadMany'; tenant: number; keys: number[]; via: Via }
  | { t: 'invalidate'; tenant: number; key: number; via: Via }
  | { t: 'invalidateScope'; tenant: number; via: Via }
  | { t: 'advance'; ms: number }
  | { t: 'resolve'; index: number }
  | { t: 'fail'; index: number }
  | { t: 'flush' };

/**
 * One step. `tenants` and `keys` narrow the draw (fewer tenants and keys make operations on the same
 * key, which is where staleness hides, more frequent).
 */
function opArb(options: {
  freshOnPersistent: boolean;
  tenants: number;
  keys: number;
  /** Draw the persistent request this many times more often than a new one. Default: 1. */
  persistentBias?: number;
  /** Loads only through new requests (invalidations may still go through the persistent one). */
  newRequestsOnly?: boolean;
}): fc.Arbitrary<Op> {
  const tenantArb = fc.nat({ max: options.tenants - 1 });
  const keyArb = fc.constantFrom(...KEYS.slice(0, options.keys));
  const bias = options.persistentBias ?? 1;
  const viaArb = options.newRequestsOnly
    ? fc.constant<Via>('new')
    : fc.oneof(
        { weight: 1, arbitrary: fc.constant<Via>('new') },
        { weight: bias, arbitrary: fc.constant<Via>('persistent') },
      );
  const invalidateViaArb = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<Via>('new', 'external') },
    { weight: bias, arbitrary: fc.constant<Via>('persistent') },
  );
  const step = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .record({ tenant: tenantArb, key: keyArb, via: viaArb, fresh: fc.boolean() })
        .map(
          (r): Op => ({ t: 'load', ...r, fresh: r.fresh && (options.freshOnPersistent || r.via === 'new') }),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          tenant: tenantArb,
          keys: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }),
          via: viaArb,
        })
        .map((r): Op => ({ t: 'loadMany', ...r })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ tenant: tenantArb, key: keyArb, via: invalidateViaArb })
        .map((r): Op => ({ t: 'invalidate', ...r })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ tenant: tenantArb, via: invalidateViaArb })
        .map((r): Op => ({ t: 'invalidateScope', ...r })),
    },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 1_700 }).map((ms): Op => ({ t: 'advance', ms })) },
    { weight: 5, arbitrary: fc.nat({ max: 20 }).map((index): Op => ({ t: 'resolve', index })) },
    { weight: 1, arbitrary: fc.nat({ max: 20 }).map((index): Op => ({ t: 'fail', index })) },
    { weight: 3, arbitrary: fc.constant<Op>({ t: 'flush' }) },
  );
  // Half the steps let queued work run right after them, so calls start and invalidations resolve
  // between steps (where staleness hides) more often.
  return fc
    .tuple(step, fc.boolean())
    .map(([op, settle]): Op => (settle && op.t !== 'flush' ? { ...op, settle: true } : op));
}

interface Observed {
  readonly op: number;
  readonly tenant: string;
  readonly key: number;
  readonly via: Via;
  /** Lowest source call number a value may come from (calls up to this one were invalidated). */
  readonly minCall: number;
  readonly result: { readonly state: State<unknown> };
}

/** Runs one interleaving and returns every load it made, with what each load received. */
async function run(ops: Op[], options: { negative: boolean }) {
  const h = harness({
    manual: true,
    shared: { ttl: 1_000, graceMs: 500, negativeTtl: options.negative ? 300 : 0 },
    answer: (id, ctx, call) =>
      options.negative && id === NOT_FOUND_KEY ? null : { id, tenant: ctx.tenant, call },
  });
  const persistent = TENANTS.map((tenant) => h.request(tenant));
  const observed: Observed[] = [];
  const others: Array<{ readonly state: State<unknown> }> = [];
  // Per tenant and key: how many source calls had started when the last invalidate that has resolved
  // began. Loads through new requests see every invalidate; a tenant's persistent request sees only
  // its own (other invalidations do not reach into a request's memo).
  const barrier = { new: new Map<string, number>(), persistent: new Map<string, number>() };
  const slot = (tenant: string, key: number) => `${tenant}\u0000${key}`;
  const raise = (map: Map<string, number>, tenant: string, key: number, calls: number) => {
    map.set(slot(tenant, key), Math.max(map.get(slot(tenant, key)) ?? 0, calls));
  };
  const loadersOf = (tenant: number, via: Via) =>
    via === 'persistent' ? persistent[tenant]! : h.request(TENANTS[tenant]!);

  const observe = (op: number, tenant: string, key: number, via: Via, promise: Promise<unknown>) => {
    const map = via === 'persistent' ? barrier.persistent : barrier.new;
    observed.push({
      op,
      tenant,
      key,
      via,
      minCall: (map.get(slot(tenant, key)) ?? 0) + 1,
      result: track(promise),
    });
  };

  for (const [index, op] of ops.entries()) {
    switch (op.t) {
      case 'load': {
        const tenant = TENANTS[op.tenant]!;
        const loaders = loadersOf(op.tenant, op.via);
        observe(
          index,
          tenant,
          op.key,
          op.via,
          loaders.items.load(op.key, op.fresh ? { fresh: true } : undefined),
        );
        break;
      }
      case 'loadMany': {
        const tenant = TENANTS[op.tenant]!;
        const loaders = loadersOf(op.tenant, op.via);
        const many = loaders.items.loadMany(op.keys);
        op.keys.forEach((key, i) => {
          observe(
            index,
            tenant,
            key,
            op.via,
            many.then((values) => {
              const value = values[i];
              if (value instanceof Error) throw value;
              return value;
            }),
          );
        });
        break;
      }
      case 'invalidate':
      case 'invalidateScope': {
        const tenant = TENANTS[op.tenant]!;
        const started = h.calls.length;
        const keys = op.t === 'invalidate' ? [op.key] : [...KEYS];
        let promise: Promise<void>;
        if (op.via === 'external') {
          promise =
            op.t === 'invalidate'
              ? h.create.invalidate('items', [op.key], { tenant })
              : h.create.invalidateScope('items', { tenant });
        } else {
          const loaders = loadersOf(op.tenant, op.via);
          promise =
            op.t === 'invalidate' ? loaders.items.invalidate(op.key) : loaders.items.invalidateScope();
        }
        others.push(
          track(
            promise.then(() => {
              for (const key of keys) {
                raise(barrier.new, tenant, key, started);
                if (op.via === 'persistent') raise(barrier.persistent, tenant, key, started);
              }
            }),
          ),
        );
        break;
      }
      case 'advance':
        h.advance(op.ms);
        break;
      case 'resolve':
      case 'fail': {
        const pending = h.pending();
        if (pending.length === 0) break;
        const call = pending[op.index % pending.length]!;
        if (op.t === 'resolve') call.resolve();
        else call.reject(new Error(`source call ${call.call} failed`));
        break;
      }
      case 'flush':
        await flush(2);
        break;
    }
    if (op.settle) await flush(2);
  }
  // Drain: answer every call until nothing is left in flight.
  for (let round = 0; round < 50; round++) {
    await flush(3);
    const pending = h.pending();
    if (pending.length === 0) break;
    for (const call of pending) call.resolve();
  }
  await flush(3);
  return { h, observed, others };
}

function describeOps(ops: Op[]): string {
  return ops.map((op, i) => `${i}: ${JSON.stringify(op)}`).join('\n');
}

describe('shared cache properties', () => {
  it('(a) scope isolation: every value a request receives was produced for its own scope', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb({ freshOnPersistent: true, tenants: 4, keys: 4 }), { minLength: 1, maxLength: 40 }),
        async (ops) => {
          const { h, observed, others } = await run(ops, { negative: true });
          for (const load of observed) {
            const state = load.result.state;
            // Nothing is left hanging once every source call has answered.
            expect(state.status, `load at op ${load.op} never settled\n${describeOps(ops)}`).not.toBe(
              'pending',
            );
            if (state.status !== 'fulfilled') continue;
            const value = state.value as Item | null;
            if (value === null) {
              expect(load.key).toBe(NOT_FOUND_KEY);
              continue;
            }
            const where = `load of key ${load.key} by tenant ${load.tenant} at op ${load.op}`;
            expect(value.tenant, where).toBe(load.tenant);
            expect(value.id, where).toBe(load.key);
            // The call that produced it was made with a context of the same scope, for this key.
            const call = h.calls[value.call - 1]!;
            expect(call.tenant, where).toBe(load.tenant);
            expect(call.keys, where).toContain(load.key);
          }
          for (const other of others) expect(other.state.status).toBe('fulfilled');
        },
      ),
      { numRuns: 150 },
    );
  });

  // (b) through the shared tier: every load comes from a new request (whose memo is empty), so what
  // it receives came from the shared store, a flight or the source. Covers loads and refreshes in
  // flight across the invalidate, background grace refreshes, joins and scope invalidations.
  it('(b) no stale value after invalidate resolves: loads from new requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          opArb({ freshOnPersistent: false, tenants: 2, keys: 1, persistentBias: 3, newRequestsOnly: true }),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        async (ops) => {
          const { observed } = await run(ops, { negative: false });
          checkNoStale(observed, ops);
        },
      ),
      { numRuns: 250 },
    );
  });

  // (b) on the request that invalidates, too: `invalidate` clears its memo, so once it has resolved
  // the request's own later loads must not see the old value either (RequestLoader.invalidate docs).
  it('(b) no stale value after invalidate resolves: loads (and fresh loads) on the invalidating request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb({ freshOnPersistent: true, tenants: 1, keys: 1, persistentBias: 3 }), {
          minLength: 1,
          maxLength: 15,
        }),
        async (ops) => {
          const { observed } = await run(ops, { negative: false });
          checkNoStale(observed, ops);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('(b) a load the invalidating request makes while its invalidate is in flight (fixed interleaving)', async () => {
    const ops: Op[] = [
      { t: 'load', tenant: 0, key: 1, via: 'persistent', fresh: false },
      { t: 'flush' },
      { t: 'resolve', index: 0 },
      { t: 'flush' },
      { t: 'invalidate', tenant: 0, key: 1, via: 'persistent' },
      // Same tick as the invalidate: the shared entry is not deleted yet.
      { t: 'load', tenant: 0, key: 1, via: 'persistent', fresh: false },
      { t: 'flush' },
      { t: 'load', tenant: 0, key: 1, via: 'persistent', fresh: false },
    ];
    const { observed } = await run(ops, { negative: false });
    checkNoStale(observed, ops);
  });

  it('(b) a fresh load on the invalidating request that answers after the invalidate (fixed interleaving)', async () => {
    const ops: Op[] = [
      { t: 'load', tenant: 0, key: 1, via: 'persistent', fresh: true },
      { t: 'flush' },
      { t: 'invalidate', tenant: 0, key: 1, via: 'persistent' },
      { t: 'flush' },
      { t: 'resolve', index: 0 },
      { t: 'flush' },
      { t: 'load', tenant: 0, key: 1, via: 'persistent', fresh: false },
    ];
    const { observed } = await run(ops, { negative: false });
    checkNoStale(observed, ops);
  });

  it('(b) holds for a load in flight on each side of the invalidate (fixed interleaving)', async () => {
    const ops: Op[] = [
      { t: 'load', tenant: 0, key: 1, via: 'new', fresh: false },
      { t: 'flush' },
      { t: 'invalidate', tenant: 0, key: 1, via: 'external' },
      { t: 'flush' },
      { t: 'load', tenant: 0, key: 1, via: 'new', fresh: false },
      { t: 'flush' },
      { t: 'resolve', index: 1 },
      { t: 'resolve', index: 0 },
      { t: 'flush' },
      { t: 'load', tenant: 0, key: 1, via: 'new', fresh: false },
    ];
    const { observed, h } = await run(ops, { negative: false });
    checkNoStale(observed, ops);
    expect(h.calls).toHaveLength(2);
    expect(observed.map((o) => (o.result.state as { value: Item }).value.call)).toEqual([1, 2, 2]);
  });
});

function checkNoStale(observed: Observed[], ops: Op[]): void {
  for (const load of observed) {
    const state = load.result.state;
    expect(state.status, `load at op ${load.op} never settled\n${describeOps(ops)}`).not.toBe('pending');
    if (state.status !== 'fulfilled') continue;
    const value = state.value as Item;
    expect(
      value.call,
      `load of key ${load.key} by tenant ${load.tenant} (${load.via}) at op ${load.op} received the value of source call ${value.call}, which started before an invalidate that had resolved\n${describeOps(ops)}`,
    ).toBeGreaterThanOrEqual(load.minCall);
  }
}
