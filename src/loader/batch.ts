/**
 * One batch of keys on its way to the batch function, with the promises that wait on it.
 */
import { isError } from '../errors.js';
import type { BatchLoadContext, DispatchReason } from './options.js';

type Reject = (error: unknown) => void;

/** Key of the internal `BatchContext` method the shared tier asks whether a batch can abort. */
export const MAY_ABORT: unique symbol = Symbol('loaderkit.mayAbort');

/**
 * What a batch's outcome is fulfilled with: the answers and a cursor over them. Resolving a promise
 * with an object looks up its `then`; this one's prototype chain ends right after its own prototype,
 * so the lookup is short (resolving with the batch itself walked its many fields and methods, then
 * Object.prototype's: ~330 instructions per batch).
 */
class Answers {
  cursor = 0;
  constructor(readonly values: ArrayLike<unknown>) {}
}
Object.setPrototypeOf(Answers.prototype, null);

/**
 * The reaction of every key: the outcome is fulfilled with the batch's answers, and the i-th call
 * answers keys[i]. One function for all batches: a per-batch closure cost an allocation and a
 * lazy-compile trip on its first call.
 */
function takeNext(answers: Answers): unknown {
  const value = answers.values[answers.cursor++];
  if (isError(value)) throw value;
  return value;
}

export class Batch<K, V, C> {
  /** Handed to the batch function; no longer accepts keys. */
  dispatched = false;
  /** Every waiter has been answered. */
  settled = false;
  reason: DispatchReason = 'tick';
  /** Keys in `load()` order; the `i`-th promise derived with `promiseForNextKey` answers `keys[i]`. */
  readonly keys: K[] = [];
  /** The memo key of each key, kept only when a `cacheKeyFn` makes it differ from the key. */
  readonly cacheKeys: C[] | null;
  /**
   * Memo hits that wait for this batch (dataloader's timing): hit `i` is `hitGate.then(takeHit)`,
   * which adopts `hitValues[i]` once the gate opens (reactions run in order, as for keys).
   */
  private hitValues: Promise<V>[] | null = null;
  private hitGate: Promise<void> | null = null;
  private openHitGate: (() => void) | null = null;
  private hitCursor = 0;
  private takeHit: (() => Promise<V>) | null = null;
  /**
   * The full batch that was pending when a hit opened this one: if this batch dispatches without
   * keys, its hits are released with that batch instead of at once.
   */
  after: Batch<K, V, C> | null = null;
  /** Batches without keys whose hits are released with this batch's (see `after`). */
  private followers: Batch<K, V, C>[] | null = null;
  /** Pending timer of a window or adaptive schedule. */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Adaptive schedule: the size at the previous check. */
  sizeAtCheck = 0;
  /** `performance.now()` at dispatch, when someone listens for batch events. */
  startedAt = 0;

  /** A caller without a signal waits on this batch, so callers leaving can never abort it. */
  pinned = false;
  /** Callers with a signal still waiting on this batch. */
  signalWaiters = 0;
  aborted = false;
  abortReason: unknown = undefined;
  private controller: AbortController | null = null;

  /*
   * Every key's promise is `outcome.then(takeNext)`. Reactions run in the order they were added
   * (ECMA-262 TriggerPromiseReactions), so the i-th call of takeNext answers keys[i]. Per key that is
   * one promise and one reaction, with no resolving functions or closures: cheaper than
   * `new Promise(executor)` per key, which is what dataloader does.
   */
  private readonly outcome: Promise<Answers>;
  private settleOutcome!: (answers: Answers) => void;
  private failOutcome!: Reject;

  constructor(
    /** The loader that dispatches this batch. */
    readonly owner: unknown,
    trackCacheKeys: boolean,
    private readonly loaderSignal: AbortSignal | null,
  ) {
    this.cacheKeys = trackCacheKeys ? [] : null;
    // An inline executor: V8 inlines the Promise constructor around it (a shared executor writing
    // module variables measured ~240 instructions more per batch).
    this.outcome = new Promise<Answers>((resolve, reject) => {
      this.settleOutcome = resolve;
      this.failOutcome = reject;
    });
  }

  /** Adds a key and returns the promise that answers it. */
  promiseForNextKey(key: K): Promise<V> {
    this.keys.push(key);
    return this.outcome.then(takeNext) as Promise<V>;
  }

  /** Answers the keys: `values[i]` resolves key `i`, or rejects it if it is an `Error`. */
  resolveKeys(values: ArrayLike<unknown>): void {
    this.settleOutcome(new Answers(values));
  }

  /** Rejects every key with one error. */
  rejectKeys(error: unknown): void {
    this.failOutcome(error);
  }

  /** Keys plus waiting hits: what the adaptive schedule watches grow. */
  get size(): number {
    return this.keys.length + (this.hitValues === null ? 0 : this.hitValues.length);
  }

  /**
   * The batch function's signal, created on first read. It adds no listener to the loader-level
   * signal: the loader's single listener aborts every unanswered batch (`abort`).
   */
  get signal(): AbortSignal {
    if (this.controller === null) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.aborted) controller.abort(this.abortReason);
      // The loader-level signal aborted, and the loader's listener has not run yet.
      else if (this.loaderSignal?.aborted) controller.abort(this.loaderSignal.reason);
    }
    return this.controller.signal;
  }

  /**
   * Whether the batch function's signal can still abort (read at dispatch, when no caller joins any
   * more): the loader-level signal may, and so may callers with signals when none pins the batch.
   */
  get mayAbort(): boolean {
    return this.aborted || this.loaderSignal !== null || (!this.pinned && this.signalWaiters > 0);
  }

  /** Registers a hit waiting for this batch; returns its promise. */
  addHit(cached: Promise<V>): Promise<V> {
    if (this.hitGate === null) {
      this.hitValues = [];
      this.takeHit = () => this.hitValues![this.hitCursor++]!;
      this.hitGate = new Promise<void>((resolve) => {
        this.openHitGate = resolve;
      });
    }
    this.hitValues!.push(cached);
    return this.hitGate!.then(this.takeHit);
  }

  /** Answers the hits that waited for this batch (called once, before keys are answered). */
  releaseHits(): void {
    const followers = this.followers;
    if (followers !== null) {
      this.followers = null;
      for (const follower of followers) follower.releaseHits();
    }
    if (this.openHitGate === null) return;
    this.openHitGate();
    this.openHitGate = null;
  }

  /** Releases the hits of `follower` (a batch that went without keys) together with this batch's. */
  releaseWith(follower: Batch<K, V, C>): void {
    if (this.followers === null) this.followers = [follower];
    else this.followers.push(follower);
  }

  /**
   * A caller with a signal left. When none is left and nobody else waits, the batch aborts; returns
   * true if it did.
   */
  leave(reason: unknown): boolean {
    this.signalWaiters--;
    if (this.signalWaiters > 0 || this.pinned || this.settled || this.aborted) return false;
    this.abort(reason);
    return true;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** Marks the batch answered and drops its timer. */
  finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The second argument of the batch function: a view of the batch that exposes only its signal. */
export class BatchContext implements BatchLoadContext {
  readonly #batch: {
    readonly signal: AbortSignal;
    readonly reason: DispatchReason;
    readonly mayAbort: boolean;
  };

  constructor(batch: {
    readonly signal: AbortSignal;
    readonly reason: DispatchReason;
    readonly mayAbort: boolean;
  }) {
    this.#batch = batch;
  }

  /** Internal (the shared tier): whether `signal` can still abort, without creating it. */
  [MAY_ABORT](): boolean {
    return this.#batch.mayAbort;
  }

  get signal(): AbortSignal {
    return this.#batch.signal;
  }

  get reason(): DispatchReason {
    return this.#batch.reason;
  }
}
