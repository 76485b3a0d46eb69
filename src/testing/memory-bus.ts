/**
 * An in-process invalidation bus for tests: a hub (the "server") and one transport per instance (its
 * listening connection), behaving as Redis pub/sub does for loaderkit's bus: a published text reaches
 * every connected transport (the publisher's own too) in publish order, a ping is answered after every
 * text delivered to that transport before it, a disconnected transport loses what is published
 * meanwhile and tells its listener of the gap, and a paused hub holds every delivery, ping and publish
 * answer until it resumes. Pass a transport as `createTestRemoteStore({ bus })`.
 */
import type { BusTransport, TransportListener } from '../bus/bus.js';
import { raced } from '../bus/deadline.js';

export interface TestBusTransportOptions {
  /** @default 50 */
  heartbeatMs?: number;
  /** @default 200 */
  staleAfterMs?: number;
  /** @default 100 */
  timeoutMs?: number;
  /** @default 'test-bus' */
  name?: string;
}

export interface TestBusTransport extends BusTransport {
  /** The listening connection drops: what is published until `reconnect()` is lost; the listener hears a gap. */
  disconnect(): void;
  /** The listening connection is back (the listener hears a gap). */
  reconnect(): void;
  /** While true, publish and announce reject at once (a client whose connection is not ready). */
  failPublish: boolean;
  /** Texts this transport published, in order. */
  readonly sent: string[];
}

export interface TestBusHub {
  /** A new transport (one instance's connections) on this hub. */
  transport(options?: TestBusTransportOptions): TestBusTransport;
  /** Publishes a text as someone else would (a stranger on the channel); answers the receiver count. */
  inject(text: string): number;
  /** Holds every delivery and every answer (a paused server). */
  pause(): void;
  /** Lets everything held go, in order. */
  resume(): void;
}

type Pending = { readonly text: string } | { readonly answer: () => void };

export function createTestBusHub(): TestBusHub {
  let paused = false;
  /** Announced origins and when their presence ends (monotonic ms). */
  const presence = new Map<string, number>();
  /** Runs `work` as the server would: now, or once the hub resumes. */
  const serve = <T>(work: () => T): Promise<T> =>
    new Promise<T>((resolve) => {
      const go = () => resolve(work());
      if (paused) heldAnswers.push(go);
      else queueMicrotask(go);
    });
  /** Publish answers held while paused. */
  const heldAnswers: Array<() => void> = [];
  interface Connection {
    listener: TransportListener | null;
    connected: boolean;
    closed: boolean;
    readonly queue: Pending[];
    flushing: boolean;
  }
  const connections = new Set<Connection>();

  const flush = (connection: Connection) => {
    if (connection.flushing) return;
    connection.flushing = true;
    queueMicrotask(() => {
      connection.flushing = false;
      if (paused) return;
      for (const item of connection.queue.splice(0)) {
        if ('text' in item) connection.listener?.message(item.text);
        else item.answer();
      }
    });
  };

  const deliver = (text: string): number => {
    let receivers = 0;
    for (const connection of connections) {
      if (!connection.connected || connection.closed || connection.listener === null) continue;
      receivers++;
      connection.queue.push({ text });
      flush(connection);
    }
    return receivers;
  };

  return {
    transport(options = {}) {
      const connection: Connection = {
        listener: null,
        connected: true,
        closed: false,
        queue: [],
        flushing: false,
      };
      connections.add(connection);
      const sent: string[] = [];
      const transport: TestBusTransport = {
        name: options.name ?? 'test-bus',
        heartbeatMs: options.heartbeatMs ?? 50,
        staleAfterMs: options.staleAfterMs ?? 200,
        timeoutMs: options.timeoutMs ?? 100,
        failPublish: false,
        sent,
        listen(listener) {
          connection.listener = listener;
        },
        publish(text, signal) {
          if (connection.closed) return Promise.reject(new Error('test bus: publish after close()'));
          if (transport.failPublish) return Promise.reject(new Error('test bus: publish refused'));
          sent.push(text);
          return raced(
            serve(() => deliver(text)),
            signal,
          );
        },
        announce(origin, ttlMs, signal) {
          if (connection.closed) return Promise.reject(new Error('test bus: announce after close()'));
          if (transport.failPublish) return Promise.reject(new Error('test bus: announce refused'));
          return raced(
            serve(() => {
              presence.set(origin, performance.now() + ttlMs);
            }),
            signal,
          );
        },
        async leave(origin) {
          presence.delete(origin);
        },
        present(signal) {
          if (connection.closed) return Promise.reject(new Error('test bus: present after close()'));
          return raced(
            serve(() => {
              const now = performance.now();
              return [...presence].filter(([, until]) => until > now).map(([origin]) => origin);
            }),
            signal,
          );
        },
        ping(signal) {
          if (connection.closed || !connection.connected)
            return Promise.reject(new Error('test bus: the listening connection is not ready'));
          const answered = new Promise<void>((resolve) => {
            connection.queue.push({ answer: resolve });
            flush(connection);
          });
          return raced(answered, signal);
        },
        async close() {
          connection.closed = true;
          connection.queue.length = 0;
          connections.delete(connection);
        },
        disconnect() {
          if (!connection.connected) return;
          connection.connected = false;
          connection.queue.length = 0;
          connection.listener?.gap();
        },
        reconnect() {
          if (connection.connected) return;
          connection.connected = true;
          connection.listener?.gap();
        },
      };
      return transport;
    },
    inject: deliver,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const go of heldAnswers.splice(0)) go();
      for (const connection of connections) flush(connection);
    },
  };
}
