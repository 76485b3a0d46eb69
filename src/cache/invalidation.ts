/**
 * Invalidation of one loader's shared entries: `invalidate` (keys), `invalidateScope` and the fence of a
 * refresh. Every one fences synchronously, at the call: the flights in the air are poisoned (they answer
 * their callers but never write back, to either tier, and no later load joins them) and the in-process
 * entries go. Then the remote tier writes an invalidation marker over the keys (which fences write-backs
 * of every instance, see remote/tier.ts) or moves the scope to a new generation token, with its own
 * in-process fence while that is in the air. An invalidation a store could
 * not carry out rejects, saying which store, and is counted.
 */
import type { Membership } from '../bus/bus.js';
import type { LoaderCounters } from '../observe/stats.js';
import type { FlightKey } from './flights.js';
import { decodeScalarKey } from './keys.js';
import type { LocalTier } from './local-tier.js';
import { type KeyAddress, type Namespace, Namespaces } from './namespace.js';
import type { RemoteTier } from './remote/tier.js';

export class Invalidation<K> {
  constructor(
    private readonly loader: string,
    /** The loader's flights (Flights), of which invalidation only poisons. */
    private readonly flights: {
      poison(at: FlightKey): void;
      poisonScope(prefix: string): void;
      desyncPrefix(prefix: string): void;
    },
    private readonly local: LocalTier,
    private readonly remote: RemoteTier | null,
    private readonly cacheKeyOf: (key: K) => unknown,
    private readonly counters: LoaderCounters,
    /** The loader's place on the invalidation bus (the other instances), or null. */
    private readonly bus: Membership | null,
  ) {}

  /** The fence of one address: its flights poisoned, its local entry dropped; false if the local store failed. */
  fenceAddress(address: KeyAddress): boolean {
    this.flights.poison(address);
    return this.local.delete(address.space, address.localKey);
  }

  /**
   * A refresh of a key is coming: fenced now, and its remote entry replaced by a marker behind (nothing waits for it;
   * a failure is counted), so a refresh that fails leaves no older value to be read.
   */
  fence(namespace: Namespace, key: K): void {
    const fenced = this.fenceKeys(namespace, [key]);
    if (this.remote === null || fenced.remoteKeys.length === 0) return;
    // The others are told once the marker is there: told earlier, they could read the old value again.
    void this.remote.delete(fenced.remoteKeys).then(() => this.tell(namespace, fenced.remoteKeys));
  }

  /**
   * Drops keys of one scope: fenced at once, then replaced by markers in the remote store. Rejects when a store
   * failed: the in-process store's entries may then still be served, and the remote store's by other
   * instances too, until their TTL.
   */
  async invalidate(namespace: Namespace, keys: readonly K[]): Promise<void> {
    const fenced = this.fenceKeys(namespace, keys);
    const remoteFailed =
      this.remote !== null && fenced.remoteKeys.length > 0 && !(await this.remote.delete(fenced.remoteKeys));
    const untold = !(await this.tell(namespace, fenced.remoteKeys));
    if (!fenced.localOk || remoteFailed || untold)
      this.fail('invalidate', !fenced.localOk, remoteFailed, untold);
  }

  /**
   * Invalidates every entry of a scope: its flights poisoned and its in-process spaces dropped, at once;
   * then a new generation token, so the remote store's old entries are never read again (they expire
   * by TTL).
   */
  async invalidateScope(namespace: Namespace): Promise<void> {
    this.flights.poisonScope(namespace.entryPrefix);
    const localOk = this.local.deleteSpaces(namespace.base);
    const remoteFailed = this.remote !== null && !(await this.remote.newGeneration(namespace));
    const untold = this.bus !== null && !(await this.bus.publishScope(namespace.scope));
    if (!localOk || remoteFailed || untold) this.fail('invalidateScope', !localOk, remoteFailed, untold);
  }

  /** Another instance (or loader of this process) dropped keys, by their encodings: fenced here too. */
  dropKeysLocally(namespace: Namespace, encodedKeys: readonly string[]): void {
    for (const encoded of encodedKeys) {
      this.flights.poison({ prefix: namespace.entryPrefix, encoded });
      // An object key's local key is its encoding; a scalar's is the value the encoding stands for.
      this.local.delete(namespace.objectSpace, encoded);
      const scalar = decodeScalarKey(encoded);
      if (scalar !== undefined) this.local.delete(namespace.scalarSpace, scalar.value);
    }
  }

  /** Another instance dropped a scope: fenced here too. */
  dropScopeLocally(namespace: Namespace): void {
    this.flights.poisonScope(namespace.entryPrefix);
    this.local.deleteSpaces(namespace.base);
  }

  /**
   * The bus regains contact after losing it: every in-process entry of the loader goes (keys.ts
   * loaderBase), and its loads in flight fill no in-process tier.
   */
  dropAllLocally(loaderBase: string): void {
    this.flights.desyncPrefix(loaderBase);
    this.local.deleteSpaces(loaderBase);
  }

  /** Tells the other instances about dropped keys (by remote key); true when told or nobody to tell. */
  private tell(namespace: Namespace, remoteKeys: readonly string[]): Promise<boolean> {
    if (this.bus === null || remoteKeys.length === 0) return Promise.resolve(true);
    const from = namespace.entryPrefix.length;
    return this.bus.publishKeys(
      namespace.scope,
      remoteKeys.map((key) => key.slice(from)),
    );
  }

  /** Fences keys (those the encoding refuses were never cached and are skipped). */
  private fenceKeys(namespace: Namespace, keys: readonly K[]): { remoteKeys: string[]; localOk: boolean } {
    const remoteKeys: string[] = [];
    let localOk = true;
    for (const key of keys) {
      let address: KeyAddress;
      try {
        address = Namespaces.address(namespace, this.cacheKeyOf(key));
      } catch {
        continue;
      }
      if (!this.fenceAddress(address)) localOk = false;
      remoteKeys.push(address.remoteKey);
    }
    return { remoteKeys, localOk };
  }

  private fail(method: string, local: boolean, remote: boolean, untold = false): never {
    this.counters.errors++;
    const failed = [
      ...(local ? ['the in-process store failed (its entries may be served until their TTL)'] : []),
      ...(remote
        ? [
            'the remote store could not be reached (its entries may be served, by other instances too, until their TTL)',
          ]
        : []),
      ...(untold
        ? [
            'the other instances could not be told (their in-process tiers may serve it until they lose contact for staleAfterMs, or until its TTL)',
          ]
        : []),
    ].join(', and ');
    throw new Error(
      `Loader ${JSON.stringify(this.loader)}: ${method} fenced the loads in flight, but ${failed}.`,
    );
  }
}
