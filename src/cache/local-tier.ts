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

  set(entry: LocalEntry, keepMs: number): void {
    try {
      this.store.set(entry, keepMs);
    } catch (error) {
      this.failed(error);
    }
  }

  delete(space: string, key: unknown): void {
    try {
      this.store.delete(space, key);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Drops a whole scope (see Namespace.base). */
  deleteSpaces(prefix: string): void {
    try {
      this.store.deleteSpaces(prefix);
    } catch (error) {
      this.failed(error);
    }
  }
}
