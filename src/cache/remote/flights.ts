/**
 * Distributed single-flight (`shared.lock`): instances that miss the same key load it once. A batch's
 * keys that missed every tier take a short-lived lock each in the remote store (one round trip); the
 * keys whose lock another instance holds wait: the batch reads them (and their locks) again every
 * `pollMs` until the value lands (answered from there), the lock goes without a value (its holder
 * failed: loaded here), or `waitMs` passes (loaded here). The holder releases its locks once its
 * write-back is over; one that dies releases by the locks' expiry. Fail open: a lock call that fails
 * loads every key here, and a read that fails while waiting loads the rest here.
 */
import { randomId } from '../../random-id.js';
import type { Namespace } from '../namespace.js';
import type { ResolvedLock } from '../policy.js';
import type { ResilientRemote } from './resilient.js';
import type { RemoteRead } from './tier.js';

/** Reads positions of the batch again, with the given lock keys' texts in `read.extra`. */
export type ReadAgain = (
  indices: readonly number[],
  lockKeys: readonly string[],
) => Promise<{ missing: number[]; read: RemoteRead | null }>;

/** Locks a batch took, and its token. */
export interface Held {
  readonly keys: readonly string[];
  readonly token: string;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

export class RemoteFlights {
  constructor(
    private readonly remote: ResilientRemote,
    private readonly options: ResolvedLock,
  ) {}

  /** The lock key of an entry key (namespace.ts: the same encoding after the lock role). */
  lockKey(namespace: Namespace, remoteKey: string): string {
    return namespace.lockPrefix + remoteKey.slice(namespace.entryPrefix.length);
  }

  /**
   * Takes the locks of the batch's `missing` positions (in `owned` order): `mine` are those it took (with
   * their lock keys in `held`), `theirs` those another instance holds. A lock call that fails makes every
   * position mine (fail open: loaded here, no lock to release).
   */
  async acquire(
    namespace: Namespace,
    missing: readonly number[],
    owned: ReadonlyArray<{ readonly address: { readonly remoteKey: string } }>,
  ): Promise<{ mine: number[]; theirs: number[]; held: Held }> {
    const lockKeys = missing.map((j) => this.lockKey(namespace, owned[j]!.address.remoteKey));
    // A token per batch: a batch releases only its own locks, not those a later one took again.
    const token = randomId();
    const taken = await this.remote.acquire(lockKeys, token, this.options.ttlMs);
    if (taken === null) return { mine: [...missing], theirs: [], held: { keys: [], token } };
    const mine: number[] = [];
    const theirs: number[] = [];
    const held: string[] = [];
    for (let m = 0; m < missing.length; m++) {
      if (taken[m]) {
        mine.push(missing[m]!);
        held.push(lockKeys[m]!);
      } else theirs.push(missing[m]!);
    }
    this.remote.lockCounts.taken += held.length;
    this.remote.lockCounts.waited += theirs.length;
    return { mine, theirs, held: { keys: held, token } };
  }

  /**
   * Waits for the values of positions another instance holds: reads them (and their locks) again every
   * pollMs; answers the positions to load here after all: those whose lock went without a value (its
   * holder failed), and those still missing after waitMs or when a read failed.
   */
  async wait(
    namespace: Namespace,
    theirs: readonly number[],
    owned: ReadonlyArray<{ readonly address: { readonly remoteKey: string } }>,
    readAgain: ReadAgain,
  ): Promise<number[]> {
    const counts = this.remote.lockCounts;
    const load: number[] = [];
    let waiting = [...theirs];
    let waitingLocks = waiting.map((j) => this.lockKey(namespace, owned[j]!.address.remoteKey));
    const until = performance.now() + this.options.waitMs;
    while (waiting.length > 0) {
      const left = until - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(this.options.pollMs, left));
      const again = await readAgain(waiting, waitingLocks);
      if (again.read === null) break;
      const still = new Set(again.missing);
      const next: number[] = [];
      const nextLocks: string[] = [];
      for (let w = 0; w < waiting.length; w++) {
        const j = waiting[w]!;
        if (!still.has(j)) {
          counts.landed++;
          continue;
        }
        // The lock went and no value came: its holder failed or gave up. Loaded here.
        if (again.read.extra[w] === null) load.push(j);
        else {
          next.push(j);
          nextLocks.push(waitingLocks[w]!);
        }
      }
      waiting = next;
      waitingLocks = nextLocks;
    }
    counts.timedOut += waiting.length;
    load.push(...waiting);
    return load.sort((a, b) => a - b);
  }

  /** Releases locks a batch took (behind: nothing waits; a failure leaves them to expire). */
  release(held: Held): void {
    if (held.keys.length > 0) void this.remote.release(held.keys, held.token);
  }
}
