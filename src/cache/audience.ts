/**
 * Who waits on one shared source call: the request that started it and every request that joined
 * its flights. The source's signal aborts only when all of them have gone, so one client going away
 * never fails another's load (issue #10). A waiter without a signal (a background refresh, `cached`)
 * pins the call: it is never aborted.
 */
import { MAY_ABORT } from '../loader/batch.js';
import type { BatchLoadContext, DispatchReason } from '../loader/options.js';

export class Audience {
  /** Made when the signal is first read (a batch answered from the stores never calls the source). */
  private controller: AbortController | null = null;
  /** Every waiter has gone (with the reason of the last): the signal aborts, or is made aborted. */
  private gone = false;
  private reason: unknown = undefined;
  /** Waiters whose signal has not aborted yet. */
  private live = 0;
  private pinned = false;
  /**
   * What the source receives: this audience's signal (made on first read: an AbortSignal costs a few
   * microseconds), and why the starting batch was dispatched.
   */
  readonly context: BatchLoadContext;

  constructor(reason: DispatchReason) {
    const audience = this;
    this.context = {
      reason,
      get signal(): AbortSignal {
        return audience.signal();
      },
    };
  }

  /** Every waiter has gone and the source's signal aborted: nobody may join the call any more. */
  get aborted(): boolean {
    return this.gone;
  }

  private signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /**
   * A request waits on the call, through the batch it came in (`info`). A batch whose signal can never
   * abort, or none (a background refresh, `cached`), pins the call; then nobody needs listening to.
   * Listeners stay on the batches' signals, which live no longer than their requests.
   */
  attend(info: BatchLoadContext | undefined): void {
    if (this.pinned) return;
    const mayAbort = (info as { [MAY_ABORT]?: () => boolean } | undefined)?.[MAY_ABORT];
    if (info === undefined || (mayAbort !== undefined && !mayAbort.call(info))) {
      this.pinned = true;
      return;
    }
    const signal = info.signal;
    if (signal.aborted) return;
    this.live++;
    signal.addEventListener(
      'abort',
      () => {
        this.live--;
        if (this.live > 0 || this.pinned || this.gone) return;
        this.gone = true;
        this.reason = signal.reason;
        this.controller?.abort(signal.reason);
      },
      { once: true },
    );
  }
}
