/**
 * Model-based property tests: random programs of load / loadMany / prime / clear / clearAll, with
 * awaits between steps, run against a real DataLoader and against a small reference model (a Map
 * memo and the list of batches not yet sent). They must agree on every result and on every call of
 * the batch function.
 *
 * The model's semantics, as documented for loaderkit and npm dataloader:
 *   - a load whose key is memoized answers from the memo; otherwise its key joins the open batch (a
 *     new one when there is none or it holds maxBatchSize keys) and the key's promise is memoized;
 *   - awaiting a microtask does not end a batch; a turn of the event loop sends every open batch,
 *     in the order they were opened;
 *   - a batch that fails (the batch function rejects) rejects all its keys and un-memoizes them all;
 *   - a per-key Error rejects that key; it stays memoized unless cacheErrors is false;
 *   - prime stores a value unless the key is memoized (an Error only if errors are cached);
 *   - with cache: false nothing is memoized and prime does nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';

class BackendError extends Error {
  override name = 'BackendError';
}

type Step =
  | { t: 'load'; k: number }
  | { t: 'loadMany'; ks: number[] }
  | { t: 'prime'; k: number; error: boolean }
  | { t: 'clear'; k: number }
  | { t: 'clearAll' }
  /** `await` one microtask: the open batch stays open. */
  | { t: 'tick' }
  /** `await` a turn of the event loop: every open batch is sent and settles. */
  | { t: 'flush' };

interface Config {
  maxBatchSize: number;
  cache: boolean;
  cacheErrors: boolean;
  immediateCacheHits: boolean;
  /**
   * 'plain' takes load()'s short path; the others take the general one: a cacheKeyFn (memo keys
   * differ from keys), an onLoad listener, a loader-level signal, or a signal passed to every call.
   */
  path: 'plain' | 'cacheKeyFn' | 'onLoad' | 'loaderSignal' | 'callSignal';
}

/** How the batch function answers: per-key Errors for `errorKeys`, a rejection on `failingCalls`. */
interface Source {
  errorKeys: readonly number[];
  failingCalls: readonly number[];
}

type Answer = { ok: unknown } | { err: unknown };

interface Trace {
  results: Array<Answer | null>;
  calls: number[][];
}

const KEY = fc.integer({ min: 0, max: 6 });

function stepArb(kinds: ReadonlyArray<Step['t']>): fc.Arbitrary<Step> {
  const all: Array<{ kind: Step['t']; weight: number; arbitrary: fc.Arbitrary<Step> }> = [
    { kind: 'load', weight: 6, arbitrary: KEY.map((k) => ({ t: 'load', k })) },
    {
      kind: 'loadMany',
      weight: 2,
      arbitrary: fc.array(KEY, { maxLength: 5 }).map((ks) => ({ t: 'loadMany', ks })),
    },
    {
      kind: 'prime',
      weight: 2,
      arbitrary: fc.record({ k: KEY, error: fc.boolean() }).map((r) => ({ t: 'prime', ...r })),
    },
    { kind: 'clear', weight: 2, arbitrary: KEY.map((k) => ({ t: 'clear', k })) },
    { kind: 'clearAll', weight: 1, arbitrary: fc.constant({ t: 'clearAll' }) },
    { kind: 'tick', weight: 2, arbitrary: fc.constant({ t: 'tick' }) },
    { kind: 'flush', weight: 3, arbitrary: fc.constant({ t: 'flush' }) },
  ];
  return fc.oneof(
    ...all
      .filter((entry) => kinds.includes(entry.kind))
      .map(({ weight, arbitrary }) => ({ weight, arbitrary })),
  );
}

const ALL_STEPS: ReadonlyArray<Step['t']> = [
  'load',
  'loadMany',
  'prime',
  'clear',
  'clearAll',
  'tick',
  'flush',
];

const configArb: fc.Arbitrary<Config> = fc.record({
  maxBatchSize: fc.constantFrom(1, 2, 3, 4, Number.POSITIVE_INFINITY),
  cache: fc.constantFrom(true, true, true, false),
  cacheErrors: fc.boolean(),
  immediateCacheHits: fc.boolean(),
  path: fc.constantFrom('plain', 'plain', 'cacheKeyFn', 'onLoad', 'loaderSignal', 'callSignal'),
});

const sourceArb: fc.Arbitrary<Source> = fc.record({
  errorKeys: fc.uniqueArray(KEY, { maxLength: 3 }),
  failingCalls: fc.uniqueArray(fc.integer({ min: 0, max: 10 }), { maxLength: 3 }),
});

// The batch function's answers. Values and errors name the call that produced them, so the model
// must predict exactly which call answered each load.
const fetchedValue = (k: number, call: number) => `v${k}@${call}`;
const keyErrorOf = (k: number, call: number) => `BackendError: e${k}@${call}`;
const callErrorOf = (call: number) => `BackendError: call ${call} failed`;
const primedValueOf = (k: number, step: number) => `p${k}#${step}`;
const primedErrorOf = (k: number, step: number) => `BackendError: primed e${k}#${step}`;

/** An Error as `{ error: 'Class: message' }`; arrays element-wise. */
function normalize(value: unknown): unknown {
  if (value instanceof Error) return { error: `${value.constructor.name}: ${value.message}` };
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}

/** Attaches both handlers at once, so no rejection goes unhandled. */
function settle(promise: Promise<unknown>): Promise<Answer> {
  return promise.then(
    (value) => ({ ok: normalize(value) }),
    (error: unknown) => ({ err: normalize(error) }),
  );
}

async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function makeLoader(config: Config, source: Source, calls: number[][]): DataLoader<number, string, unknown> {
  return new DataLoader<number, string, unknown>(
    async (keys) => {
      const call = calls.length;
      calls.push([...keys]);
      if (source.failingCalls.includes(call)) throw new BackendError(`call ${call} failed`);
      return keys.map((k) =>
        source.errorKeys.includes(k) ? new BackendError(`e${k}@${call}`) : fetchedValue(k, call),
      );
    },
    {
      maxBatchSize: config.maxBatchSize,
      cache: config.cache,
      cacheErrors: config.cacheErrors,
      immediateCacheHits: config.immediateCacheHits,
      ...(config.path === 'cacheKeyFn' ? { cacheKeyFn: (k: number) => `key ${k}` } : {}),
      ...(config.path === 'onLoad' ? { onLoad: () => {} } : {}),
      ...(config.path === 'loaderSignal' ? { signal: new AbortController().signal } : {}),
    },
  );
}

/** Per-call options: a signal that never aborts when the config asks for one. */
function callOptions(config: Config): { signal: AbortSignal } | undefined {
  return config.path === 'callSignal' ? { signal: new AbortController().signal } : undefined;
}

/** Runs the program on a real DataLoader. */
async function runReal(config: Config, source: Source, steps: readonly Step[]): Promise<Trace> {
  const calls: number[][] = [];
  const loader = makeLoader(config, source, calls);
  const results: Array<Answer | null> = steps.map(() => null);
  const pending: Promise<void>[] = [];
  const record = (index: number, promise: Promise<unknown>) => {
    pending.push(
      settle(promise).then((answer) => {
        results[index] = answer;
      }),
    );
  };
  for (const [index, step] of steps.entries()) {
    switch (step.t) {
      case 'load':
        record(index, loader.load(step.k, callOptions(config)));
        break;
      case 'loadMany':
        record(index, loader.loadMany(step.ks, callOptions(config)));
        break;
      case 'prime':
        loader.prime(
          step.k,
          step.error ? new BackendError(`primed e${step.k}#${index}`) : primedValueOf(step.k, index),
        );
        break;
      case 'clear':
        loader.clear(step.k);
        break;
      case 'clearAll':
        loader.clearAll();
        break;
      case 'tick':
        await Promise.resolve();
        break;
      case 'flush':
        await flush();
        break;
    }
  }
  await flush();
  await Promise.all(pending);
  return { results, calls };
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

interface ModelBatch {
  keys: number[];
  answers: Answer[] | null;
}

/** What a load is answered by: a slot of a batch, or a primed answer. */
type Ref = { batch: ModelBatch; index: number } | { answer: Answer };

function runModel(config: Config, source: Source, steps: readonly Step[]): Trace {
  const memo = new Map<number, Ref>();
  const calls: number[][] = [];
  let open: ModelBatch[] = [];

  const openBatch = (): ModelBatch => {
    const last = open[open.length - 1];
    if (last !== undefined && last.keys.length < config.maxBatchSize) return last;
    const batch: ModelBatch = { keys: [], answers: null };
    open.push(batch);
    return batch;
  };

  const load = (k: number): Ref => {
    if (config.cache) {
      const hit = memo.get(k);
      if (hit !== undefined) return hit;
    }
    const batch = openBatch();
    batch.keys.push(k);
    const ref: Ref = { batch, index: batch.keys.length - 1 };
    if (config.cache) memo.set(k, ref);
    return ref;
  };

  const sendAll = () => {
    for (const batch of open) {
      const call = calls.length;
      calls.push([...batch.keys]);
      if (source.failingCalls.includes(call)) {
        batch.answers = batch.keys.map(() => ({ err: { error: callErrorOf(call) } }));
        for (const k of batch.keys) memo.delete(k);
      } else {
        batch.answers = batch.keys.map((k) =>
          source.errorKeys.includes(k)
            ? { err: { error: keyErrorOf(k, call) } }
            : { ok: fetchedValue(k, call) },
        );
        if (!config.cacheErrors) for (const k of batch.keys) if (source.errorKeys.includes(k)) memo.delete(k);
      }
    }
    open = [];
  };

  const refs: Array<Ref | Ref[] | null> = steps.map(() => null);
  for (const [index, step] of steps.entries()) {
    switch (step.t) {
      case 'load':
        refs[index] = load(step.k);
        break;
      case 'loadMany':
        refs[index] = step.ks.map(load);
        break;
      case 'prime':
        if (config.cache && !memo.has(step.k) && (!step.error || config.cacheErrors)) {
          memo.set(step.k, {
            answer: step.error
              ? { err: { error: primedErrorOf(step.k, index) } }
              : { ok: primedValueOf(step.k, index) },
          });
        }
        break;
      case 'clear':
        memo.delete(step.k);
        break;
      case 'clearAll':
        memo.clear();
        break;
      case 'tick':
        break;
      case 'flush':
        sendAll();
        break;
    }
  }
  sendAll();

  const answerOf = (ref: Ref): Answer => ('answer' in ref ? ref.answer : ref.batch.answers![ref.index]!);
  const results = refs.map((ref): Answer | null => {
    if (ref === null) return null;
    if (!Array.isArray(ref)) return answerOf(ref);
    // loadMany resolves with the value or the Error of each key.
    return { ok: ref.map(answerOf).map((answer) => ('ok' in answer ? answer.ok : answer.err)) };
  });
  return { results, calls };
}

const unique = (keys: readonly number[]) => [...new Set(keys)];

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('DataLoader against a reference model', () => {
  it('the model itself predicts a known program', () => {
    const steps: Step[] = [
      { t: 'load', k: 1 },
      { t: 'loadMany', ks: [2, 1, 3] },
      { t: 'prime', k: 4, error: false },
      { t: 'load', k: 4 },
      { t: 'flush' },
      { t: 'clear', k: 1 },
      { t: 'load', k: 1 },
      { t: 'load', k: 2 },
    ];
    const config: Config = {
      maxBatchSize: 2,
      cache: true,
      cacheErrors: true,
      immediateCacheHits: true,
      path: 'plain',
    };
    const source: Source = { errorKeys: [3], failingCalls: [1] };
    expect(runModel(config, source, steps)).toEqual({
      calls: [[1, 2], [3], [1]],
      results: [
        { ok: 'v1@0' },
        { ok: ['v2@0', 'v1@0', { error: 'BackendError: call 1 failed' }] },
        null,
        { ok: 'p4#2' },
        null,
        null,
        { ok: 'v1@2' },
        { ok: 'v2@0' },
      ],
    });
  });

  it('any interleaving of load, loadMany, prime, clear, clearAll and awaits gives what the model predicts', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        sourceArb,
        fc.array(stepArb(ALL_STEPS), { maxLength: 30 }),
        async (config, source, steps) => {
          const real = await runReal(config, source, steps);
          expect(real).toEqual(runModel(config, source, steps));
          for (const keys of real.calls) {
            expect(keys.length).toBeGreaterThan(0);
            expect(keys.length).toBeLessThanOrEqual(config.maxBatchSize);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with the memo on and no clear, a batch holds each key at most once and at most maxBatchSize keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.map((config) => ({ ...config, cache: true })),
        sourceArb,
        fc.array(stepArb(['load', 'loadMany', 'prime', 'tick', 'flush']), { maxLength: 30 }),
        async (config, source, steps) => {
          const real = await runReal(config, source, steps);
          for (const keys of real.calls) {
            expect(unique(keys)).toEqual(keys);
            expect(keys.length).toBeLessThanOrEqual(config.maxBatchSize);
          }
          expect(real).toEqual(runModel(config, source, steps));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('after clear(k) the next load of k calls the batch function again', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.map((config) => ({ ...config, cache: true })),
        sourceArb,
        fc.array(stepArb(ALL_STEPS), { maxLength: 20 }),
        KEY,
        async (config, source, steps, k) => {
          const calls: number[][] = [];
          const loader = makeLoader(config, source, calls);
          const pending: Promise<unknown>[] = [];
          for (const step of steps) {
            if (step.t === 'load') pending.push(settle(loader.load(step.k)));
            else if (step.t === 'loadMany') pending.push(settle(loader.loadMany(step.ks)));
            else if (step.t === 'prime')
              loader.prime(step.k, step.error ? new BackendError('primed') : 'primed');
            else if (step.t === 'clear') loader.clear(step.k);
            else if (step.t === 'clearAll') loader.clearAll();
            else if (step.t === 'flush') await flush();
          }
          pending.push(settle(loader.load(k)));
          await flush();
          await Promise.all(pending);
          const before = calls.length;
          loader.clear(k);
          const answer = await settle(loader.load(k));
          expect(calls.slice(before)).toEqual([[k]]);
          const call = before;
          if (source.failingCalls.includes(call))
            expect(answer).toEqual({ err: { error: callErrorOf(call) } });
          else if (source.errorKeys.includes(k))
            expect(answer).toEqual({ err: { error: keyErrorOf(k, call) } });
          else expect(answer).toEqual({ ok: fetchedValue(k, call) });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a failed batch leaves none of its keys memoized: the next load of each refetches', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.map((config) => ({ ...config, cache: true })),
        fc.array(KEY, { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(KEY, { maxLength: 3 }),
        async (config, keys, errorKeys) => {
          // Every call of the first round fails; no later call does.
          const firstRound = Math.ceil(unique(keys).length / Math.min(config.maxBatchSize, keys.length));
          const failingCalls = Array.from({ length: firstRound }, (_, i) => i);
          const calls: number[][] = [];
          const loader = makeLoader(config, { errorKeys, failingCalls }, calls);
          const failed = await Promise.all(keys.map((k) => settle(loader.load(k))));
          expect(calls.length).toBe(firstRound);
          expect(calls.flat()).toEqual(unique(keys));
          for (const [i, answer] of failed.entries()) {
            const call = calls.findIndex((batch) => batch.includes(keys[i]!));
            expect(answer).toEqual({ err: { error: callErrorOf(call) } });
          }
          await flush();
          const again = await settle(loader.loadMany(keys));
          const refetched = calls.slice(firstRound);
          expect(refetched.flat()).toEqual(unique(keys));
          const callOf = (k: number) => firstRound + refetched.findIndex((batch) => batch.includes(k));
          expect(again).toEqual({
            ok: keys.map((k) =>
              errorKeys.includes(k) ? { error: keyErrorOf(k, callOf(k)) } : fetchedValue(k, callOf(k)),
            ),
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('per-key Errors stay memoized by default and are refetched with cacheErrors: false', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.map((config) => ({ ...config, cache: true })),
        fc.array(KEY, { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(KEY, { minLength: 1, maxLength: 4 }),
        async (config, keys, errorKeys) => {
          const calls: number[][] = [];
          const loader = makeLoader(config, { errorKeys, failingCalls: [] }, calls);
          const firstErrors = await Promise.all(
            keys.map((k) => loader.load(k).catch((error: unknown) => error)),
          );
          await flush();
          const firstCalls = calls.length;
          const secondErrors = await Promise.all(
            keys.map((k) => loader.load(k).catch((error: unknown) => error)),
          );
          await flush();
          const refetched = calls.slice(firstCalls);
          const failedKeys = unique(keys).filter((k) => errorKeys.includes(k));
          if (config.cacheErrors) {
            expect(refetched).toEqual([]);
            // The very same Error objects (and values) come back from the memo.
            for (const [i, error] of secondErrors.entries()) expect(error).toBe(firstErrors[i]);
          } else {
            expect(refetched.flat()).toEqual(failedKeys);
            for (const [i, k] of keys.entries()) {
              if (errorKeys.includes(k)) {
                const call = firstCalls + refetched.findIndex((batch) => batch.includes(k));
                expect(normalize(secondErrors[i])).toEqual({ error: keyErrorOf(k, call) });
              } else {
                expect(secondErrors[i]).toBe(firstErrors[i]);
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
