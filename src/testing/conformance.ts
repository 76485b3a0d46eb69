/**
 * Conformance suites for the two store roles, independent of any test framework: each returns a list
 * of cases whose `run` throws an Error with a clear message when the store breaks the contract.
 *
 * ```ts
 * import { localStoreConformance, remoteStoreConformance } from 'loaderkit/testing';
 *
 * for (const c of remoteStoreConformance(() => createMyRedisStore())) it(c.name, c.run);
 * for (const c of localStoreConformance((opts) => createMyLocalStore(opts))) it(c.name, c.run);
 * ```
 */
import type { LocalEntry, LocalStore, RemoteStore, RemoteWrite } from '../cache/store.js';

/** One case of a conformance suite. */
export interface ConformanceCase {
  /** What the case checks, as a test title. */
  readonly name: string;
  /** Runs the case on a fresh store (closed at the end); rejects with an Error naming what failed. */
  readonly run: () => Promise<void>;
}

/** Thrown by a failing conformance case. */
export class ConformanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceError';
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/** A short, readable rendering of a value for failure messages (long strings are cut). */
function show(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 60 ? `${value.slice(0, 40)}… (${value.length} chars)` : value;
    return JSON.stringify(cut);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (Object.is(value, -0)) return '-0';
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map(show).join(', ');
    return `[${items}${value.length > 8 ? `, … (${value.length} items)` : ''}]`;
  }
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---------------------------------------------------------------------------------------------------
// Remote stores
// ---------------------------------------------------------------------------------------------------

export interface RemoteStoreConformanceOptions {
  /**
   * The short lifetime, in milliseconds, of the values the expiry cases write.
   *
   * @default 30
   */
  ttlMs?: number;
  /**
   * How long the expiry cases wait after writing short-lived values before they read them again;
   * must exceed `ttlMs` by the store's expiry precision.
   *
   * @default ttlMs + 40
   */
  waitMs?: number;
  /**
   * Lets `ms` milliseconds pass for the store. Pass one that moves a manual clock when the store
   * reads its expiries from one (then no real time passes).
   *
   * @default a real timer: `new Promise((resolve) => setTimeout(resolve, ms))`
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Prepended to every key the cases use (except the empty key, which is tested as is), so runs on a
   * shared server do not collide. Every case deletes the keys it wrote before closing its store.
   *
   * @default `'loaderkit-conformance:<random>:'`, one random part per suite
   */
  keyPrefix?: string;
  /**
   * The longest a single store call may take before the case fails with a timeout (instead of the
   * test runner's own, less telling one).
   *
   * @default 5_000
   */
  callTimeoutMs?: number;
}

/** A long lifetime: values that must survive a case. */
const LONG_TTL = 60_000;

/**
 * The remote store contract as a list of cases. Each case calls `create` for a fresh store, and
 * closes it at the end. Keys are opaque strings; values are strings (empty ones included), each kept
 * for its `ttlMs`; `getMany` answers an array aligned with its keys, of strings and `null`.
 */
export function remoteStoreConformance(
  create: () => RemoteStore | Promise<RemoteStore>,
  options: RemoteStoreConformanceOptions = {},
): ConformanceCase[] {
  const ttlMs = options.ttlMs ?? 30;
  const waitMs = options.waitMs ?? ttlMs + 40;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const prefix = options.keyPrefix ?? `loaderkit-conformance:${Math.random().toString(36).slice(2, 10)}:`;
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  let caseNumber = 0;

  /** What a case works with: the store, and calls that validate the store's answers. */
  interface Remote {
    readonly store: RemoteStore;
    /**
     * The outcome of one raw call: its answer, or its rejection. Fails the case when the call throws
     * synchronously, returns no promise, or does not settle within `callTimeoutMs`.
     */
    raw<T>(what: string, call: () => Promise<T>): Promise<Settled<T>>;
    /** A key of this case: prefixed and numbered, so cases never share keys. */
    key(name: string): string;
    get(keys: readonly string[], signal?: AbortSignal): Promise<Array<string | null>>;
    set(writes: readonly RemoteWrite[], signal?: AbortSignal): Promise<void>;
    del(keys: readonly string[], signal?: AbortSignal): Promise<void>;
  }

  const cases: Array<[string, (remote: Remote) => Promise<void>]> = [
    [
      'has a non-empty name',
      async ({ store }) => {
        check(
          typeof store.name === 'string' && store.name.length > 0,
          `name must be a non-empty string, got ${show(store.name)}`,
        );
      },
    ],
    [
      'empty arrays: getMany([]) answers [], setMany([]) and deleteMany([]) resolve',
      async (r) => {
        const got = await r.get([]);
        check(got.length === 0, `getMany([]) must answer [], got ${show(got)}`);
        await r.set([]);
        await r.del([]);
        const again = await r.get([r.key('after-empty')]);
        check(again[0] === null, `getMany after empty calls must still answer null, got ${show(again)}`);
      },
    ],
    [
      'getMany answers null (not undefined) for absent keys, aligned with them',
      async (r) => {
        const keys = [r.key('absent-1'), r.key('absent-2'), r.key('absent-3')];
        const got = await r.get(keys);
        for (let i = 0; i < keys.length; i++)
          check(got[i] === null, `absent key ${i} must read null, got ${show(got[i])}`);
      },
    ],
    [
      'getMany answers aligned with its keys, including duplicates and absent keys',
      async (r) => {
        const [k1, k2, k3] = [r.key('k1'), r.key('k2'), r.key('k3')];
        await r.set([
          { key: k1, value: 'one', ttlMs: LONG_TTL },
          { key: k3, value: 'three', ttlMs: LONG_TTL },
        ]);
        const keys = [k2, k1, k3, k1, k2, k1];
        const expected = [null, 'one', 'three', 'one', null, 'one'];
        const got = await r.get(keys);
        checkSame(got, expected, 'getMany of duplicated and absent keys');
      },
    ],
    [
      'setMany then getMany reads back exactly the strings written (empty, whitespace, JSON, NUL, unicode)',
      async (r) => {
        const values = [
          '',
          ' ',
          'plain',
          '{"a":[1,"two",null]}',
          'null',
          'line\nbreak\r\n',
          'nul\u0000byte',
          'ünï©ødé 😀',
        ];
        const writes = values.map((value, i) => ({ key: r.key(`v${i}`), value, ttlMs: LONG_TTL }));
        await r.set(writes);
        const got = await r.get(writes.map((w) => w.key));
        checkSame(got, values, 'values written by one setMany');
        const reversed = await r.get(writes.map((w) => w.key).reverse());
        checkSame(reversed, [...values].reverse(), 'the same values read in reverse order');
      },
    ],
    [
      'a value is gone after its ttlMs, and a longer-lived one of the same call stays',
      async (r) => {
        const [short, long] = [r.key('short'), r.key('long')];
        await r.set([
          { key: short, value: 'short-lived', ttlMs },
          { key: long, value: 'long-lived', ttlMs: LONG_TTL },
        ]);
        checkSame(await r.get([short, long]), ['short-lived', 'long-lived'], 'right after the write');
        await sleep(waitMs);
        checkSame(
          await r.get([short, long]),
          [null, 'long-lived'],
          `${waitMs} ms after a write with ttlMs ${ttlMs}`,
        );
      },
    ],
    [
      'an overwrite replaces the value and its lifetime',
      async (r) => {
        const [grows, shrinks] = [r.key('grows'), r.key('shrinks')];
        await r.set([
          { key: grows, value: 'old-short', ttlMs },
          { key: shrinks, value: 'old-long', ttlMs: LONG_TTL },
        ]);
        await r.set([
          { key: grows, value: 'new-long', ttlMs: LONG_TTL },
          { key: shrinks, value: 'new-short', ttlMs },
        ]);
        checkSame(await r.get([grows, shrinks]), ['new-long', 'new-short'], 'right after the overwrite');
        await sleep(waitMs);
        checkSame(
          await r.get([grows, shrinks]),
          ['new-long', null],
          `${waitMs} ms later (the overwrite's ttlMs applies, not the first write's)`,
        );
      },
    ],
    [
      'deleteMany drops exactly the named keys; absent and duplicated keys are fine',
      async (r) => {
        const [a, b, c, never] = [r.key('a'), r.key('b'), r.key('c'), r.key('never-written')];
        await r.set([a, b, c].map((key) => ({ key, value: `value of ${key}`, ttlMs: LONG_TTL })));
        await r.del([a, never, c, a]);
        checkSame(
          await r.get([a, b, c, never]),
          [null, `value of ${b}`, null, null],
          'after deleteMany([a, absent, c, a])',
        );
        await r.set([{ key: a, value: 'again', ttlMs: LONG_TTL }]);
        checkSame(await r.get([a]), ['again'], 'a deleted key written again');
      },
    ],
    [
      'a write with ifValue is a compare-and-set: null writes only an empty key, a string only the key holding exactly it',
      async (r) => {
        const [empty, held, taken, mixed] = [
          r.key('cas-empty'),
          r.key('cas-held'),
          r.key('cas-taken'),
          r.key('cas-mixed'),
        ];
        await r.set([
          { key: held, value: 'marker 1', ttlMs: LONG_TTL },
          { key: taken, value: 'someone else', ttlMs: LONG_TTL },
        ]);
        await r.set([
          { key: empty, value: 'into empty', ttlMs: LONG_TTL, ifValue: null },
          { key: held, value: 'over marker 1', ttlMs: LONG_TTL, ifValue: 'marker 1' },
          { key: taken, value: 'lost', ttlMs: LONG_TTL, ifValue: null },
          { key: mixed, value: 'unconditional', ttlMs: LONG_TTL },
        ]);
        checkSame(
          await r.get([empty, held, taken, mixed]),
          ['into empty', 'over marker 1', 'someone else', 'unconditional'],
          'after writes with ifValue null, the held value, null on a taken key, and none',
        );
        await r.set([
          { key: held, value: 'stale', ttlMs: LONG_TTL, ifValue: 'marker 1' },
          { key: empty, value: 'stale', ttlMs: LONG_TTL, ifValue: null },
          { key: taken, value: 'prefix only', ttlMs: LONG_TTL, ifValue: 'someone' },
        ]);
        checkSame(
          await r.get([held, empty, taken]),
          ['over marker 1', 'into empty', 'someone else'],
          'writes whose condition no longer holds are skipped',
        );
        // Long expected values (a store may compare them by digest), unicode included.
        const long = r.key('cas-long');
        const old = 'entry é€😀 '.repeat(1000);
        await r.set([{ key: long, value: old, ttlMs: LONG_TTL }]);
        await r.set([{ key: long, value: 'lost', ttlMs: LONG_TTL, ifValue: `${old.slice(0, -1)}!` }]);
        checkSame(await r.get([long]), [old], 'a write expecting a long value that differs in its last char');
        await r.set([{ key: long, value: 'replaced', ttlMs: LONG_TTL, ifValue: old }]);
        checkSame(await r.get([long]), ['replaced'], 'a write expecting exactly the long value held');
      },
    ],
    [
      'a 1 MiB value round-trips intact',
      async (r) => {
        const chunk = 'loaderkit é€😀 {"k":[1,2,3]}\n';
        const big = chunk.repeat(Math.ceil((1 << 20) / chunk.length)).slice(0, 1 << 20);
        const key = r.key('big');
        await r.set([{ key, value: big, ttlMs: LONG_TTL }]);
        const [got] = await r.get([key]);
        check(typeof got === 'string', `the 1 MiB value must read back as a string, got ${show(got)}`);
        check(
          got.length === big.length,
          `the 1 MiB value read back with ${got.length} chars instead of ${big.length}`,
        );
        check(
          got === big,
          `the 1 MiB value read back changed (first difference at char ${firstDifference(got, big)})`,
        );
      },
    ],
    [
      'odd keys are distinct opaque strings: unicode, newlines, {} hash-tag braces, 10 KB, empty, near-duplicates',
      async (r) => {
        const odd = [
          r.key('ünï©ødé-😀'),
          r.key('line\nbreak'),
          r.key('cr\r\nlf'),
          r.key('{tag}:one'),
          r.key('{tag}:two'),
          `{${prefix}}braces`,
          r.key('{}'),
          r.key('}{'),
          r.key('a:b|c'),
          r.key('a:b|c '),
          r.key('A:b|c'),
          r.key(' '),
          r.key('k'.repeat(10 * 1024)),
          r.key('k'.repeat(10 * 1024 - 1)),
          '',
        ];
        check(
          new Set(odd).size === odd.length,
          'the odd keys of this case must be distinct (a bug in the suite)',
        );
        const writes = odd.map((key, i) => ({ key, value: `odd ${i}`, ttlMs: LONG_TTL }));
        try {
          await r.set(writes);
          checkSame(
            await r.get(odd),
            writes.map((w) => w.value),
            'values at odd keys',
          );
          await r.del(odd.filter((_, i) => i % 2 === 0));
          checkSame(
            await r.get(odd),
            writes.map((w, i) => (i % 2 === 0 ? null : w.value)),
            'values at odd keys after deleting every other one',
          );
        } finally {
          await r.del(odd).catch(() => undefined);
        }
      },
    ],
    [
      'concurrent writes to one key leave exactly one of the written values, never a mix',
      async (r) => {
        const key = r.key('contended');
        const values = Array.from({ length: 16 }, (_, i) =>
          `${String.fromCharCode(65 + i)}`.repeat(64 * 1024),
        );
        await Promise.all(values.map((value) => r.set([{ key, value, ttlMs: LONG_TTL }])));
        const [got] = await r.get([key]);
        check(
          typeof got === 'string',
          `after 16 concurrent writes the key must hold a string, got ${show(got)}`,
        );
        check(
          values.includes(got),
          `after 16 concurrent writes the key holds a value nobody wrote: ${show(got)}`,
        );
        const reads = await Promise.all(values.map(() => r.get([key])));
        for (const [again] of reads)
          check(again === got, `concurrent reads of a settled key disagree: ${show(again)} vs ${show(got)}`);
      },
    ],
    [
      'does not change or keep the arrays it is given (frozen arrays are fine)',
      async (r) => {
        const [a, b] = [r.key('frozen-a'), r.key('frozen-b')];
        const writes = Object.freeze([
          Object.freeze({ key: b, value: 'B', ttlMs: LONG_TTL }),
          Object.freeze({ key: a, value: 'A', ttlMs: LONG_TTL }),
        ]);
        await r.set(writes);
        const keys = Object.freeze([b, a, b]);
        checkSame(await r.get(keys), ['B', 'A', 'B'], 'reads with a frozen key array');
        await r.del(Object.freeze([b]));
        checkSame(
          await r.get(Object.freeze([a, b])),
          ['A', null],
          'reads after a delete with a frozen key array',
        );
        check(writes[0]!.key === b && writes[1]!.key === a, 'the writes array must be left as given');
      },
    ],
    [
      'an aborted signal is honoured (rejects) or ignored (answers correctly; always with ignoresSignal), and never breaks later calls',
      async (r) => {
        const [k, other] = [r.key('abort'), r.key('abort-other')];
        await r.set([{ key: other, value: 'kept', ttlMs: LONG_TTL }]);
        const { store } = r;
        const calls = (signal: AbortSignal): Array<readonly [string, () => Promise<unknown>]> => [
          ['getMany', () => store.getMany([other, k], signal)],
          ['setMany', () => store.setMany([{ key: k, value: 'maybe', ttlMs: LONG_TTL }], signal)],
          ['deleteMany', () => store.deleteMany([k], signal)],
        ];
        // Already aborted when called.
        const aborted = AbortSignal.abort(new Error('conformance: aborted on purpose'));
        for (const [method, call] of calls(aborted)) {
          const got = await r.raw(`${method} with an already aborted signal`, call);
          // A store that says it ignores signals is given one that never aborts: it must not read it.
          check(
            got.ok || store.ignoresSignal !== true,
            `a store with ignoresSignal: true must ignore signals, but ${method} with an aborted one failed`,
          );
          if (got.ok && method === 'getMany') {
            const answer: unknown = got.value;
            checkAnswer(answer, [other, k]);
            check(
              answer[0] === 'kept',
              `a getMany that ignored its aborted signal must answer correctly, got ${show(answer)}`,
            );
          }
        }
        // Aborted while in flight.
        for (const method of ['getMany', 'setMany', 'deleteMany'] as const) {
          const controller = new AbortController();
          const [, call] = calls(controller.signal).find(([m]) => m === method)!;
          const outcome = r.raw(`${method} aborted in flight`, () => {
            const promise = call();
            controller.abort(new Error('conformance: aborted in flight'));
            return promise;
          });
          const got = await outcome;
          check(
            got.ok || store.ignoresSignal !== true,
            `a store with ignoresSignal: true must ignore signals, but ${method} aborted in flight failed`,
          );
          if (got.ok && method === 'getMany') checkAnswer(got.value, [other, k]);
        }
        // Later calls work as if nothing happened.
        await r.set([
          { key: k, value: 'after', ttlMs: LONG_TTL },
          { key: other, value: 'after-other', ttlMs: LONG_TTL },
        ]);
        checkSame(await r.get([k, other]), ['after', 'after-other'], 'calls after aborted ones');
        await r.del([k]);
        checkSame(await r.get([k, other]), [null, 'after-other'], 'a delete after aborted calls');
      },
    ],
    [
      'close() resolves, and is idempotent (twice in a row, and concurrently)',
      async ({ store }) => {
        await within(store.close(), callTimeoutMs, 'close()');
        await within(store.close(), callTimeoutMs, 'a second close()');
        await within(
          Promise.all([store.close(), store.close()]),
          callTimeoutMs,
          'two concurrent close() calls',
        );
      },
    ],
  ];

  return cases.map(([name, body]) => ({
    name,
    run: async () => {
      const number = caseNumber++;
      const store = await create();
      check(typeof store === 'object' && store !== null, `create() must give a store, got ${show(store)}`);
      const used = new Set<string>();
      const live = () => new AbortController().signal;
      /** Runs one store call; its rejection passes through, but a broken call fails the case. */
      const invoke = <T>(what: string, call: () => Promise<T>): Promise<T> => {
        let promise: Promise<T>;
        try {
          promise = call();
        } catch (error) {
          return Promise.reject(
            new ConformanceError(
              `${what} must return a promise, but threw synchronously: ${describeError(error)}`,
            ),
          );
        }
        if (typeof (promise as { then?: unknown } | null)?.then !== 'function') {
          return Promise.reject(new ConformanceError(`${what} must return a promise, got ${show(promise)}`));
        }
        return within(promise, callTimeoutMs, what);
      };
      const remote: Remote = {
        store,
        key(keyName) {
          const key = `${prefix}${number}:${keyName}`;
          used.add(key);
          return key;
        },
        raw: (what, call) => settle(invoke(what, call)),
        async get(keys, signal = live()) {
          const answer: unknown = await invoke('getMany', () => store.getMany(keys, signal));
          checkAnswer(answer, keys);
          return [...answer];
        },
        async set(writes, signal = live()) {
          for (const write of writes) used.add(write.key);
          await invoke('setMany', () => store.setMany(writes, signal));
        },
        async del(keys, signal = live()) {
          await invoke('deleteMany', () => store.deleteMany(keys, signal));
        },
      };
      try {
        await body(remote);
      } finally {
        if (used.size > 0) {
          await within(store.deleteMany([...used], live()), callTimeoutMs, 'cleanup deleteMany').catch(
            () => undefined,
          );
        }
        await within(store.close(), callTimeoutMs, 'close()');
      }
    },
  }));
}

/** Checks that a getMany answer is an array of the keys' length, of strings and null. */
function checkAnswer(answer: unknown, keys: readonly string[]): asserts answer is Array<string | null> {
  check(Array.isArray(answer), `getMany must answer an array, got ${show(answer)} for ${keys.length} keys`);
  check(
    answer.length === keys.length,
    `getMany must answer one value per key: ${answer.length} values for ${keys.length} keys`,
  );
  answer.forEach((value, i) => {
    check(
      typeof value === 'string' || value === null,
      `getMany must answer strings or null, got ${show(value)} (${typeof value}) for key ${i}`,
    );
  });
}

function checkSame(got: ReadonlyArray<unknown>, expected: ReadonlyArray<unknown>, what: string): void {
  check(
    got.length === expected.length,
    `${what}: expected ${expected.length} values, got ${got.length}: ${show(got)}`,
  );
  for (let i = 0; i < expected.length; i++) {
    check(
      Object.is(got[i], expected[i]),
      `${what}: at ${i} expected ${show(expected[i])}, got ${show(got[i])}`,
    );
  }
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The outcome of a store call; a ConformanceError (a broken call, a timeout) still fails the case. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => {
      if (error instanceof ConformanceError) throw error;
      return { ok: false, error };
    },
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : show(error);
}

/** `promise`, or a rejection naming `what` once `ms` pass. The timer does not outlive the promise. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------------
// Local stores
// ---------------------------------------------------------------------------------------------------

/** What the local suite asks its factory for. */
export interface LocalStoreFactoryOptions {
  /** The clock the store must read its expiries from (epoch ms); the suite moves it by hand. */
  readonly now: () => number;
  /** The most entries the store may keep. */
  readonly maxEntries: number;
  /** The most bytes (the sum of the entries' `bytes`) the store may keep; unbounded where absent. */
  readonly maxBytes?: number;
}

export interface LocalStoreConformanceOptions {
  /**
   * Whether to run the `maxBytes` cases. Turn off only for a store that has no byte bound.
   *
   * @default true
   */
  bytes?: boolean;
  /**
   * The time the suite's clock starts at, in epoch milliseconds.
   *
   * @default 1_700_000_000_000
   */
  startAt?: number;
}

/** The scalar keys a local store must tell apart as a Map does (SameValueZero); -0 is the key 0. */
const SCALAR_KEYS: readonly unknown[] = [
  0,
  1,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  '',
  '0',
  '1',
  'NaN',
  'null',
  'undefined',
  'true',
  '1n',
  ' ',
  'ünï©ødé',
  true,
  false,
  null,
  undefined,
  0n,
  1n,
  -1n,
  2n ** 70n,
];

/**
 * The local store contract as a list of cases. Each case calls `create` for a fresh store, with a
 * manual clock and the bounds it needs, and closes it at the end.
 */
export function localStoreConformance(
  create: (options: LocalStoreFactoryOptions) => LocalStore,
  options: LocalStoreConformanceOptions = {},
): ConformanceCase[] {
  const startAt = options.startAt ?? 1_700_000_000_000;

  interface Local {
    readonly store: LocalStore;
    /** Moves the clock forward. */
    advance(ms: number): void;
    readonly now: () => number;
  }

  interface Bounds {
    maxEntries?: number;
    maxBytes?: number;
  }

  const cases: Array<[string, Bounds, (local: Local) => void]> = [
    [
      'has a non-empty name',
      {},
      ({ store }) => {
        check(
          typeof store.name === 'string' && store.name.length > 0,
          `name must be a non-empty string, got ${show(store.name)}`,
        );
      },
    ],
    [
      'get of an absent entry is undefined; set then get returns the entry with its value itself',
      {},
      ({ store, now }) => {
        check(
          store.get('s', 'k') === undefined,
          `get of an absent entry must be undefined, got ${show(store.get('s', 'k'))}`,
        );
        const e = entry('s', 'k', now());
        store.set(e, 1_000);
        checkEntry(store.get('s', 'k'), e, "get('s', 'k') after set");
        check(store.get('s', 'other') === undefined, 'get of another key in the space must be undefined');
        check(store.get('other', 'k') === undefined, 'get of the key in another space must be undefined');
      },
    ],
    [
      'scalar keys of every type are distinct keys by SameValueZero (0 and -0 one key, NaN one key)',
      {},
      ({ store, now }) => {
        const written = SCALAR_KEYS.map((key, i) => entry('space', key, now(), `value ${i}`));
        for (const e of written) store.set(e, 1_000);
        written.forEach((e, i) => {
          checkEntry(
            store.get('space', SCALAR_KEYS[i]),
            e,
            `key ${show(SCALAR_KEYS[i])} (${typeof SCALAR_KEYS[i]})`,
          );
        });
        checkEntry(store.get('space', -0), written[0]!, 'key -0 (reads the entry of key 0)');

        const at = (key: unknown) => written[SCALAR_KEYS.findIndex((k) => Object.is(k, key))]!;
        checkEntry(store.get('space', 0 / 0), at(Number.NaN), 'a NaN computed elsewhere');
        const minusZero = entry('space', -0, now(), 'written at -0');
        store.set(minusZero, 1_000);
        checkEntry(store.get('space', 0), minusZero, 'key 0 after a set at -0 (the same key)');
        store.delete('space', 1n);
        check(store.get('space', 1n) === undefined, 'key 1n must be gone after its delete');
        checkEntry(store.get('space', 1), at(1), 'key 1 after deleting key 1n');
        checkEntry(store.get('space', '1'), at('1'), "key '1' after deleting key 1n");
        const stats = store.stats();
        if (stats.entries !== undefined) {
          check(
            stats.entries === SCALAR_KEYS.length - 1,
            `stats().entries must be ${SCALAR_KEYS.length - 1}, got ${stats.entries}`,
          );
        }
      },
    ],
    [
      'the same key in two spaces is two entries, and space/key pairs never run together',
      {},
      ({ store, now }) => {
        const pairs: Array<[string, unknown]> = [
          ['a', 1],
          ['b', 1],
          ['a', '1'],
          ['a:', 'b'],
          ['a', ':b'],
          ['a:b', ''],
          ['', 'a:b'],
          ['ab', 'c'],
          ['a', 'bc'],
          ['1', 1],
        ];
        const written = pairs.map(([space, key], i) => entry(space, key, now(), `pair ${i}`));
        for (const e of written) store.set(e, 1_000);
        pairs.forEach(([space, key], i) => {
          checkEntry(store.get(space, key), written[i]!, `space ${show(space)}, key ${show(key)}`);
        });
        store.delete('a', 1);
        check(store.get('a', 1) === undefined, "('a', 1) must be gone after its delete");
        checkEntry(store.get('b', 1), written[1]!, "('b', 1) after deleting ('a', 1)");
        checkEntry(store.get('a', '1'), written[2]!, "('a', '1') after deleting ('a', 1)");
      },
    ],
    [
      'set replaces the entry at its space and key (one entry, the last one)',
      { maxEntries: 3 },
      ({ store, now }) => {
        for (let i = 0; i < 10; i++) store.set(entry('s', 'k', now(), `version ${i}`), 1_000);
        const last = entry('s', 'k', now(), 'last');
        store.set(last, 1_000);
        checkEntry(store.get('s', 'k'), last, 'the key after 11 writes');
        const others = [entry('s', 'x', now()), entry('s', 'y', now())];
        for (const e of others) store.set(e, 1_000);
        checkEntry(store.get('s', 'k'), last, 'the rewritten key, with maxEntries 3 and 3 keys');
        for (const e of others) checkEntry(store.get('s', e.key), e, `key ${show(e.key)}`);
        const stats = store.stats();
        check(
          stats.evictions === 0,
          `overwrites are not evictions: stats().evictions must be 0, got ${stats.evictions}`,
        );
        if (stats.entries !== undefined)
          check(stats.entries === 3, `stats().entries must be 3, got ${stats.entries}`);
      },
    ],
    [
      'delete removes exactly one entry; deleting an absent entry is fine',
      {},
      ({ store, now }) => {
        const [a, b] = [entry('s', 'a', now()), entry('s', 'b', now())];
        store.set(a, 1_000);
        store.set(b, 1_000);
        store.delete('s', 'a');
        store.delete('s', 'a');
        store.delete('s', 'never');
        store.delete('never', 'b');
        check(store.get('s', 'a') === undefined, "('s', 'a') must be gone after its delete");
        checkEntry(store.get('s', 'b'), b, "('s', 'b') after deleting ('s', 'a')");
        const stats = store.stats();
        check(
          stats.evictions === 0,
          `deletes are not evictions: stats().evictions must be 0, got ${stats.evictions}`,
        );
        if (stats.entries !== undefined)
          check(stats.entries === 1, `stats().entries must be 1, got ${stats.entries}`);
        store.set(a, 1_000);
        checkEntry(store.get('s', 'a'), a, "('s', 'a') written again after its delete");
      },
    ],
    [
      'an entry is gone after its ttlMs on the clock, each entry after its own; an overwrite restarts it',
      {},
      ({ store, now, advance }) => {
        const [short, long, renewed] = [
          entry('s', 'short', now()),
          entry('s', 'long', now()),
          entry('s', 'renewed', now()),
        ];
        store.set(short, 100);
        store.set(long, 1_000);
        store.set(renewed, 100);
        advance(60);
        const again = entry('s', 'renewed', now(), 'renewed again');
        store.set(again, 100);
        advance(39); // 99 ms after the first writes
        checkEntry(store.get('s', 'short'), short, 'an entry 1 ms before its ttl ends');
        advance(2); // 101 ms
        check(
          store.get('s', 'short') === undefined,
          `an entry must be gone 1 ms after its ttl of 100 ms, got ${show(store.get('s', 'short')?.value)}`,
        );
        checkEntry(store.get('s', 'long'), long, 'an entry with a longer ttl');
        checkEntry(store.get('s', 'renewed'), again, 'an entry overwritten 60 ms in (its ttl restarted)');
        advance(60); // 161 ms: 101 ms after the overwrite
        check(store.get('s', 'renewed') === undefined, 'an overwritten entry must be gone after its new ttl');
        advance(1_000);
        check(store.get('s', 'long') === undefined, 'an entry must be gone after its ttl of 1000 ms');
        check(store.get('s', 'short') === undefined, 'an expired entry must stay gone');
        const stats = store.stats();
        check(
          stats.evictions === 0,
          `expiries are not evictions: stats().evictions must be 0, got ${stats.evictions}`,
        );
      },
    ],
    [
      'maxEntries holds: at most maxEntries entries are returned, the newest is kept, evictions are counted',
      { maxEntries: 3 },
      ({ store, now }) => {
        const written = Array.from({ length: 10 }, (_, i) => entry('s', i, now()));
        const gone = new Set<number>();
        written.forEach((e, i) => {
          store.set(e, 60_000);
          checkEntry(store.get('s', i), e, `entry ${i} right after its set`);
          const present = written.slice(0, i + 1).filter((_, j) => store.get('s', j) !== undefined);
          check(
            present.length <= 3,
            `with maxEntries 3, ${present.length} entries are returned after ${i + 1} sets`,
          );
          for (let j = 0; j <= i; j++) {
            const got = store.get('s', j);
            if (got === undefined) gone.add(j);
            else {
              check(!gone.has(j), `entry ${j} was evicted, then returned again`);
              checkEntry(got, written[j]!, `entry ${j}`);
            }
          }
        });
        const stats = store.stats();
        check(
          stats.evictions === 7,
          `10 entries into maxEntries 3 must count 7 evictions, got ${stats.evictions}`,
        );
        if (stats.entries !== undefined)
          check(stats.entries === 3, `stats().entries must be 3, got ${stats.entries}`);
      },
    ],
    [
      'an entry read just before an eviction is never returned once evicted',
      { maxEntries: 2 },
      ({ store, now }) => {
        const gone = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const key = `k${i}`;
          store.set(entry('s', key, now()), 60_000);
          // Read an older entry right before the next set evicts something.
          const older = `k${Math.max(0, i - 1)}`;
          const read = store.get('s', older);
          if (read === undefined) gone.add(older);
          for (let j = 0; j <= i; j++) {
            const got = store.get('s', `k${j}`);
            if (got === undefined) gone.add(`k${j}`);
            else
              check(!gone.has(`k${j}`), `entry k${j} was evicted, then returned again (after ${i + 1} sets)`);
          }
          const present = Array.from({ length: i + 1 }, (_, j) => store.get('s', `k${j}`)).filter(
            (e) => e !== undefined,
          );
          check(
            present.length <= 2,
            `with maxEntries 2, ${present.length} entries are returned after ${i + 1} sets`,
          );
        }
        check(
          store.stats().evictions === 18,
          `20 entries into maxEntries 2 must count 18 evictions, got ${store.stats().evictions}`,
        );
      },
    ],
    [
      'deleteSpaces(prefix) drops exactly the spaces starting with prefix, and returns how many entries',
      {},
      ({ store, now }) => {
        const spaces = ['user:v1:s1', 'user:v1:s2', 'user:v10:s1', 'user:v1', 'post:v1:s1', 'xuser:v1:s1'];
        const written = spaces.flatMap((space) => [entry(space, 1, now()), entry(space, 'two', now())]);
        for (const e of written) store.set(e, 60_000);
        const dropped = store.deleteSpaces('user:v1:');
        check(
          dropped === 4,
          `deleteSpaces('user:v1:') must return 4 (2 spaces of 2 entries), got ${show(dropped)}`,
        );
        for (const e of written) {
          const got = store.get(e.space, e.key);
          if (e.space.startsWith('user:v1:'))
            check(got === undefined, `(${e.space}, ${show(e.key)}) must be gone`);
          else checkEntry(got, e, `(${e.space}, ${show(e.key)}) outside the prefix`);
        }
        check(store.deleteSpaces('user:v1:') === 0, 'deleteSpaces of a prefix already dropped must return 0');
        check(store.deleteSpaces('nothing') === 0, 'deleteSpaces of a prefix no space has must return 0');
        const stats = store.stats();
        check(
          stats.evictions === 0,
          `deleteSpaces is not eviction: stats().evictions must be 0, got ${stats.evictions}`,
        );
        if (stats.entries !== undefined)
          check(stats.entries === 8, `stats().entries must be 8, got ${stats.entries}`);
        const rest = store.deleteSpaces('');
        check(rest === 8, `deleteSpaces('') (every space starts with '') must return 8, got ${show(rest)}`);
        for (const e of written)
          check(
            store.get(e.space, e.key) === undefined,
            `(${e.space}, ${show(e.key)}) must be gone after deleteSpaces('')`,
          );
        const again = entry('user:v1:s1', 1, now());
        store.set(again, 60_000);
        checkEntry(store.get('user:v1:s1', 1), again, 'an entry written to a dropped space');
      },
    ],
    [
      'stats() counts entries (where it reports them) and evictions from 0',
      { maxEntries: 2 },
      ({ store, now }) => {
        const first = store.stats();
        check(first.evictions === 0, `a new store must report 0 evictions, got ${show(first.evictions)}`);
        if (first.entries !== undefined)
          check(first.entries === 0, `a new store must report 0 entries, got ${first.entries}`);
        store.set(entry('s', 1, now()), 60_000);
        store.set(entry('s', 2, now()), 60_000);
        const full = store.stats();
        if (full.entries !== undefined)
          check(full.entries === 2, `stats().entries must be 2, got ${full.entries}`);
        check(full.evictions === 0, `no eviction yet: got ${full.evictions}`);
        store.set(entry('s', 3, now()), 60_000);
        const after = store.stats();
        check(
          after.evictions === 1,
          `one entry past maxEntries must count 1 eviction, got ${after.evictions}`,
        );
        if (after.entries !== undefined)
          check(after.entries === 2, `stats().entries must stay 2, got ${after.entries}`);
      },
    ],
    [
      'close() drops every entry and is idempotent',
      {},
      ({ store, now }) => {
        const written = [entry('a', 1, now()), entry('b', 'x', now()), entry('c', null, now())];
        for (const e of written) store.set(e, 60_000);
        store.close();
        for (const e of written)
          check(
            store.get(e.space, e.key) === undefined,
            `(${e.space}, ${show(e.key)}) must be gone after close()`,
          );
        const stats = store.stats();
        if (stats.entries !== undefined)
          check(stats.entries === 0, `stats().entries must be 0 after close(), got ${stats.entries}`);
        store.close();
      },
    ],
  ];

  if (options.bytes !== false) {
    cases.push(
      [
        'maxBytes holds by entry bytes: the returned entries never sum to more, evictions are counted',
        { maxEntries: 1_000, maxBytes: 100 },
        ({ store, now }) => {
          const written = Array.from({ length: 10 }, (_, i) => entry('s', i, now(), `v${i}`, 30));
          const gone = new Set<number>();
          written.forEach((e, i) => {
            store.set(e, 60_000);
            checkEntry(store.get('s', i), e, `entry ${i} (30 bytes) right after its set`);
            let bytes = 0;
            for (let j = 0; j <= i; j++) {
              const got = store.get('s', j);
              if (got === undefined) gone.add(j);
              else {
                check(!gone.has(j), `entry ${j} was evicted, then returned again`);
                bytes += got.bytes;
              }
            }
            check(
              bytes <= 100,
              `with maxBytes 100, the returned entries hold ${bytes} bytes after ${i + 1} sets`,
            );
          });
          const stats = store.stats();
          check(
            stats.evictions === 7,
            `ten 30-byte entries into maxBytes 100 must count 7 evictions, got ${stats.evictions}`,
          );
          if (stats.bytes !== undefined)
            check(stats.bytes === 90, `stats().bytes must be 90, got ${stats.bytes}`);
          if (stats.entries !== undefined)
            check(stats.entries === 3, `stats().entries must be 3, got ${stats.entries}`);
        },
      ],
      [
        'an entry larger than maxBytes is never returned, and does not break the store',
        { maxEntries: 1_000, maxBytes: 100 },
        ({ store, now }) => {
          const small = entry('s', 'small', now(), 'small', 40);
          store.set(small, 60_000);
          store.set(entry('s', 'huge', now(), 'huge', 150), 60_000);
          check(
            store.get('s', 'huge') === undefined,
            'an entry of 150 bytes must not be returned with maxBytes 100',
          );
          // The small one may or may not have made room; what is returned stays within the bound.
          const kept = store.get('s', 'small');
          if (kept !== undefined) checkEntry(kept, small, 'the small entry');
          store.set(small, 60_000);
          store.set(entry('s', 'small', now(), 'huge at a kept key', 150), 60_000);
          check(
            store.get('s', 'small') === undefined,
            'an oversized overwrite must not be returned (nor the value it replaced)',
          );
          const other = entry('s', 'other', now(), 'other', 60);
          store.set(other, 60_000);
          checkEntry(store.get('s', 'other'), other, 'an entry that fits, after oversized ones');
          const stats = store.stats();
          if (stats.bytes !== undefined)
            check(stats.bytes <= 100, `stats().bytes must stay <= 100, got ${stats.bytes}`);
        },
      ],
    );
  }

  return cases.map(([name, bounds, body]) => ({
    name,
    run: async () => {
      let time = startAt;
      const now = () => time;
      const factoryOptions: LocalStoreFactoryOptions =
        bounds.maxBytes === undefined
          ? { now, maxEntries: bounds.maxEntries ?? 1_000 }
          : { now, maxEntries: bounds.maxEntries ?? 1_000, maxBytes: bounds.maxBytes };
      const store = create(factoryOptions);
      check(typeof store === 'object' && store !== null, `create() must give a store, got ${show(store)}`);
      try {
        body({
          store,
          now,
          advance: (ms) => {
            time += ms;
          },
        });
      } finally {
        store.close();
      }
    },
  }));
}

/** A frozen entry at (space, key) whose value names it; `bytes` defaults to 1. */
function entry(
  space: string,
  key: unknown,
  at: number,
  tag = `${space}/${show(key)}`,
  bytes = 1,
): LocalEntry {
  const value = Object.freeze({ tag });
  return Object.freeze({
    space,
    key,
    value,
    sharing: 'frozen',
    freshUntil: at + 1_000,
    staleUntil: at + 2_000,
    bytes,
    resolved: undefined,
  });
}

/** Checks `got` is the entry `expected` was: the same value object and the same fields. */
function checkEntry(got: LocalEntry | undefined, expected: LocalEntry, what: string): void {
  check(got !== undefined, `${what}: expected the entry ${show(expected.value)}, got undefined`);
  check(
    got.value === expected.value,
    `${what}: expected the value ${show(expected.value)} itself, got ${show(got.value)}`,
  );
  for (const field of ['space', 'key', 'sharing', 'freshUntil', 'staleUntil', 'bytes', 'resolved'] as const) {
    check(
      Object.is(got[field], expected[field]) || (field === 'key' && got.key === expected.key),
      `${what}: expected ${field} ${show(expected[field])}, got ${show(got[field])}`,
    );
  }
}
