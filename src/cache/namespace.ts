/**
 * Namespaces: where the entries of one scope of one loader live. A scope's namespace names its two
 * local spaces (scalar keys are looked up as they are, with no string built per hit; object keys by
 * their encoding), the prefix of its remote keys, and its remote generation key. Bounded: at most
 * MAX_NAMESPACES are kept (least recently used go), and nothing is interned per key.
 */
import { LRUCache } from 'lru-cache';
import { encodeKey, KEY_ROLE, type KeySpace, keyBase } from './keys.js';

/** Namespaces kept per loader; a scope not among them is rebuilt (a few string concatenations). */
const MAX_NAMESPACES = 1000;

export interface Namespace {
  readonly scope: string;
  /** The prefix of every space and key of the scope (`deleteSpaces` drops a scope by it). */
  readonly base: string;
  /** The local space of scalar keys. */
  readonly scalarSpace: string;
  /** The local space of object keys (by their encoding): a string key never meets an object key. */
  readonly objectSpace: string;
  /** Every remote entry key of the scope starts with it (flights are registered under it too, see flights.ts). */
  readonly entryPrefix: string;
  /** Where a remote store keeps the scope's generation token. */
  readonly generationKey: string;
  /** Every remote lock key of the scope starts with it (then the key's encoding, as in entryPrefix). */
  readonly lockPrefix: string;
  /** The write mark (see writeMark) of the last local write in this scope, or of its creation. */
  lastWrite: number;
}

/**
 * Local writes, counted process-wide: a key seen absent in the local tier when the mark was `m` is still
 * absent while its namespace's `lastWrite <= m` (writes are the only way in; deletes only take out). Lets
 * a batch skip the local read of keys its request loader just peeked. A namespace rebuilt after the LRU
 * dropped it starts past every earlier mark. (Two loader definitions over one store and one loader name
 * write one space without seeing each other's marks: a peeked key then misses a hit the other wrote in the
 * batch window, a source load more, never a wrong answer.)
 */
let localWrites = 0;

/** The current write mark. */
export function writeMark(): number {
  return localWrites;
}

/** Records a local write in a namespace. */
export function markWrite(namespace: Namespace): void {
  namespace.lastWrite = ++localWrites;
}

/**
 * Where one key lives: its local space and key, its remote key, and where its flights are registered
 * (`prefix`, the scope's entryPrefix, and `encoded`, the key's encoding: remoteKey is the two joined).
 */
export interface KeyAddress {
  readonly space: string;
  readonly localKey: unknown;
  readonly remoteKey: string;
  readonly prefix: string;
  readonly encoded: string;
}

export class Namespaces {
  private readonly known = new LRUCache<string, Namespace>({ max: MAX_NAMESPACES });
  private last: Namespace | null = null;

  constructor(private readonly space: KeySpace) {}

  /** The namespace of a scope string (see policy.ts scopeOf). */
  of(scope: string): Namespace {
    const last = this.last;
    if (last !== null && last.scope === scope) return last;
    let namespace = this.known.get(scope);
    if (namespace === undefined) {
      const base = keyBase(this.space, scope);
      namespace = {
        scope,
        base,
        scalarSpace: base + KEY_ROLE.scalar,
        objectSpace: base + KEY_ROLE.object,
        entryPrefix: base + KEY_ROLE.entry,
        generationKey: base + KEY_ROLE.generation,
        lockPrefix: base + KEY_ROLE.lock,
        lastWrite: ++localWrites,
      };
      this.known.set(scope, namespace);
    }
    this.last = namespace;
    return namespace;
  }

  /** The local address of a cache key; throws the key's TypeError for one the encoding refuses. */
  static local(namespace: Namespace, cacheKey: unknown): { space: string; localKey: unknown } {
    if (typeof cacheKey === 'object' && cacheKey !== null)
      return { space: namespace.objectSpace, localKey: encodeKey(cacheKey) };
    // Refuses functions and symbols like object keys do (a Map would take them).
    if (typeof cacheKey === 'function' || typeof cacheKey === 'symbol') encodeKey(cacheKey);
    return { space: namespace.scalarSpace, localKey: cacheKey };
  }

  /** The full address of a cache key (local and remote); throws for a key the encoding refuses. */
  static address(namespace: Namespace, cacheKey: unknown): KeyAddress {
    // As `local` (object keys by their encoding, scalars as they are), without its object per key.
    const encoded = encodeKey(cacheKey);
    const prefix = namespace.entryPrefix;
    const remoteKey = prefix + encoded;
    if (typeof cacheKey === 'object' && cacheKey !== null)
      return { space: namespace.objectSpace, localKey: encoded, remoteKey, prefix, encoded };
    return { space: namespace.scalarSpace, localKey: cacheKey, remoteKey, prefix, encoded };
  }
}
