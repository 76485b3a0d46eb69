/**
 * `DataLoader`: a drop-in for npm `dataloader` 2.x. It batches the keys asked for within one
 * schedule (a tick by default, or a time window, or the adaptive schedule) into one call of the
 * batch function, and memoizes each key's promise for the life of the loader.
 */
import { describe, isError } from '../errors.js';
import { type AbortWatcher, ON_LOADER_ABORT, type SignalWatch, watchOf } from './abort-watch.js';
import { alignResults, BATCH_CONTRACT, isArrayLike } from './align.js';
import { Batch, BatchContext } from './batch.js';
import {
  type BatchEvent,
  type BatchLoadFn,
  buildMemo,
  type CacheMap,
  type DataLoaderOptions,
  type DispatchReason,
  type LoadEvent,
  resolveOptions,
  type Schedule,
} from './options.js';
import { type Dispatch, dispatchFull, scheduleBatch } from './schedule.js';

/** Per-call options of `load` and `loadMany`. */
export interface LoadOptions {
  /**
   * The caller's signal. When it aborts, this call rejects with its reason at once; when every caller
   * waiting on a batch has aborted, the batch function's signal aborts too (or, if the batch has not
   * been dispatched yet, the batch function is never called).
   */
  signal?: AbortSignal | undefined;
}

function returnError(error: unknown): unknown {
  return error;
}

function ignore(): void {}

/** `String(error)`, or a rendering that cannot throw if that throws (a hostile `toString`). */
function errorText(error: unknown): string {
  try {
    return String(error);
  } catch {
    return describe(error);
  }
}

/** User code a loader calls besides the batch function, whose throws loaderkit isolates. */
const ON_BATCH = 1;
const ON_LOAD = 2;
const CACHE_MAP_DELETE = 4;
const FAULT_NAMES: Record<number, string> = {
  [ON_BATCH]: 'onBatch hook',
  [ON_LOAD]: 'onLoad hook',
  [CACHE_MAP_DELETE]: 'cacheMap.delete',
};

/** Which faults each loader has reported, as bits: a module map, so loaders carry no field for it. */
const reportedFaults = new WeakMap<object, number>();

/**
 * A hook or the cacheMap threw: the error never reaches a load or loaderkit's callers. It is reported
 * with `console.warn`, once per loader and kind of fault, and never thrown (not even asynchronously).
 */
function reportFault(loader: { name: string | null }, fault: number, error: unknown): void {
  const seen = reportedFaults.get(loader) ?? 0;
  if ((seen & fault) !== 0) return;
  reportedFaults.set(loader, seen | fault);
  try {
    const name = loader.name === null ? 'DataLoader' : `DataLoader "${loader.name}"`;
    const message = isError(error) ? error.message : describe(error);
    console.warn(
      `loaderkit: ${name}: its ${FAULT_NAMES[fault]} threw, which loads ignore (reported once per loader): ${message}`,
    );
  } catch {
    // Reporting must not throw either (a hostile error object, a replaced console).
  }
}

let heldHitBatches = 0;

/**
 * Internal (not part of the public API): how many batches, in this process so far, went without keys
 * and held their hits for a full batch (see `_dispatchBatch`), the one place loaderkit's timing is not
 * dataloader's. Read by the differential tests.
 */
export function heldHitBatchCount(): number {
  return heldHitBatches;
}

/** Key of DataLoader's internal memoize method (not part of the public API). */
export const MEMOIZE: unique symbol = Symbol('loaderkit.memoize');

function invalidKey(key: unknown): TypeError {
  return new TypeError(`The loader.load() function must be called with a value, but got: ${String(key)}.`);
}

export class DataLoader<K, V, C = K> implements AbortWatcher {
  /** The `name` option, for errors and observability. */
  name: string | null;

  private readonly _batchLoadFn: BatchLoadFn<K, V>;
  private readonly _cacheKeyFn: ((key: K) => C) | null;
  private readonly _memo: CacheMap<C, Promise<V>> | null;
  private readonly _maxBatchSize: number;
  private readonly _schedule: Schedule;
  /** A timed schedule dispatches full batches at once; dataloader's tick and custom schedules wait. */
  private readonly _dispatchWhenFull: boolean;
  private readonly _cacheErrors: boolean;
  private readonly _missingAsError: boolean;
  private readonly _onBatch: ((event: BatchEvent<K>) => void) | null;
  private readonly _loaderSignal: AbortSignal | null;
  private readonly _onLoad: ((event: LoadEvent<K>) => void) | null;
  private readonly _immediateHits: boolean;
  /** Nothing but the memo and the batch to consult: `load` takes its short path. */
  private readonly _plain: boolean;
  private _batch: Batch<K, V, C> | null = null;
  /** Which batch a memoized promise belongs to, for batches that callers may still abort. */
  private _abortable: WeakMap<Promise<V>, Batch<K, V, C>> | null = null;
  /**
   * With a loader-level signal: the batches not yet answered, pending or in flight. While there is
   * one, the loader is registered with the signal's watch, which holds a single 'abort' listener for
   * every loader on that signal, however many batches they have and however often they read their
   * own signal (see abort-watch.ts).
   */
  private _unsettled: Set<Batch<K, V, C>> | null = null;
  private _watch: SignalWatch | null = null;

  constructor(batchLoadFn: BatchLoadFn<K, V>, options?: DataLoaderOptions<K, V, C>) {
    if (typeof batchLoadFn !== 'function') {
      throw new TypeError(`${BATCH_CONTRACT}, but got: ${describe(batchLoadFn)}.`);
    }
    const resolved = resolveOptions(options);
    this._batchLoadFn = batchLoadFn;
    // Copy what is needed; keeping the options object would let V8 pretenure it (see TICK).
    this._cacheErrors = resolved.cacheErrors;
    this._missingAsError = resolved.missingAsError;
    this._onBatch = resolved.onBatch;
    this._cacheKeyFn = resolved.cacheKeyFn;
    this._memo = buildMemo(resolved.memo);
    this._maxBatchSize = resolved.maxBatchSize;
    this._schedule = resolved.schedule;
    this._dispatchWhenFull = resolved.schedule.kind === 'window' || resolved.schedule.kind === 'adaptive';
    this._loaderSignal = resolved.signal;
    this._onLoad = resolved.onLoad;
    this._immediateHits = resolved.immediateCacheHits;
    // A loader signal (the request's, in request loaders) keeps the plain path: it is checked there.
    this._plain =
      this._memo !== null && this._cacheKeyFn === null && this._onLoad === null && !this._dispatchWhenFull;
    this.name = resolved.name;
  }

  /**
   * Loads one key. Keys asked for within one schedule are sent to the batch function together; a key
   * already in the memo is answered from it. `null` and `undefined` keys throw a TypeError.
   */
  load(key: K, options?: LoadOptions): Promise<V> {
    // A single branch sends calls with options, null keys and every configuration but the plain one
    // down the general path (which throws for null keys).
    if (options !== undefined || !this._plain || key == null) return this._load(key, options?.signal);
    // The plain path: memo on, no cacheKeyFn, no per-call signal, no listeners, a tick-like schedule.
    const loaderSignal = this._loaderSignal;
    if (loaderSignal?.aborted) return Promise.reject(loaderSignal.reason);
    const memo = this._memo!;
    const cached = memo.get(key as unknown as C);
    if (cached != null) {
      if (this._abortable === null) {
        if (this._immediateHits) return cached;
        // The common hit: it joins the open batch, which has room.
        const open = this._batch;
        if (open !== null && !open.dispatched && open.keys.length < this._maxBatchSize)
          return open.addHit(cached);
      }
      return this._answerHit(key, cached, undefined);
    }
    const batch = this._pendingBatch();
    batch.pinned = true;
    const promise = batch.promiseForNextKey(key);
    memo.set(key as unknown as C, promise);
    return promise;
  }

  /** The general path of `load`, for every configuration and for calls with a signal. */
  private _load(key: K, signal: AbortSignal | undefined): Promise<V> {
    if (key === null || key === undefined) throw invalidKey(key);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const loaderSignal = this._loaderSignal;
    if (loaderSignal?.aborted) return Promise.reject(loaderSignal.reason);
    const memo = this._memo;
    let cacheKey: C | undefined;
    if (memo !== null) {
      cacheKey = this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key);
      const cached = memo.get(cacheKey);
      if (cached != null) return this._answerHit(key, cached, signal);
    }
    const batch = this._pendingBatch();
    const promise = batch.promiseForNextKey(key);
    if (memo !== null) {
      memo.set(cacheKey as C, promise);
      if (batch.cacheKeys !== null) batch.cacheKeys.push(cacheKey as C);
    }
    if (this._dispatchWhenFull && batch.keys.length >= this._maxBatchSize)
      dispatchFull(batch, DataLoader._dispatch);
    if (this._onLoad !== null) this._reportLoad(key, false);
    if (signal === undefined) {
      batch.pinned = true;
      return promise;
    }
    batch.signalWaiters++;
    if (memo !== null) {
      if (this._abortable === null) this._abortable = new WeakMap();
      this._abortable.set(promise, batch);
    }
    return this._raceAbort(promise, signal, batch);
  }

  /** The batch that new keys join: the open one, or a new one if it is gone or full. */
  private _pendingBatch(): Batch<K, V, C> {
    const batch = this._batch;
    if (batch === null || batch.dispatched || batch.keys.length >= this._maxBatchSize)
      return this._openBatch();
    return batch;
  }

  /**
   * Loads many keys; resolves with one entry per key, in order: the value, or the `Error` that key
   * failed with. Throws a TypeError when `keys` is not array-like.
   */
  loadMany(keys: ArrayLike<K>, options?: LoadOptions): Promise<Array<V | Error>> {
    if (!isArrayLike(keys)) {
      throw new TypeError(
        `The loader.loadMany() function must be called with Array<key> but got: ${describe(keys)}.`,
      );
    }
    const promises: Promise<V | Error>[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      promises[i] = this.load(keys[i] as K, options).then(undefined, returnError) as Promise<V | Error>;
    }
    return Promise.all(promises);
  }

  /**
   * The memoized promise of a key, or `undefined`, without loading anything (not in dataloader).
   */
  peek(key: K): Promise<V> | undefined {
    const memo = this._memo;
    if (memo === null) return undefined;
    return memo.get(this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key)) ?? undefined;
  }

  /**
   * Internal (loaderkit's request loaders): memoizes a promise for a key known to be absent from the
   * memo. Skips `prime`'s checks; the caller has just seen `peek(key)` miss.
   */
  [MEMOIZE](key: K, promise: Promise<V>): void {
    this._memo?.set(this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key), promise);
  }

  /** Drops one key from the memo; the next load fetches it again. Returns the loader. */
  clear(key: K): this {
    const memo = this._memo;
    if (memo !== null) memo.delete(this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key));
    return this;
  }

  /** Empties the memo. Returns the loader. */
  clearAll(): this {
    this._memo?.clear();
    return this;
  }

  /**
   * Puts a value in the memo unless the key is already there (prime never overwrites: `clear` first).
   * An `Error` value memoizes a rejection, except with `cacheErrors: false`. Returns the loader.
   */
  prime(key: K, value: V | PromiseLike<V> | Error): this {
    const memo = this._memo;
    if (memo === null) return this;
    const cacheKey = this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key);
    if (memo.get(cacheKey) !== undefined) return this;
    let promise: Promise<V>;
    if (isError(value)) {
      if (!this._cacheErrors) return this;
      promise = Promise.reject(value);
      promise.catch(ignore);
    } else {
      promise = Promise.resolve(value);
      if (!this._cacheErrors) {
        promise.catch(() => {
          try {
            if (memo.get(cacheKey) === promise) memo.delete(cacheKey);
          } catch (error) {
            reportFault(this, CACHE_MAP_DELETE, error);
          }
        });
      }
    }
    memo.set(cacheKey, promise);
    return this;
  }

  /** A memo hit: the memoized promise, or (dataloader's timing) a promise that waits for the batch. */
  private _answerHit(key: K, cached: Promise<V>, signal: AbortSignal | undefined): Promise<V> {
    if (this._onLoad !== null) this._reportLoad(key, true);
    let owner: Batch<K, V, C> | undefined;
    if (this._abortable !== null) {
      owner = this._abortable.get(cached);
      if (owner !== undefined && !owner.settled) {
        if (signal === undefined) owner.pinned = true;
        else owner.signalWaiters++;
      } else {
        owner = undefined;
      }
    }
    let answer = cached;
    if (!this._immediateHits) {
      const full = this._batch;
      const batch = this._pendingBatch();
      // A hit on a full pending batch waits for the next one, as in dataloader; should that one stay
      // without keys, it waits for the full one too (see _dispatchBatch), never ahead of its level.
      if (full !== null && full !== batch && !full.dispatched) batch.after = full;
      answer = batch.addHit(cached);
    }
    return signal === undefined ? answer : this._raceAbort(answer, signal, owner);
  }

  /** The caller's view of a load with a signal: rejects with the signal's reason as soon as it aborts. */
  private _raceAbort(
    promise: Promise<V>,
    signal: AbortSignal,
    batch: Batch<K, V, C> | undefined,
  ): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const onAbort = () => {
        if (batch?.leave(signal.reason) && !batch.dispatched) this._abandonBatch(batch);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * Every caller left a batch that has not been dispatched: fail it now, so the batch function is
   * never called, its keys leave the memo and new loads open a fresh batch.
   */
  private _abandonBatch(batch: Batch<K, V, C>): void {
    this._failUndispatched(batch, batch.abortReason);
  }

  /**
   * Fails a batch that will never reach the batch function (every caller left, the loader-level
   * signal aborted, the schedule threw): it takes no more keys and holds no predecessor.
   */
  private _failUndispatched(batch: Batch<K, V, C>, error: unknown): void {
    batch.dispatched = true;
    if (this._batch === batch) this._batch = null;
    batch.after = null;
    if (this._onBatch !== null) batch.startedAt = performance.now();
    this._failBatch(batch, error);
  }

  private _openBatch(): Batch<K, V, C> {
    const batch = new Batch<K, V, C>(
      this,
      this._memo !== null && this._cacheKeyFn !== null,
      this._loaderSignal,
    );
    this._batch = batch;
    if (this._loaderSignal !== null) this._track(batch);
    try {
      scheduleBatch(this._schedule, batch, DataLoader._dispatch, this);
    } catch (error) {
      this._scheduleFailed(batch, error);
    }
    return batch;
  }

  /** Counts a new batch as unanswered; the first one registers the loader with the signal's watch. */
  private _track(batch: Batch<K, V, C>): void {
    let unsettled = this._unsettled;
    if (unsettled === null) {
      unsettled = new Set();
      this._unsettled = unsettled;
      this._watch = watchOf(this._loaderSignal!);
    }
    unsettled.add(batch);
    if (unsettled.size === 1) this._watch!.add(this);
  }

  /** Marks a batch answered; after the last one the loader leaves the signal's watch. */
  private _finish(batch: Batch<K, V, C>): void {
    batch.finish();
    const unsettled = this._unsettled;
    if (unsettled?.delete(batch) && unsettled.size === 0) this._watch!.delete(this);
  }

  /**
   * The loader-level signal aborted: every batch not yet answered fails at once with its reason,
   * whether the batch function honours its signal or not. Their keys leave the memo (as for a
   * failed batch), the hits waiting on them settle, the batch function's signal aborts, and a late
   * answer is ignored. A pending batch is never handed to the batch function.
   */
  [ON_LOADER_ABORT](reason: unknown): void {
    const unsettled = this._unsettled!;
    const batches = [...unsettled];
    unsettled.clear();
    for (const batch of batches) {
      if (batch.settled) continue;
      batch.abort(reason);
      if (batch.dispatched) this._failBatch(batch, reason);
      else this._failUndispatched(batch, reason);
    }
  }

  /**
   * A `batchScheduleFn` threw, so nothing will dispatch the batch. The keys that join it until the
   * microtask queued now runs (those of the current synchronous run) reject with the thrown error,
   * un-memoized, and the next load opens a fresh batch (dataloader wedges the loader instead).
   */
  private _scheduleFailed(batch: Batch<K, V, C>, error: unknown): void {
    queueMicrotask(() => {
      if (batch.dispatched) return; // the schedule called back before throwing
      batch.reason = 'schedule';
      this._failUndispatched(batch, error);
    });
  }

  /**
   * What every schedule calls. One function for all loaders, not a closure per loader: per-instance
   * closures on this path made V8's calls polymorphic and cost ~15% per key in `npm run bench`.
   */
  private static _dispatch: Dispatch = (batch, reason) => {
    (batch.owner as DataLoader<unknown, unknown, unknown>)._dispatchBatch(batch, reason);
  };

  private _dispatchBatch(batch: Batch<K, V, C>, reason: DispatchReason): void {
    if (batch.dispatched) return;
    batch.dispatched = true;
    batch.reason = reason;
    if (this._batch === batch) this._batch = null;
    // Dropped at every dispatch, so no chain of batches stays reachable through it.
    const after = batch.after;
    batch.after = null;
    if (batch.keys.length === 0) {
      this._finish(batch);
      if (after !== null && !after.settled) {
        after.releaseWith(batch);
        heldHitBatches++;
      } else {
        batch.releaseHits();
      }
      return;
    }
    if (this._onBatch !== null) batch.startedAt = performance.now();
    const loaderSignal = this._loaderSignal;
    if (batch.aborted || loaderSignal?.aborted) {
      this._failBatch(batch, batch.aborted ? batch.abortReason : loaderSignal!.reason);
      return;
    }
    let result: unknown;
    try {
      result = this._batchLoadFn(batch.keys.slice(), new BatchContext(batch));
    } catch (error) {
      const wrapped = new TypeError(
        `${BATCH_CONTRACT}, but the function errored synchronously: ${errorText(error)}.`,
        {
          cause: error,
        },
      );
      this._failBatch(batch, wrapped);
      return;
    }
    let then: unknown;
    try {
      then = result === null || result === undefined ? undefined : (result as { then?: unknown }).then;
    } catch (error) {
      // A `then` getter that throws: dataloader throws out of its dispatch and hangs the batch.
      const wrapped = new TypeError(
        `${BATCH_CONTRACT}, but reading then on its result threw: ${errorText(error)}.`,
        {
          cause: error,
        },
      );
      this._failBatch(batch, wrapped);
      return;
    }
    if (typeof then !== 'function') {
      this._failBatch(
        batch,
        new TypeError(`${BATCH_CONTRACT}, but the function did not return a Promise: ${describe(result)}.`),
      );
      return;
    }
    try {
      Promise.resolve(result as PromiseLike<unknown>).then(
        (values) => this._resolveBatch(batch, values),
        (error: unknown) => this._failBatchLater(batch, error),
      );
    } catch (error) {
      // A promise whose own `then` (or `constructor` getter) throws when adopted.
      if (!batch.settled) this._failBatch(batch, error);
    }
  }

  /** Answers every key of a batch from the batch function's array or Map. */
  private _resolveBatch(batch: Batch<K, V, C>, result: unknown): void {
    if (batch.settled) return; // failed meanwhile (the loader-level signal aborted): a late answer
    let values: ArrayLike<unknown>;
    try {
      const cacheKeyAt = this._cacheKeyFn === null ? null : (i: number) => this._cacheKeyAt(batch, i);
      values = alignResults(result, batch.keys, cacheKeyAt, this._missingAsError, this.name);
    } catch (error) {
      this._failBatchLater(batch, error);
      return;
    }
    this._finish(batch);
    batch.releaseHits();
    if (!this._cacheErrors && this._memo !== null) {
      for (let i = 0; i < values.length; i++) if (isError(values[i])) this._forget(batch, i);
    }
    batch.resolveKeys(values);
    if (this._onBatch !== null) this._reportBatch(batch, undefined);
  }

  /**
   * A failure found after the batch function answered. dataloader settles it in a `.catch` one
   * microtask after its `.then`; loaderkit's keys hang off the batch outcome, one step further than
   * dataloader's per-key resolvers, so every answer lands one microtask later than dataloader's and
   * this keeps that shift uniform: keys reject one microtask after the failure is seen and leave the
   * memo one microtask after that, after the callers of batches that succeeded alongside have run.
   * Loads chained in those callbacks then meet the memo exactly as they would in dataloader.
   */
  private _failBatchLater(batch: Batch<K, V, C>, error: unknown): void {
    queueMicrotask(() => {
      if (batch.settled) return; // failed meanwhile (the loader-level signal aborted)
      this._settleFailure(batch, error);
      if (this._memo !== null) queueMicrotask(() => this._forgetAll(batch));
    });
  }

  /** Rejects every key of a batch with one error and un-memoizes them all. */
  private _failBatch(batch: Batch<K, V, C>, error: unknown): void {
    this._forgetAll(batch);
    this._settleFailure(batch, error);
  }

  private _settleFailure(batch: Batch<K, V, C>, error: unknown): void {
    this._finish(batch);
    batch.releaseHits();
    batch.rejectKeys(error);
    if (this._onBatch !== null) this._reportBatch(batch, error);
  }

  private _forgetAll(batch: Batch<K, V, C>): void {
    if (this._memo === null) return;
    for (let i = 0; i < batch.keys.length; i++) this._forget(batch, i);
  }

  /**
   * Un-memoizes key `i` of a batch. Like dataloader, unconditionally: if the key was cleared and
   * loaded again meanwhile, the newer entry goes too, which costs at most one refetch.
   */
  private _forget(batch: Batch<K, V, C>, i: number): void {
    try {
      this._memo!.delete(batch.cacheKeys === null ? (batch.keys[i] as unknown as C) : batch.cacheKeys[i]!);
    } catch (error) {
      // A throwing cacheMap: the key may stay memoized, but its batch still settles.
      reportFault(this, CACHE_MAP_DELETE, error);
    }
  }

  private _cacheKeyAt(batch: Batch<K, V, C>, i: number): C {
    if (batch.cacheKeys !== null) return batch.cacheKeys[i]!;
    const key = batch.keys[i]!;
    return this._cacheKeyFn === null ? (key as unknown as C) : this._cacheKeyFn(key);
  }

  private _reportLoad(key: K, hit: boolean): void {
    const event: LoadEvent<K> = { loader: this.name, key, hit };
    try {
      this._onLoad!(event);
    } catch (error) {
      reportFault(this, ON_LOAD, error);
    }
  }

  private _reportBatch(batch: Batch<K, V, C>, error: unknown): void {
    const durationMs = performance.now() - batch.startedAt;
    const event =
      error === undefined
        ? { loader: this.name, keys: batch.keys, reason: batch.reason, durationMs }
        : { loader: this.name, keys: batch.keys, reason: batch.reason, durationMs, error };
    try {
      this._onBatch!(event);
    } catch (error) {
      reportFault(this, ON_BATCH, error);
    }
  }
}
