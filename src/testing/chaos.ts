/**
 * A remote store that misbehaves on demand, in the manner of bentocache's ChaosCache: wrap any
 * {@link RemoteStore} and make its calls slow, hang, fail, throw or lie, for some methods and for the
 * next N calls, to test that the shared tier stays correct and within its deadlines.
 */
import type { RemoteStore, RemoteWrite } from '../cache/store.js';

/** The remote store methods chaos applies to. `close` always passes through. */
export type RemoteMethod = 'getMany' | 'setMany' | 'deleteMany';

const ALL_METHODS: readonly RemoteMethod[] = ['getMany', 'setMany', 'deleteMany'];

/**
 * How a lying `getMany` answers, instead of an array aligned with its keys:
 *
 * - `'null'`: resolves `null`.
 * - `'not-array'`: an array-like object (`{ length, 0: …, 1: … }` holding the true answer), which is
 *   not an array.
 * - `'short'`: the true answer without its last element (length - 1; an empty answer stays empty).
 * - `'long'`: the true answer with one extra `null` at the end (length + 1).
 * - `'numbers'`: numbers instead of strings or null (the index of each key).
 * - `'garbage'`: a random string for every key, absent ones included (not anything that was stored).
 * - `'other-key'`: each key answered with the value at the next key of the same call, rotating (the
 *   last key gets the first key's value). A lie only where the call names two keys of different values.
 * - `'undefined'`: resolves `undefined`.
 */
export type ChaosAnswer =
  | 'null'
  | 'not-array'
  | 'short'
  | 'long'
  | 'numbers'
  | 'garbage'
  | 'other-key'
  | 'undefined';

/** Every {@link ChaosAnswer}, for tests that go through them all. */
export const CHAOS_ANSWERS: readonly ChaosAnswer[] = [
  'null',
  'not-array',
  'short',
  'long',
  'numbers',
  'garbage',
  'other-key',
  'undefined',
];

/** Which calls a chaos mode applies to. */
export interface ChaosScope {
  /**
   * The methods the mode applies to.
   *
   * @default every method: 'getMany', 'setMany' and 'deleteMany'
   */
  methods?: RemoteMethod | readonly RemoteMethod[];
  /**
   * How many calls (of those methods, counted together) the mode applies to; then it ends by itself.
   * A whole number >= 1, or Infinity.
   *
   * @default Infinity (until `heal()` or another mode replaces it)
   */
  times?: number;
}

/** A {@link ChaosScope}, or just its methods: `'getMany'`, `['setMany', 'deleteMany']`. */
export type ChaosTarget = RemoteMethod | readonly RemoteMethod[] | ChaosScope;

/** The scope of a `delay`, which may also ignore the call's signal. */
export interface ChaosDelayScope extends ChaosScope {
  /**
   * Whether the delay ignores the call's signal, as a client that does not honour signals: the call
   * still waits the whole delay, then reaches the inner store (with its now aborted signal).
   * When false, an abort during the delay rejects the call with the signal's reason, and the inner
   * store is never called.
   *
   * @default false
   */
  ignoreSignal?: boolean;
}

/** How many calls a lying answer applies to. Lies are about `getMany`, the only method that answers. */
export interface ChaosAnswerScope {
  /**
   * How many `getMany` calls lie; then the lie ends by itself. A whole number >= 1, or Infinity.
   *
   * @default Infinity
   */
  times?: number;
}

/** The error a `fail` or `throwSync` mode raises when none is given. */
export class ChaosError extends Error {
  /** The method that failed. */
  readonly method: RemoteMethod;

  constructor(method: RemoteMethod, how: 'failed' | 'threw') {
    super(`chaos: ${method} ${how}`);
    this.name = 'ChaosError';
    this.method = method;
  }
}

/** Calls made to the chaos store, per method, whatever chaos did to them. Live counters. */
export interface ChaosCalls {
  getMany: number;
  setMany: number;
  deleteMany: number;
  close: number;
}

export interface ChaosRemoteStoreOptions {
  /**
   * The random source of `'garbage'` answers, returning numbers in [0, 1).
   *
   * @default Math.random
   */
  random?: () => number;
  /**
   * The chaos store's `name`.
   *
   * @default the inner store's name
   */
  name?: string;
}

/**
 * A chaos store and its controls. Modes come in two kinds, and one of each can apply to a call:
 *
 * - **latency**: `delay`, `hang`, `hangIgnoringSignal`;
 * - **outcome**: `fail`, `throwSync`, `answer`.
 *
 * So `delay(50)` with `answer('short')` is a slow liar. Setting a mode replaces the mode of the same
 * kind on the methods it names (and only those). A call consumes one of `times` of each mode that
 * applies to it, except that a hung call consumes no outcome mode (it never gets that far) and a call
 * that throws synchronously consumes no latency mode. With no mode, calls pass straight through.
 */
export interface ChaosRemoteStore {
  /** The store to hand to loaderkit. */
  readonly store: RemoteStore;
  /**
   * Waits `ms` milliseconds before calling the inner store (so a write lands late, as a slow network
   * delivers it). Honours the call's signal unless `scope.ignoreSignal`.
   */
  delay(ms: number, scope?: RemoteMethod | readonly RemoteMethod[] | ChaosDelayScope): void;
  /**
   * Calls never settle, unless their signal aborts: then they reject with the signal's reason (right
   * away if it already aborted), as a client that honours signals. The inner store is never called.
   */
  hang(scope?: ChaosTarget): void;
  /**
   * Calls never settle at all, whatever their signal: a client that ignores signals. Whoever waits
   * must give up by itself. The inner store is never called. Such calls stay in `pending()` forever.
   */
  hangIgnoringSignal(scope?: ChaosTarget): void;
  /**
   * Calls reject with `error` (or `error(method)` where a function) without calling the inner store.
   *
   * @param error default: a {@link ChaosError}
   */
  fail(scope?: ChaosTarget, error?: unknown): void;
  /**
   * Calls throw `error` synchronously, instead of returning a promise: a broken client.
   *
   * @param error default: a {@link ChaosError}
   */
  throwSync(scope?: ChaosTarget, error?: unknown): void;
  /** `getMany` calls the inner store, then answers with a lie of the given kind (see {@link ChaosAnswer}). */
  answer(kind: ChaosAnswer, scope?: ChaosAnswerScope): void;
  /** Ends every mode: later calls pass through. Calls already hung stay hung. */
  heal(): void;
  /** The calls started and not settled yet (hung ones included; synchronous throws never count). */
  pending(): number;
  /** Calls made per method, whatever chaos did to them. */
  readonly calls: ChaosCalls;
  /** Sets every counter of `calls` back to 0. */
  resetCalls(): void;
}

type Latency =
  | { readonly kind: 'delay'; readonly ms: number; readonly ignoreSignal: boolean }
  | { readonly kind: 'hang' }
  | { readonly kind: 'hangIgnoringSignal' };

type Outcome =
  | { readonly kind: 'fail'; readonly error: unknown }
  | { readonly kind: 'throwSync'; readonly error: unknown }
  | { readonly kind: 'answer'; readonly answer: ChaosAnswer };

interface Rule<M> {
  readonly mode: M;
  /** Calls left; Infinity for no limit. */
  remaining: number;
}

/**
 * Wraps `inner` in a store whose calls misbehave on demand; see {@link ChaosRemoteStore}. With no mode
 * set ("chaos off") it is transparent: each call goes to `inner` with the same arguments and settles
 * as the inner call does.
 */
export function chaosRemoteStore(
  inner: RemoteStore,
  options: ChaosRemoteStoreOptions = {},
): ChaosRemoteStore {
  const random = options.random ?? Math.random;
  const latency = new Map<RemoteMethod, Rule<Latency>>();
  const outcome = new Map<RemoteMethod, Rule<Outcome>>();
  const calls: ChaosCalls = { getMany: 0, setMany: 0, deleteMany: 0, close: 0 };
  let pendingCalls = 0;

  function setRule<M>(
    slots: Map<RemoteMethod, Rule<M>>,
    mode: M,
    methods: readonly RemoteMethod[],
    times: number,
  ) {
    const rule: Rule<M> = { mode, remaining: times };
    for (const method of methods) slots.set(method, rule);
  }

  /** The rule applying to `method`, if any, taking one of its calls. */
  function take<M>(slots: Map<RemoteMethod, Rule<M>>, method: RemoteMethod): M | undefined {
    const rule = slots.get(method);
    if (rule === undefined) return undefined;
    rule.remaining--;
    if (rule.remaining <= 0) {
      for (const [m, r] of slots) if (r === rule) slots.delete(m);
    }
    return rule.mode;
  }

  function peek<M>(slots: Map<RemoteMethod, Rule<M>>, method: RemoteMethod): M | undefined {
    return slots.get(method)?.mode;
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    pendingCalls++;
    return promise.finally(() => {
      pendingCalls--;
    });
  }

  function call<T>(
    method: RemoteMethod,
    signal: AbortSignal,
    run: () => Promise<T>,
    lie?: (answer: T, kind: ChaosAnswer) => T,
  ): Promise<T> {
    calls[method]++;
    if (peek(outcome, method)?.kind === 'throwSync') {
      const mode = take(outcome, method) as Extract<Outcome, { kind: 'throwSync' }>;
      throw errorFor(mode.error, method, 'threw');
    }
    const slow = take(latency, method);
    if (slow?.kind === 'hangIgnoringSignal') return track(new Promise<T>(() => {}));
    if (slow?.kind === 'hang') return track(untilAborted<T>(signal));
    const end = take(outcome, method);
    const act = (): Promise<T> => {
      if (end?.kind === 'fail') return Promise.reject(errorFor(end.error, method, 'failed'));
      const answer = Promise.resolve(run());
      if (end?.kind !== 'answer' || lie === undefined) return answer;
      const kind = end.answer;
      return answer.then((told) => lie(told, kind));
    };
    if (slow?.kind === 'delay') return track(wait(slow.ms, slow.ignoreSignal ? undefined : signal).then(act));
    if (end === undefined) {
      // Transparent: a synchronous throw of the inner store stays one.
      return track(Promise.resolve(run()));
    }
    return track(act());
  }

  function lieAbout(kind: ChaosAnswer, answer: ReadonlyArray<string | null>): ReadonlyArray<string | null> {
    if (!Array.isArray(answer)) return answer; // the inner store lies already
    const told = (value: unknown) => value as ReadonlyArray<string | null>;
    switch (kind) {
      case 'null':
        return told(null);
      case 'undefined':
        return told(undefined);
      case 'not-array': {
        const like: Record<number | 'length', unknown> = { length: answer.length };
        answer.forEach((value, i) => {
          like[i] = value;
        });
        return told(like);
      }
      case 'short':
        return answer.slice(0, -1);
      case 'long':
        return [...answer, null];
      case 'numbers':
        return told(answer.map((_, i) => i));
      case 'garbage':
        return answer.map(() => garbage(random));
      case 'other-key':
        return answer.map((_, i) => answer[(i + 1) % answer.length] ?? null);
    }
  }

  const store: RemoteStore = {
    name: options.name ?? inner.name,
    getMany(keys: readonly string[], signal: AbortSignal) {
      return call(
        'getMany',
        signal,
        () => inner.getMany(keys, signal),
        (answer, kind) => lieAbout(kind, answer),
      );
    },
    setMany(writes: readonly RemoteWrite[], signal: AbortSignal) {
      return call('setMany', signal, () => inner.setMany(writes, signal));
    },
    deleteMany(keys: readonly string[], signal: AbortSignal) {
      return call('deleteMany', signal, () => inner.deleteMany(keys, signal));
    },
    close() {
      calls.close++;
      return inner.close();
    },
  };

  return {
    store,
    calls,
    delay(ms, scope) {
      if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`chaos: delay must be >= 0 ms, got ${ms}`);
      const { methods, times } = resolveScope(scope, ALL_METHODS);
      const ignoreSignal = isScopeObject(scope) && (scope as ChaosDelayScope).ignoreSignal === true;
      setRule(latency, { kind: 'delay', ms, ignoreSignal }, methods, times);
    },
    hang(scope) {
      const { methods, times } = resolveScope(scope, ALL_METHODS);
      setRule(latency, { kind: 'hang' }, methods, times);
    },
    hangIgnoringSignal(scope) {
      const { methods, times } = resolveScope(scope, ALL_METHODS);
      setRule(latency, { kind: 'hangIgnoringSignal' }, methods, times);
    },
    fail(scope, error) {
      const { methods, times } = resolveScope(scope, ALL_METHODS);
      setRule(outcome, { kind: 'fail', error }, methods, times);
    },
    throwSync(scope, error) {
      const { methods, times } = resolveScope(scope, ALL_METHODS);
      setRule(outcome, { kind: 'throwSync', error }, methods, times);
    },
    answer(kind, scope) {
      if (!CHAOS_ANSWERS.includes(kind)) throw new TypeError(`chaos: unknown answer kind ${String(kind)}`);
      const times = checkTimes(scope?.times);
      setRule(outcome, { kind: 'answer', answer: kind }, ['getMany'], times);
    },
    heal() {
      latency.clear();
      outcome.clear();
    },
    pending: () => pendingCalls,
    resetCalls() {
      for (const name of Object.keys(calls) as Array<keyof ChaosCalls>) calls[name] = 0;
    },
  };
}

function isScopeObject(scope: unknown): scope is ChaosScope {
  return typeof scope === 'object' && scope !== null && !Array.isArray(scope);
}

function resolveScope(
  scope: ChaosTarget | undefined,
  all: readonly RemoteMethod[],
): { methods: readonly RemoteMethod[]; times: number } {
  const methods = isScopeObject(scope) ? scope.methods : scope;
  const list = methods === undefined ? all : typeof methods === 'string' ? [methods] : methods;
  for (const method of list) {
    if (!ALL_METHODS.includes(method)) throw new TypeError(`chaos: unknown method ${String(method)}`);
  }
  return { methods: list, times: checkTimes(isScopeObject(scope) ? scope.times : undefined) };
}

function checkTimes(times: number | undefined): number {
  if (times === undefined) return Number.POSITIVE_INFINITY;
  if (times !== Number.POSITIVE_INFINITY && !(Number.isInteger(times) && times >= 1)) {
    throw new RangeError(`chaos: times must be a whole number >= 1 or Infinity, got ${times}`);
  }
  return times;
}

function errorFor(error: unknown, method: RemoteMethod, how: 'failed' | 'threw'): unknown {
  if (error === undefined) return new ChaosError(method, how);
  return typeof error === 'function' ? (error as (method: RemoteMethod) => unknown)(method) : error;
}

/** Never settles, unless `signal` aborts: then rejects with its reason. */
function untilAborted<T>(signal: AbortSignal): Promise<T> {
  return new Promise<T>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Resolves after `ms`, or rejects with `signal`'s reason when it aborts first (if a signal is given). */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const GARBAGE = 'abcXYZ0189 {}[]":,\\/\n\t\u0000é€😀';

/** A random string of 1 to 24 characters, often not JSON, sometimes almost. */
function garbage(random: () => number): string {
  const chars = [...GARBAGE];
  const length = 1 + Math.floor(random() * 24);
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)] ?? '?';
  return out;
}
