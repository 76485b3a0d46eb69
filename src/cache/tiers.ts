/**
 * The tiers one `defineLoaders` (or one `cached`) puts its shared loaders on: the local store (given,
 * or an in-process memory store made on first use and owned), and the remote store behind its
 * resilient facade, if one is given. Store failures are reported at a bounded rate per tier.
 */
import { type BusMember, type BusStats, busOf, type InvalidationBus, type Membership } from '../bus/bus.js';
import { rateLimited } from '../observe/report.js';
import type { ResolvedStoreOptions } from './policy.js';
import { type RemoteStats, ResilientRemote } from './remote/resilient.js';
import type { LocalStore, StoreStats } from './store.js';
import { createMemoryStore } from './stores/memory.js';

export class Tiers {
  private owned: LocalStore | null = null;
  readonly remote: ResilientRemote | null;
  /** The remote store's invalidation bus, if it has one. */
  private readonly bus: InvalidationBus | null;
  private readonly memberships: Membership[] = [];

  constructor(
    private readonly options: ResolvedStoreOptions,
    /** Isolated onError. */
    private readonly onError: (error: Error) => void,
  ) {
    this.remote =
      options.remote === undefined
        ? null
        : new ResilientRemote(
            options.remote,
            options.remoteOptions,
            rateLimited(onError, options.now),
            options.now,
          );
    const transport = options.remote?.bus;
    this.bus = transport === undefined ? null : busOf(transport);
  }

  /** A loader's place on the invalidation bus (by its key base), or null without one; left on close. */
  join(loader: string, member: BusMember): Membership | null {
    if (this.bus === null) return null;
    const membership = this.bus.join(loader, member);
    this.memberships.push(membership);
    return membership;
  }

  /** The local store: the given one, or the owned memory store (made now, once). */
  local(): LocalStore {
    if (this.options.store !== undefined) return this.options.store;
    this.owned ??= createMemoryStore({ now: this.options.now });
    return this.owned;
  }

  /** A reporter of local store failures, at most 5 a second (one per loader). */
  localReporter(): (error: unknown) => void {
    return rateLimited(this.onError, this.options.now);
  }

  stats(): { store: StoreStats | undefined; remote: RemoteStats | undefined; bus: BusStats | undefined } {
    let store: StoreStats | undefined;
    try {
      store = (this.options.store ?? this.owned)?.stats();
    } catch {
      store = undefined;
    }
    return { store, remote: this.remote?.stats(), bus: this.bus?.stats() };
  }

  /**
   * Leaves the bus and closes the owned memory store; stores passed in belong to their owner. Resolves
   * once the instance's presence is withdrawn (within the transport's deadline).
   */
  async close(): Promise<void> {
    const leaving = this.memberships.splice(0).map((membership) => membership.leave());
    const owned = this.owned;
    this.owned = null;
    owned?.close();
    await Promise.all(leaving);
  }
}
