/**
 * An in-memory remote store for tests: strings in a Map, each with an expiry on a clock, answering
 * through promises like a network store. It counts the commands it executed, so a test can tell how
 * many round trips (and keys) loaderkit spent.
 */
import type { BusTransport } from '../bus/bus.js';
import type { RemoteLocks, RemoteStore, RemoteWrite } from '../cache/store.js';

export interface TestRemoteStoreOptions {
  /**
   * The clock the expiries are measured on, in epoch milliseconds. Pass a manual clock to move time
   * by hand. Read on every call (no caching).
   *
   * @default Date.now
   */
  now?: () => number;
  /**
   * The store's `name`.
   *
   * @default 'test-remote'
   */
  name?: string;
  /**
   * How invalidations reach the other instances on this store: a transport of a test bus hub
   * (`createTestBusHub().transport()`), or none.
   *
   * @default none
   */
  bus?: BusTransport;
}

/**
 * The commands a test remote store executed: calls that reached the "server", i.e. were not refused
 * for an aborted signal, a closed store or a malformed argument. Live counters, reset by
 * `resetCommands()`.
 */
export interface TestRemoteCommands {
  /** `getMany` calls executed. */
  getMany: number;
  /** `setMany` calls executed. */
  setMany: number;
  /** `deleteMany` calls executed. */
  deleteMany: number;
  /** `locks.acquire` and `locks.release` calls executed. */
  locks: number;
  /** Keys read by `getMany`, duplicates counted (the sum of the calls' `keys.length`). */
  keysRead: number;
  /** Values written by `setMany` (the sum of the calls' `writes.length`). */
  keysWritten: number;
  /** Keys named by `deleteMany`, duplicates and absent keys counted. */
  keysDeleted: number;
}

/** A {@link RemoteStore} kept in memory, with counters; see {@link createTestRemoteStore}. */
export interface TestRemoteStore extends RemoteStore {
  /** Locks among the values (see createTestRemoteStore). */
  readonly locks: RemoteLocks;
  /** The commands executed so far (live, mutated in place). */
  readonly commands: TestRemoteCommands;
  /** Sets every counter of `commands` back to 0. */
  resetCommands(): void;
  /** The number of values kept and not expired (expired ones are dropped on the way). */
  size(): number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

interface Stored {
  readonly value: string;
  /** Epoch ms on the store's clock from which the value is gone. */
  readonly expiresAt: number;
}

/**
 * An in-memory {@link RemoteStore} for tests (yours and loaderkit's).
 *
 * - Each value is kept for its `ttlMs` on `options.now`: it is gone once `now() >= written + ttlMs`,
 *   checked on every read.
 * - Answers asynchronously, never in the calling tick: the work happens one microtask after the call,
 *   like a request that reaches a server after it is sent, and the answer comes back through a promise.
 * - Honours the signal: a call whose signal is aborted when it is made, or before its work happens,
 *   rejects with the signal's reason and does nothing.
 * - Strict about its arguments, to catch a caller's bugs: keys and values must be strings, `ttlMs` a
 *   whole number >= 1 (the {@link RemoteWrite} contract), else the call rejects with a TypeError or
 *   RangeError and writes nothing.
 * - A write with `ifValue` is a compare-and-set against the key's value at that moment (null: absent).
 * - Locks (`locks`) live among the values, as in Redis: a lock is its token at the key, taken only
 *   where the key holds nothing, released only by its token, gone at its expiry.
 * - `close()` drops every value and is idempotent; any later call rejects with an Error.
 */
export function createTestRemoteStore(options: TestRemoteStoreOptions = {}): TestRemoteStore {
  const now = options.now ?? Date.now;
  const data = new Map<string, Stored>();
  const commands: TestRemoteCommands = {
    getMany: 0,
    setMany: 0,
    deleteMany: 0,
    locks: 0,
    keysRead: 0,
    keysWritten: 0,
    keysDeleted: 0,
  };
  let closed = false;

  /** Validates a call, then lets a microtask pass and checks again: the request "reaching the server". */
  async function reach(method: string, signal: AbortSignal): Promise<void> {
    if (closed) throw new Error(`test remote store: ${method} after close()`);
    signal.throwIfAborted();
    await undefined;
    if (closed) throw new Error(`test remote store: ${method} after close()`);
    signal.throwIfAborted();
  }

  function read(key: string, at: number): string | null {
    const stored = data.get(key);
    if (stored === undefined) return null;
    if (at >= stored.expiresAt) {
      data.delete(key);
      return null;
    }
    return stored.value;
  }

  const store: TestRemoteStore = {
    name: options.name ?? 'test-remote',
    ...(options.bus === undefined ? {} : { bus: options.bus }),
    commands,
    get closed() {
      return closed;
    },

    async getMany(keys: readonly string[], signal: AbortSignal): Promise<ReadonlyArray<string | null>> {
      checkKeys('getMany', keys);
      await reach('getMany', signal);
      commands.getMany++;
      commands.keysRead += keys.length;
      const at = now();
      return keys.map((key) => read(key, at));
    },

    async setMany(writes: readonly RemoteWrite[], signal: AbortSignal): Promise<number> {
      checkWrites(writes);
      await reach('setMany', signal);
      commands.setMany++;
      commands.keysWritten += writes.length;
      const at = now();
      let written = 0;
      for (const write of writes) {
        if (write.ifValue !== undefined && read(write.key, at) !== write.ifValue) continue;
        data.set(write.key, { value: write.value, expiresAt: at + write.ttlMs });
        written++;
      }
      return written;
    },

    locks: {
      async acquire(keys: readonly string[], token: string, ttlMs: number, signal: AbortSignal) {
        checkKeys('locks.acquire', keys);
        await reach('locks.acquire', signal);
        commands.locks++;
        const at = now();
        return keys.map((key) => {
          if (read(key, at) !== null) return false;
          data.set(key, { value: token, expiresAt: at + ttlMs });
          return true;
        });
      },
      async release(keys: readonly string[], token: string, signal: AbortSignal) {
        checkKeys('locks.release', keys);
        await reach('locks.release', signal);
        commands.locks++;
        const at = now();
        for (const key of keys) if (read(key, at) === token) data.delete(key);
      },
    },

    async deleteMany(keys: readonly string[], signal: AbortSignal): Promise<void> {
      checkKeys('deleteMany', keys);
      await reach('deleteMany', signal);
      commands.deleteMany++;
      commands.keysDeleted += keys.length;
      for (const key of keys) data.delete(key);
    },

    async close(): Promise<void> {
      closed = true;
      data.clear();
      await options.bus?.close();
    },

    resetCommands(): void {
      for (const name of Object.keys(commands) as Array<keyof TestRemoteCommands>) commands[name] = 0;
    },

    size(): number {
      const at = now();
      for (const key of [...data.keys()]) read(key, at);
      return data.size;
    },
  };
  return store;
}

function checkKeys(method: string, keys: readonly string[]): void {
  if (!Array.isArray(keys)) throw new TypeError(`test remote store: ${method} keys must be an array`);
  for (const key of keys) {
    if (typeof key !== 'string') {
      throw new TypeError(`test remote store: ${method} keys must be strings, got ${typeof key}`);
    }
  }
}

function checkWrites(writes: readonly RemoteWrite[]): void {
  if (!Array.isArray(writes)) throw new TypeError('test remote store: setMany writes must be an array');
  for (const write of writes) {
    if (typeof write !== 'object' || write === null) {
      throw new TypeError('test remote store: each write must be an object { key, value, ttlMs }');
    }
    if (typeof write.key !== 'string') {
      throw new TypeError(`test remote store: a write's key must be a string, got ${typeof write.key}`);
    }
    if (typeof write.value !== 'string') {
      throw new TypeError(`test remote store: a write's value must be a string, got ${typeof write.value}`);
    }
    if (!Number.isInteger(write.ttlMs) || write.ttlMs < 1) {
      throw new RangeError(
        `test remote store: ttlMs must be a whole number >= 1, got ${String(write.ttlMs)}`,
      );
    }
    if (write.ifValue !== undefined && write.ifValue !== null && typeof write.ifValue !== 'string') {
      throw new TypeError(
        `test remote store: a write's ifValue must be a string, null or absent, got ${typeof write.ifValue}`,
      );
    }
  }
}
