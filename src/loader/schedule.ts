/**
 * When a batch dispatches. Every schedule calls `dispatch(batch, reason)`; dispatch ignores a batch
 * that already went, so a timer and a "full" signal may race safely.
 */
import type { Batch } from './batch.js';
import type { DispatchReason, Schedule } from './options.js';

export type Dispatch = (batch: Batch<any, any, any>, reason: DispatchReason) => void;

const resolved: Promise<void> = Promise.resolve();

/**
 * dataloader's tick: run `fn` after the promise jobs queued so far, so loads made in promise
 * callbacks of the same tick still join the batch.
 */
export function afterPromiseJobs(fn: () => void): void {
  resolved.then(() => process.nextTick(fn));
}

/**
 * Batches waiting for their tick, each followed by its dispatch function, oldest first. Every batch
 * queues one promise job that queues one tick, both queues are FIFO, so the n-th tick to run belongs
 * to the n-th batch here: `afterPromiseJobs` without two closures per batch.
 */
const waitingForTick: unknown[] = [];
let nextToTick = 0;

function dispatchAfterPromiseJobs(batch: Batch<any, any, any>, dispatch: Dispatch): void {
  waitingForTick.push(batch, dispatch);
  resolved.then(queueTick);
}

function queueTick(): void {
  process.nextTick(dispatchOldestWaiting);
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
        setImmediate(dispatchOnceSettled, batch, dispatch);
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
    setImmediate(dispatchOnceSettled, batch, dispatch);
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
