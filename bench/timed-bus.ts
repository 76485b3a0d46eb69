/**
 * A remote store whose invalidation bus tells when it has applied a message: its transport's listener
 * wrapped, so the time is taken once the bus handled the message (bench/bus-loaderkit.ts,
 * bench/cluster.ts).
 */
import type { TransportListener } from '../src/bus/bus.js';
import type { RemoteStore } from '../src/index.js';

export function timedBus<S extends RemoteStore>(store: S): { store: S; next(): Promise<number> } {
  const bus = store.bus;
  if (bus === undefined) throw new TypeError(`store ${store.name} has no bus`);
  const waiting: Array<(at: number) => void> = [];
  return {
    store: {
      ...store,
      bus: {
        ...bus,
        listen(listener: TransportListener) {
          bus.listen({
            message(text) {
              listener.message(text);
              const at = performance.now();
              for (const wake of waiting.splice(0)) wake(at);
            },
            gap: () => listener.gap(),
          });
        },
      },
    },
    /** performance.now() right after the next message was applied. */
    next: () => new Promise<number>((resolve) => waiting.push(resolve)),
  };
}
