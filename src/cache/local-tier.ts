/**
 * The local tier as the shared tier uses it: a LocalStore behind checks and failure isolation. A store
 * method that throws counts as a store failure and reads as a miss; an entry the store answers for
 * another space or key (SameValueZero, as a Map) or with inverted lifetimes is a miss, never a wrong
 * answer.
 */
import type { LocalEntry, LocalStore } from './store.js';

/** The key equality of a Map. */
function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

export class LocalTier {
  constructor(
    private readonly store: LocalStore,
    /** Told about each failing call (counts and reports it); never throws. */
    private readonly failed: (error: unknown) => void,
    /** The longest an entry is kept (the policy's l1Ttl; Infinity: its own lifetime); 0 keeps none. */
    private readonly maxKeepMs = Number.POSITIVE_INFINITY,
  ) {}

  get(space: string, key: unknown): LocalEntry | undefined {
    let entry: LocalEntry | undefined;
    try {
      entry = this.store.get(space, key);
    } catch (error) {
      this.failed(error);
      return undefined;
    }
    if (entry === undefined) return undefined;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      entry.space !== space ||
      !sameValueZero(entry.key, key) ||
      !(entry.staleUntil >= entry.freshUntil)
    )
      return undefined;
    return entry;
  }

  /** Keeps an entry for `keepMs`, capped by maxKeepMs; false when nothing was kept (cap 0, store failed). */
  set(entry: LocalEntry, keepMs: number): boolean {
    const ms = Math.min(keepMs, this.maxKeepMs);
    if (!(ms > 0)) return false;
    try {
      this.store.set(entry, ms);
      return true;
    } catch (error) {
      this.failed(error);
      return false;
    }
  }

  /** Deletes an entry; false when the store failed (the entry may still be there). */
  delete(space: string, key: unknown): boolean {
    try {
      this.store.delete(space, key);
      return true;
    } catch (error) {
      this.failed(error);
      return false;
    }
  }

  /** Drops a whole scope (see Namespace.base); false when the store failed. */
  deleteSpaces(prefix: string): boolean {
    try {
      this.store.deleteSpaces(prefix);
      return true;
    } catch (error) {
      this.failed(error);
      return false;
    }
  }
}
