/**
 * One 'abort' listener per loader-level signal, however many loaders share it and however many
 * batches they have in flight: 20 loaders of one request each adding their own listener would pass
 * Node's limit of 10 and raise a MaxListenersExceededWarning for every request. The listener is
 * added when the first batch on the signal opens and stays until the signal aborts (or is collected):
 * one per signal is bounded, and adding and removing it around every batch cost ~0.8 µs per batch.
 * It holds only the loaders that have batches not yet answered, so it keeps no idle loader alive.
 */

/** Key of a loader's internal method called when its loader-level signal aborts (not public API). */
export const ON_LOADER_ABORT: unique symbol = Symbol('loaderkit.onLoaderAbort');

/** What a loader does when its loader-level signal aborts. */
export interface AbortWatcher {
  [ON_LOADER_ABORT](reason: unknown): void;
}

/** The loaders that have batches not yet answered on one signal, and the signal's single listener. */
export class SignalWatch {
  private readonly watchers = new Set<AbortWatcher>();
  private listening = false;

  constructor(private readonly signal: AbortSignal) {}

  /** A loader has batches to settle: the signal's abort settles them. */
  add(watcher: AbortWatcher): void {
    this.watchers.add(watcher);
    if (!this.listening) {
      this.listening = true;
      this.signal.addEventListener('abort', () => this.fire(), { once: true });
    }
  }

  /** A loader has nothing left to settle. */
  delete(watcher: AbortWatcher): void {
    this.watchers.delete(watcher);
  }

  private fire(): void {
    const watchers = [...this.watchers];
    this.watchers.clear();
    const reason = this.signal.reason;
    for (const watcher of watchers) watcher[ON_LOADER_ABORT](reason);
  }
}

const watches = new WeakMap<AbortSignal, SignalWatch>();

/** The watch of a signal, shared by every loader on it; it lives as long as the signal. */
export function watchOf(signal: AbortSignal): SignalWatch {
  let watch = watches.get(signal);
  if (watch === undefined) {
    watch = new SignalWatch(signal);
    watches.set(signal, watch);
  }
  return watch;
}
