/**
 * The resilient facade over a remote store (in the manner of bentocache's remote cache): every call has
 * a deadline, failures are counted and reported at a bounded rate, answers are checked, write-backs are
 * bounded, and a circuit breaker stops calling a store that keeps failing until a probe succeeds. The
 * shared tier only ever talks to a remote store through here, and nothing here throws or hangs: a call
 * that fails, times out or is skipped answers `null` / `false` and the load goes on without the store.
 */
import { describe } from '../../errors.js';
import { unref } from '../clock.js';
import type { RemoteNodeStats, RemoteStore, RemoteWrite } from '../store.js';

export interface ResilienceOptions {
  /** Milliseconds loaderkit waits for one remote call (read, write or delete). Default: `50`. */
  timeoutMs?: number;
  /** Consecutive failures that open the circuit breaker. Default: `5`. */
  breakerThreshold?: number;
  /** Milliseconds the breaker stays open before one probe call is let through. Default: `1000`. */
  breakerCooldownMs?: number;
  /** Write-backs in the air at most; more are dropped (counted). Default: `64`. */
  maxPendingWrites?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The facade's figures (in `createLoaders.stats().remote`). */
export interface RemoteStats {
  readonly name: string;
  readonly breaker: BreakerState;
  /** Calls made (not skipped). */
  readonly calls: number;
  /** Calls that threw, rejected, answered garbage or timed out. */
  readonly failures: number;
  readonly timeouts: number;
  /** Calls not made because the breaker was open. */
  readonly skipped: number;
  /** Values that were no entry of ours (corrupt, foreign, another key's): read as misses. */
  readonly garbage: number;
  /** Write-backs dropped because maxPendingWrites were in the air. */
  readonly writesDropped: number;
  /**
   * Writes the store skipped because their key no longer held what their batch read: an invalidation
   * on some instance came between (a stale value fenced out), or another instance wrote the same cold
   * key or the scope's first generation token first. Counted from stores that say how many
   * writes they made.
   */
  readonly writesFenced: number;
  /** Values kept in process but not written, because the codec refused them (too large, not encodable). */
  readonly unwritable: number;
  readonly pendingWrites: number;
  /** Calls made and not settled yet by the store (at most MAX_IN_FLIGHT), those past their deadline included. */
  readonly inFlight: number;
  /** Of those, the calls past their deadline (the store is holding them, e.g. a paused server). */
  readonly abandoned: number;
  /**
   * Distributed single-flight (`shared.lock`), in keys: locks taken; keys whose lock another instance
   * held (waited for); of those, values that landed while waiting, and waits that ran out (then loaded here).
   */
  readonly locks: {
    readonly taken: number;
    readonly waited: number;
    readonly landed: number;
    readonly timedOut: number;
  };
  /** Per server node, for a store spread over several (Redis Cluster); absent otherwise. */
  readonly nodes?: readonly RemoteNodeStats[];
}

/**
 * Most calls a store may hold unsettled at once. A call beyond it is not made: it is skipped and counts
 * as a failure toward the breaker, whose probes still go through; a probe that succeeds forgets the calls
 * held past their deadline (the store answers again: they are lost), so a store that never settles some
 * calls cannot shut the remote tier off for good.
 */
export const MAX_IN_FLIGHT = 256;

/** Why a call did not answer: the error reported. */
export class RemoteTimeoutError extends Error {
  override readonly name = 'RemoteTimeoutError';
}

const FAILED = Symbol('failed');

/** What a store that ignores its signals (RemoteStore.ignoresSignal) is given: one that never aborts. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Runs `fn` after the I/O callbacks of this event loop turn: setImmediate where there is one, taken when
 * this module loads, so fake timers installed later (which would hold a setImmediate scheduled while they
 * run only pending timers) do not hold a deadline back.
 */
const realSetImmediate = typeof setImmediate === 'function' ? setImmediate : null;
const afterIo: (fn: () => void) => void =
  realSetImmediate !== null ? (fn) => void realSetImmediate(fn) : (fn) => void setTimeout(fn, 0);

function checkedInteger(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || !Number.isInteger(value))
    throw new TypeError(`remote option ${name} must be an integer >= ${min}, but got: ${describe(value)}.`);
  return value;
}

const RESILIENCE_OPTIONS = ['timeoutMs', 'breakerThreshold', 'breakerCooldownMs', 'maxPendingWrites'];

/** Checks `remoteOptions` (every message names the option and echoes the bad value), with defaults. */
export function resolveResilience(options: ResilienceOptions): Required<ResilienceOptions> {
  for (const name of Object.keys(options))
    if (!RESILIENCE_OPTIONS.includes(name))
      throw new TypeError(
        `unknown remote option ${JSON.stringify(name)}; valid remote options: ${RESILIENCE_OPTIONS.join(', ')}.`,
      );
  return {
    timeoutMs: checkedInteger(options.timeoutMs, 'timeoutMs', 1, 50),
    breakerThreshold: checkedInteger(options.breakerThreshold, 'breakerThreshold', 1, 5),
    breakerCooldownMs: checkedInteger(options.breakerCooldownMs, 'breakerCooldownMs', 0, 1000),
    maxPendingWrites: checkedInteger(options.maxPendingWrites, 'maxPendingWrites', 0, 64),
  };
}

export class ResilientRemote {
  private readonly timeoutMs: number;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly maxPendingWrites: number;
  private consecutiveFailures = 0;
  private openUntil = 0;
  private probing = false;
  private calls = 0;
  private failures = 0;
  private timeouts = 0;
  private skipped = 0;
  private garbage = 0;
  private writesDropped = 0;
  private writesFenced = 0;
  private unwritable = 0;
  private pendingWrites = 0;
  private abandoned = 0;
  private inFlight = 0;
  /** See RemoteStats.locks (counted by remote/flights.ts). */
  readonly lockCounts = { taken: 0, waited: 0, landed: 0, timedOut: 0 };
  /** Bumped when held calls are forgotten: a call of an older epoch no longer counts when it settles. */
  private epoch = 0;
  /** Whether each call gets its own signal, aborted at its deadline (see RemoteStore.ignoresSignal). */
  private readonly signals: boolean;

  constructor(
    readonly store: RemoteStore,
    options: Required<ResilienceOptions>,
    /** Told about failures (rate-limited by the caller); never throws. */
    private readonly report: (error: unknown) => void,
    private readonly now: () => number,
  ) {
    this.timeoutMs = options.timeoutMs;
    this.threshold = options.breakerThreshold;
    this.cooldownMs = options.breakerCooldownMs;
    this.maxPendingWrites = options.maxPendingWrites;
    this.signals = store.ignoresSignal !== true;
  }

  /** The values at keys (null where absent or not a string), or null when the read failed. */
  async read(keys: readonly string[]): Promise<Array<string | null> | null> {
    const answer = await this.call(
      'getMany',
      (signal) => this.store.getMany(keys, signal),
      (value) =>
        Array.isArray(value) && value.length === keys.length
          ? null
          : `answered getMany of ${keys.length} keys with ${describe(value)}`,
    );
    if (answer === FAILED) return null;
    const values = answer as ReadonlyArray<unknown>;
    const out = new Array<string | null>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const value = values[i];
      if (typeof value === 'string') out[i] = value;
      else {
        if (value !== null) this.garbage++;
        out[i] = null;
      }
    }
    return out;
  }

  /**
   * A write-back behind the loads: no load waits for it, at most maxPendingWrites are in the air (more
   * are dropped, counted), and it never throws. Resolves when it settles (within the deadline) with how
   * many writes the store skipped by their `ifValue`, or is null when it was dropped.
   */
  writeBehind(writes: readonly RemoteWrite[]): Promise<number> | null {
    if (this.pendingWrites >= this.maxPendingWrites) {
      this.writesDropped += writes.length;
      return null;
    }
    this.pendingWrites++;
    return this.writeCounted(writes).then((fenced) => {
      this.pendingWrites--;
      return fenced === false ? 0 : fenced;
    });
  }

  /** Writes and tells whether the store took them. */
  async write(writes: readonly RemoteWrite[]): Promise<boolean> {
    return (await this.writeCounted(writes)) !== false;
  }

  /**
   * Writes; false when the store could not be reached, else how many writes it skipped by their
   * `ifValue` (0 when it does not say).
   */
  private async writeCounted(writes: readonly RemoteWrite[]): Promise<number | false> {
    const made = await this.call('setMany', (signal) => this.store.setMany(writes, signal));
    if (made === FAILED) return false;
    if (typeof made === 'number' && made >= 0 && made < writes.length) {
      this.writesFenced += writes.length - made;
      return writes.length - made;
    }
    return 0;
  }

  /** Takes the locks of keys it can (see RemoteLocks.acquire): which it took, or null when the call failed. */
  async acquire(keys: readonly string[], token: string, ttlMs: number): Promise<boolean[] | null> {
    const locks = this.store.locks;
    if (locks === undefined) return null;
    const answer = await this.call(
      'locks.acquire',
      (signal) => locks.acquire(keys, token, ttlMs, signal),
      (value) =>
        Array.isArray(value) && value.length === keys.length
          ? null
          : `answered locks.acquire of ${keys.length} keys with ${describe(value)}`,
    );
    if (answer === FAILED) return null;
    return (answer as readonly unknown[]).map((taken) => taken === true);
  }

  /** Releases locks `token` holds; never throws (a failure is counted: the locks then expire). */
  async release(keys: readonly string[], token: string): Promise<void> {
    const locks = this.store.locks;
    if (locks === undefined || keys.length === 0) return;
    await this.call('locks.release', (signal) => locks.release(keys, token, signal));
  }

  /** Deletes and tells whether the store took it. */
  async remove(keys: readonly string[]): Promise<boolean> {
    return (await this.call('deleteMany', (signal) => this.store.deleteMany(keys, signal))) !== FAILED;
  }

  /** A value that was no entry of ours was read (counted). */
  noteGarbage(): void {
    this.garbage++;
  }

  /** A value the codec refused was not written (counted). */
  noteUnwritable(): void {
    this.unwritable++;
  }

  /** Counts a failure and opens the breaker after `threshold` in a row (at once for a failed probe). */
  private fail(probe: boolean, failure: unknown): void {
    this.failures++;
    this.consecutiveFailures++;
    if (probe || this.consecutiveFailures >= this.threshold) this.openUntil = this.now() + this.cooldownMs;
    this.report(failure);
  }

  get breaker(): BreakerState {
    if (this.openUntil === 0) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half-open';
  }

  stats(): RemoteStats {
    return {
      name: this.store.name,
      breaker: this.breaker,
      calls: this.calls,
      failures: this.failures,
      timeouts: this.timeouts,
      skipped: this.skipped,
      garbage: this.garbage,
      writesDropped: this.writesDropped,
      writesFenced: this.writesFenced,
      unwritable: this.unwritable,
      pendingWrites: this.pendingWrites,
      inFlight: this.inFlight,
      abandoned: this.abandoned,
      locks: { ...this.lockCounts },
      ...this.nodeStats(),
    };
  }

  /** The store's per-node figures, if it has them (what its method throws reads as none). */
  private nodeStats(): { nodes?: readonly RemoteNodeStats[] } {
    if (typeof this.store.nodes !== 'function') return {};
    try {
      const nodes = this.store.nodes();
      return Array.isArray(nodes) ? { nodes: nodes.map((node) => ({ ...node })) } : {};
    } catch {
      return {};
    }
  }

  /**
   * Runs one store call under the deadline and the breaker. Resolves with its answer, or FAILED when it
   * threw, rejected, timed out, answered what `check` refuses, or was skipped by the open breaker.
   */
  private call(
    method: string,
    run: (signal: AbortSignal) => Promise<unknown>,
    check?: (value: unknown) => string | null,
  ): Promise<unknown> {
    const state = this.breaker;
    if (state === 'open' || (state === 'half-open' && this.probing)) {
      this.skipped++;
      return Promise.resolve(FAILED);
    }
    const probe = state === 'half-open';
    if (!probe && this.inFlight >= MAX_IN_FLIGHT) {
      this.skipped++;
      this.fail(
        false,
        new Error(
          `remote store ${JSON.stringify(this.store.name)} holds ${this.inFlight} calls unanswered; ${method} was not made.`,
        ),
      );
      return Promise.resolve(FAILED);
    }
    if (probe) this.probing = true;
    this.calls++;
    const controller = this.signals ? new AbortController() : null;
    return new Promise<unknown>((resolve) => {
      let settled = false;
      /** Past its deadline and not settled by the store yet. */
      let held = false;
      /** The epoch in which it became held: forgetting held calls bumps the epoch. */
      let heldIn = -1;
      /** Counted in inFlight (from the moment the store took the call until it settles). */
      let counted = false;
      const finish = (value: unknown, failure: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (probe) this.probing = false;
        if (failure === undefined) {
          this.consecutiveFailures = 0;
          this.openUntil = 0;
          // The store answers again: calls it held past their deadline are lost, not counted any more.
          if (probe && this.abandoned > 0) {
            this.inFlight -= this.abandoned;
            this.abandoned = 0;
            this.epoch++;
          }
          resolve(value);
          return;
        }
        this.fail(probe, failure);
        resolve(FAILED);
      };
      const expire = () => {
        if (settled) return;
        this.timeouts++;
        const error = new RemoteTimeoutError(
          `remote store ${JSON.stringify(this.store.name)}: ${method} did not answer within ${this.timeoutMs} ms; the load went on without it.`,
        );
        controller?.abort(error);
        if (counted) {
          held = true;
          heldIn = this.epoch;
          this.abandoned++;
        }
        finish(undefined, error);
      };
      // When the deadline's timer runs late (a blocked event loop), the answer may be waiting unread in
      // the socket: timers run before I/O in a loop turn, so give I/O that turn before giving up.
      const timer = setTimeout(() => afterIo(expire), this.timeoutMs);
      unref(timer);
      let pending: unknown;
      try {
        pending = run(controller === null ? NEVER_ABORTED : controller.signal);
      } catch (error) {
        finish(undefined, error ?? new Error(`remote store ${method} threw ${describe(error)}`));
        return;
      }
      this.inFlight++;
      counted = true;
      const release = () => {
        if (!counted) return;
        counted = false;
        if (held) {
          held = false;
          if (heldIn !== this.epoch) return; // forgotten by a successful probe (see finish)
          this.abandoned--;
        }
        this.inFlight--;
      };
      Promise.resolve(pending).then(
        (value) => {
          release();
          const problem = check?.(value) ?? null;
          if (problem === null) finish(value, undefined);
          else
            finish(undefined, new TypeError(`remote store ${JSON.stringify(this.store.name)} ${problem}.`));
        },
        (error: unknown) => {
          release();
          finish(undefined, error ?? new Error(`remote store ${method} rejected with ${describe(error)}`));
        },
      );
    });
  }
}
