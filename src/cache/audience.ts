/**
 * Who waits on one shared source call: the request that started it and every request that joined
 * its flights. The source's signal aborts only when all of them have gone, so one client going away
 * never fails another's load (issue #10). A waiter without a signal (a background refresh, `cached`)
 * pins the call: it is never aborted.
 */
import type { BatchLoadContext, DispatchReason } from '../loader/options.js';

export class Audience {
  private readonly controller = new AbortController();
  /** Waiters whose signal has not aborted yet. */
  private live = 0;
  private pinned = false;
  /** Removes the listeners this audience added, once the call has settled. */
  private readonly leaves: Array<() => void> = [];
  /** What the source receives: this audience's signal, and why the starting batch was dispatched. */
  readonly context: BatchLoadContext;

  constructor(reason: DispatchReason) {
    const signal = this.controller.signal;
    this.context = { signal, reason };
  }

  /** A request waits on the call; `signal` is its batch's (none: it pins the call). */
  attend(signal: AbortSignal | undefined): void {
    if (signal === undefined) {
      this.pinned = true;
      return;
    }
    if (signal.aborted) return;
    this.live++;
    const onAbort = () => {
      this.live--;
      if (this.live === 0 && !this.pinned) this.controller.abort(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.leaves.push(() => signal.removeEventListener('abort', onAbort));
  }

  /** The call settled: nobody can leave it any more. */
  settle(): void {
    for (const leave of this.leaves) leave();
    this.leaves.length = 0;
  }
}
