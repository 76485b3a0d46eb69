/**
 * When a batch dispatches. Every schedule calls `dispatch(batch, reason)`; dispatch ignores a batch
 * that already went, so a timer and a "full" signal may race safely. Runs wherever dataloader runs:
 * Node's queues where there is a `process.nextTick`, else the event loop's (browsers, edge workers).
 */
import type { Batch } from './batch.js';
import type { DispatchReason, Schedule } from './options.js';

export type Dispatch = (batch: Batch<any, any, any>, reason: DispatchReason) => void;

type Later = (fn: () => void) => void;

/** The queues a schedule needs, from what the runtime offers. */
export interface RuntimeQueues {
  /** Node's (and Deno's, Bun's) `process.nextTick`, or null where there is none (browsers, workers). */
  readonly nextTick: Later | null;
  /** Runs `fn` in a later turn of the event loop: `setImmediate`, else `setTimeout(fn, 0)`. */
  readonly nextTurn: Later;
  /**
   * dataloader's tick: with `nextTick`, `fn` runs after the promise jobs queued so far, so loads made
   * in promise callbacks of the same tick still join the batch; without it, in the next turn (which
   * also comes after every promise job), as dataloader does there.
   */
  readonly afterPromiseJobs: Later;
}

/**
 * Picks the queues from a runtime's globals: exported so the fallbacks can be tested in Node too.
 * Mirrors dataloader's choice (`process.nextTick`, else `setImmediate`, else `setTimeout`).
 */
export function runtimeQueues(globals: {
  process?: unknown;
  setImmediate?: unknown;
  setTimeout: (fn: () => void, ms: number) => unknown;
}): RuntimeQueues {
  // Each queue is looked up when used, not captured here, so fake timers installed later apply.
  const proc = globals.process as { nextTick?: unknown } | null | undefined;
  const nextTick: Later | null =
    typeof proc === 'object' && proc !== null && typeof proc.nextTick === 'function'
      ? (fn) => (proc as { nextTick: Later }).nextTick(fn)
      : null;
  const nextTurn: Later =
    typeof globals.setImmediate === 'function'
      ? (fn) => {
          (globals.setImmediate as Later)(fn);
        }
      : (fn) => {
          globals.setTimeout(fn, 0);
        };
  const resolved = Promise.resolve();
  const afterPromiseJobs: Later =
    nextTick === null ? nextTurn : (fn) => void resolved.then(() => nextTick(fn));
  return { nextTick, nextTurn, afterPromiseJobs };
}

const queues = runtimeQueues(globalThis as unknown as Parameters<typeof runtimeQueues>[0]);
/** Holds Node's `process` (the global is an accessor: a getter call per read) and reads `nextTick` per call. */
const nextTick = queues.nextTick;

/** See `RuntimeQueues.afterPromiseJobs`. */
export const afterPromiseJobs: Later = queues.afterPromiseJobs;

const resolved: Promise<void> = Promise.resolve();

/**
 * Batches waiting for their tick, each followed by its dispatch function, oldest first. Every batch
 * queues one promise job that queues one tick, both queues are FIFO, so the n-th tick to run belongs
 * to the n-th batch here: `afterPromiseJobs` without two closures per batch (the default schedule's
 * hot path, where `process.nextTick` exists).
 */
const waitingForTick: unknown[] = [];
let nextToTick = 0;

function dispatchAfterPromiseJobs(batch: Batch<any, any, any>, dispatch: Dispatch): void {
  if (nextTick === null) {
    queues.nextTurn(() => dispatch(batch, 'tick'));
    return;
  }
  waitingForTick.push(batch, dispatch);
  resolved.then(queueTick);
}

function queueTick(): void {
  nextTick!(dispatchOldestWaiting);
}

function dispatchOldestWaiting(): void {
  const batch = waitingForTick[nextToTick] as Batch<any, any, any>;
  const dispatch = waitingForTick[nextToTick + 1] as Dispatch;
  waitingForTick[nextToTick] = undefined;
  waitingForTick[nextToTick + 1] = undefined;
  nextToTick += 2;
  if (nextToTick === waitingForTick.length) {
    waitingForTick.length = 0;
    nextToTick = 0;
  } else if (nextToTick >= 4096) {
    // Never empty (ticks keep coming while older ones run): drop the answered front.
    waitingForTick.splice(0, nextToTick);
    nextToTick = 0;
  }
  dispatch(batch, 'tick');
}

/** Arms the schedule of a batch that was just opened. `self` is the loader (`this` of a custom fn). */
export function scheduleBatch(
  schedule: Schedule,
  batch: Batch<any, any, any>,
  dispatch: Dispatch,
  self: unknown,
): void {
  switch (schedule.kind) {
    case 'tick':
      dispatchAfterPromiseJobs(batch, dispatch);
      return;
    case 'custom':
      schedule.fn.call(self, () => dispatch(batch, 'schedule'));
      return;
    case 'window':
      batch.timer = setTimeout(dispatch, schedule.ms, batch, 'window');
      return;
    case 'adaptive':
      batch.timer = setTimeout(dispatch, schedule.maxWaitMs, batch, 'window');
      afterPromiseJobs(() => {
        batch.sizeAtCheck = batch.size;
        queues.nextTurn(() => dispatchOnceSettled(batch, dispatch));
      });
      return;
  }
}

/** Adaptive schedule: dispatch after a full turn of the event loop in which the batch did not grow. */
function dispatchOnceSettled(batch: Batch<any, any, any>, dispatch: Dispatch): void {
  if (batch.dispatched) return;
  const size = batch.size;
  if (size > batch.sizeAtCheck) {
    batch.sizeAtCheck = size;
    queues.nextTurn(() => dispatchOnceSettled(batch, dispatch));
    return;
  }
  dispatch(batch, 'settle');
}

/** A full batch under a timed schedule goes now instead of waiting for its timer. */
export function dispatchFull(batch: Batch<any, any, any>, dispatch: Dispatch): void {
  if (batch.timer !== undefined) clearTimeout(batch.timer);
  batch.timer = undefined;
  queueMicrotask(() => dispatch(batch, 'full'));
}
