/**
 * The shared tier of one loader, process-wide. One batch of keys that missed the request memo goes
 *   namespace → local tier → flights → remote tier → source → write-back
 * each step in its own file: namespace.ts (where a scope's entries live), stores/memory.ts (the local
 * tier), flights.ts (single-flight), remote/resilient.ts and remote/codec.ts (the remote tier), entry.ts
 * (lifetimes, sharing, not-found). Concurrent requests in one scope that miss one key share one source
 * load. A store that fails, hangs or lies never fails a load: the failure is counted (and reported at a
 * bounded rate) and the keys go on to the next tier or the source.
 */

import type { BusMember, Membership } from '../bus/bus.js';
import { isError, NotFoundError } from '../errors.js';
import type { BatchLoadContext } from '../loader/options.js';
import { countedSourceCall, LoaderCounters } from '../observe/stats.js';
import { hotClock } from './clock.js';
import { EntryRules } from './entry.js';
import { claimFlights, type Flight, Flights } from './flights.js';
import { Invalidation } from './invalidation.js';
import { type KeySpace, loaderBase } from './keys.js';
import { LocalTier } from './local-tier.js';
import { type KeyAddress, markWrite, type Namespace, Namespaces } from './namespace.js';
import type { ResolvedPolicy } from './policy.js';
import { type Held, RemoteFlights } from './remote/flights.js';
import type { ResilientRemote } from './remote/resilient.js';
import { type RemoteRead, RemoteTier, type WriteBack } from './remote/tier.js';
import type { LocalEntry, LocalStore } from './store.js';

/** Loads keys from the source, aligned with them; per-key failures are `Error` values. */
export type Source<K, V, Ctx> = (
  keys: readonly K[],
  context: Ctx,
  info: BatchLoadContext | undefined,
) => Promise<ArrayLike<V | Error | null | undefined>>;

/** What `peek` answers for a key the local tier holds nothing for. */
export const ABSENT: unique symbol = Symbol('loaderkit.absent');

/** How `loadBatch` treats the stores: see there. */
export type LoadMode = 'read' | 'fresh' | 'background';

function asError(reason: unknown): Error {
  return isError(reason) ? reason : new Error(String(reason), { cause: reason });
}

export interface SharedCacheOptions<K, V, Ctx> {
  readonly space: KeySpace;
  readonly policy: ResolvedPolicy<K, V, Ctx>;
  readonly local: LocalStore;
  /** The remote tier behind its resilient facade, or null (in-process only). */
  readonly remote: ResilientRemote | null;
  readonly source: Source<K, V, Ctx>;
  /** The memo key of a key (the spec's cacheKey), which the shared key is built from. */
  readonly cacheKeyOf: (key: K) => unknown;
  /** Not-found keys reject with NotFoundError instead of resolving to null. */
  readonly missingAsError: boolean;
  readonly now: () => number;
  /** Told about values that cannot be shared or lifetimes that cannot be used; isolated, never throws. */
  readonly onError: (error: Error) => void;
  /** Told about store failures; rate-limited and isolated, never throws. */
  readonly onStoreError: (error: unknown) => void;
  /** Joins the remote store's invalidation bus by the loader's key base (null: there is none). */
  readonly join?: (loader: string, member: BusMember) => Membership | null;
}

/** One key of a batch that goes past the local tier. */
interface Pending<K> {
  readonly index: number;
  readonly key: K;
  readonly address: KeyAddress;
}

/** A loaded entry kept for write-back, with its place in the batch (`slot`: where its read is). */
interface Kept<K, V> {
  readonly item: Pending<K>;
  readonly entry: LocalEntry;
  readonly flight: Flight<V>;
  readonly slot: number;
}

export class SharedCache<K, V, Ctx> {
  /** Process-wide counters of this loader. */
  readonly counters = new LoaderCounters();
  private readonly flights = new Flights<V>();
  private readonly namespaces: Namespaces;
  private readonly rules: EntryRules<K, V>;
  /** The clock of freshness checks on the sync hit path (see coarseClock). */
  private readonly clock: () => number;
  private readonly options: SharedCacheOptions<K, V, Ctx>;
  private readonly local: LocalTier;
  private readonly remote: RemoteTier | null;
  private readonly invalidation: Invalidation<K>;
  /** Whether the local tier may be read now: always, or while the bus trusts it (bus/bus.ts). */
  private readonly trusted: () => boolean;
  /** Distributed single-flight (shared.lock), or null. */
  private readonly locks: RemoteFlights | null;
  private warnedRefreshContext = false;

  constructor(options: SharedCacheOptions<K, V, Ctx>) {
    this.options = options;
    this.namespaces = new Namespaces(options.space);
    this.rules = new EntryRules(
      options.space.loader,
      options.policy as ResolvedPolicy<K, V, unknown>,
      options.missingAsError,
      options.onError,
    );
    this.clock = hotClock(options.now);
    this.local = new LocalTier(
      options.local,
      (error) => {
        this.counters.errors++;
        options.onStoreError(error);
      },
      options.policy.l1TtlMs,
    );
    this.remote =
      options.remote === null ? null : new RemoteTier(options.remote, options.space.loader, options.onError);
    const lock = options.policy.lock;
    if (lock !== null && options.remote?.store.locks === undefined)
      throw new TypeError(
        `Loader ${JSON.stringify(options.space.loader)}: shared.lock needs a remote store with locks (such as createRedisStore of loaderkit/redis), but ${options.remote === null ? 'there is no remote store' : `the remote store ${JSON.stringify(options.remote.store.name)} has none`}.`,
      );
    this.locks = lock === null || options.remote === null ? null : new RemoteFlights(options.remote, lock);
    const base = loaderBase(options.space);
    const membership =
      options.join?.(base, {
        dropKeys: (scope, keys) => this.invalidation.dropKeysLocally(this.namespaces.of(scope), keys),
        dropScope: (scope) => this.invalidation.dropScopeLocally(this.namespaces.of(scope)),
        dropAll: () => this.invalidation.dropAllLocally(base),
      }) ?? null;
    this.trusted = membership === null ? () => true : () => membership.trusted();
    this.invalidation = new Invalidation<K>(
      options.space.loader,
      this.flights,
      this.local,
      this.remote,
      options.cacheKeyOf,
      this.counters,
      membership,
    );
  }

  /** The scope string of a request context (throws, failing closed, for a bad scope). */
  scopeOf(context: Ctx): string {
    return this.options.policy.scopeOf(context);
  }

  /**
   * The local tier's answer for one key, synchronously: a fresh entry, ABSENT (the tier holds nothing for
   * it), or undefined (anything else: stale, a not-found that must reject, a refused key, a failing
   * store; the batch looks again). Lets a request loader memoize shared hits without a flight (the memo
   * then answers them with their level's batch), and tell its batch which keys it need not read again.
   * Counts the hit.
   */
  peek(key: K, scope: string, request: LoaderCounters | null): LocalEntry | typeof ABSENT | undefined {
    if (!this.trusted()) return undefined;
    let entry: LocalEntry | undefined;
    try {
      const namespace = this.namespaces.of(scope);
      const cacheKey = this.options.cacheKeyOf(key);
      // Scalars (the common case) are looked up as they are: no allocation, no string built.
      if (typeof cacheKey === 'number' || typeof cacheKey === 'string') {
        entry = this.local.get(namespace.scalarSpace, cacheKey);
      } else {
        const { space, localKey } = Namespaces.local(namespace, cacheKey);
        entry = this.local.get(space, localKey);
      }
    } catch {
      return undefined;
    }
    // Nothing, or nothing usable (a failing or lying store): the batch would read a miss again.
    if (entry === undefined) return ABSENT;
    if (!this.rules.answersSync(entry, this.clock())) return undefined;
    this.counters.sharedHits++;
    this.counters.syncHits++;
    if (request !== null) {
      request.sharedHits++;
      request.syncHits++;
    }
    return entry;
  }

  /** The promise a hit on `entry` returns. */
  promiseOf(entry: LocalEntry, key: K): Promise<V> {
    return this.rules.promiseOf(entry, key);
  }

  /** The value a hit on `entry` reads (a fresh clone for cloned-on-read values). */
  valueOf(entry: LocalEntry, key: K): V {
    return this.rules.answer(entry, key) as V;
  }

  /**
   * Loads a batch of keys of one scope through the shared tier. Mode `'read'` answers from the stores
   * where it can; `'fresh'` skips the reads, drops the local entries and supersedes in-flight loads of
   * the keys (their results are not written back); `'background'` is a grace refresh: it skips the
   * reads too, but nobody joins it, so requests meanwhile keep getting the stale value. Resolves with one
   * value or `Error` per key; rejects only when the source call itself failed for keys this batch owned.
   * `peekedAbsent` is the write mark (namespace.ts) at which `peek` found every key of the batch absent,
   * or -1: when nothing was written to the scope since, the local tier is not read again.
   */
  async loadBatch(
    keys: readonly K[],
    scope: string,
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    mode: LoadMode,
    peekedAbsent = -1,
  ): Promise<Array<V | Error>> {
    const namespace = this.namespaces.of(scope);
    const readLocal =
      mode === 'read' && !(peekedAbsent >= 0 && namespace.lastWrite <= peekedAbsent) && this.trusted();
    const out = new Array<V | Error>(keys.length);
    const now = this.options.now();
    const pending: Pending<K>[] = [];
    const stale: K[] = [];
    let hits = 0;
    // 1. The local tier answers what it holds, fresh or within grace, without flights or awaits.
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      let address: KeyAddress;
      try {
        address = Namespaces.address(namespace, this.options.cacheKeyOf(key));
      } catch (error) {
        // A key the encoding refuses rejects its own load only: it is neither looked up nor loaded.
        out[i] = asError(error);
        continue;
      }
      if (readLocal) {
        const entry = this.local.get(address.space, address.localKey);
        if (entry !== undefined && now < entry.staleUntil) {
          out[i] = this.rules.answer(entry, key);
          if (now < entry.freshUntil) hits++;
          else {
            this.count(request, 'staleHits', 1);
            stale.push(key);
          }
          continue;
        }
      } else if (mode === 'fresh') {
        // A refresh fences at once: readers from now on miss and join this load, never the old value
        // (a request's refresh fenced already at its call, remote entry included: see fence).
        this.invalidation.fenceAddress(address);
      }
      pending.push({ index: i, key, address });
    }
    this.count(request, 'sharedHits', hits);
    if (stale.length > 0) this.refreshInBackground(stale, scope, context);
    if (pending.length === 0) return out;

    // 2. Join or open flights synchronously, so concurrent batches see each other.
    const { each, owned, flights, audience, joins } = claimFlights(
      this.flights,
      pending,
      mode === 'read',
      mode === 'background',
      info,
    );
    this.count(request, 'joins', joins);
    if (owned.length > 0) {
      try {
        await this.fill(owned, flights, namespace, context, audience!.context, request, mode);
      } catch (error) {
        // Whatever failed, no flight is left hanging for the requests that joined it.
        for (const flight of flights) flight.reject(error);
        throw error;
      } finally {
        for (let j = 0; j < owned.length; j++) this.flights.land(owned[j]!.address, flights[j]!);
      }
    }
    // Flights this batch answered are settled already: read them; wait only for the ones it joined.
    const waits: Promise<unknown>[] = [];
    for (const flight of each) if (!flight.done) waits.push(flight.settled());
    if (waits.length > 0) await Promise.all(waits);
    // A joined flight's callers get their own answer of its entry (a clone where values are cloned on
    // read), never the owner's object; an unshareable result is the owner's alone: load it again.
    const again: number[] = [];
    for (let p = 0; p < pending.length; p++) {
      const flight = each[p]!;
      const item = pending[p]!;
      if (flight.failed) out[item.index] = asError(flight.result);
      else if (flight.audience === audience) out[item.index] = flight.result as V;
      else if (flight.entry !== null) out[item.index] = this.rules.answer(flight.entry, item.key);
      else if (flight.ownersOnly) again.push(p);
      else out[item.index] = flight.result as V;
    }
    if (again.length > 0) {
      const values = await this.loadBatch(
        again.map((p) => pending[p]!.key),
        scope,
        context,
        info,
        request,
        'fresh',
      );
      for (let a = 0; a < again.length; a++) out[pending[again[a]!]!.index] = values[a]!;
    }
    return out;
  }

  /**
   * Answers owned flights from the remote tier, then from the source, and writes back behind: the
   * values reach their callers (and the flights land) as soon as the source answers.
   */
  private async fill(
    owned: Pending<K>[],
    flights: Flight<V>[],
    namespace: Namespace,
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    mode: LoadMode,
  ): Promise<void> {
    const remote = this.remote;
    let missing: number[] = owned.map((_, j) => j);
    /** What the batch read remotely: the generation its writes carry, the texts they replace. */
    let read: RemoteRead | null = null;
    if (remote !== null) {
      if (mode === 'read') {
        const answered = await this.readRemote(remote, owned, flights, namespace, context, request);
        missing = answered.missing;
        read = answered.read;
      } else {
        // Refreshes serve nothing from the store, but their write needs the generation and the texts it
        // replaces, read before the source reads: a text read after an invalidation on another
        // instance (its marker) would let a value read before it be written over the marker.
        read = await remote.observe(
          namespace,
          owned.map((item) => item.address.remoteKey),
        );
      }
    }
    if (missing.length === 0) return;
    if (this.locks === null || remote === null || read === null || mode !== 'read') {
      await this.loadFromSource(owned, flights, missing, namespace, context, info, request, mode, read, null);
      return;
    }
    // Distributed single-flight: the keys whose lock this batch took load now; the keys another instance
    // holds wait for its value meanwhile, and those it does not bring load after.
    const locks = this.locks;
    // A cold scope: its first token is settled first, or the values of this batch and of another
    // instance's would go under two tokens, and one would be unreadable to the other's waiters.
    const settled = await remote.settleGeneration(namespace, read.generation);
    if (settled !== read.generation) read = { ...read, generation: settled };
    const { mine, theirs, held } = await locks.acquire(namespace, missing, owned);
    const loading =
      mine.length > 0
        ? this.loadFromSource(owned, flights, mine, namespace, context, info, request, mode, read, held)
        : undefined;
    const rest =
      theirs.length > 0
        ? locks
            .wait(namespace, theirs, owned, (indices, lockKeys) =>
              this.readRemote(remote, owned, flights, namespace, context, request, indices, lockKeys),
            )
            .then((left) =>
              left.length > 0
                ? this.loadFromSource(
                    owned,
                    flights,
                    left,
                    namespace,
                    context,
                    info,
                    request,
                    mode,
                    read,
                    null,
                  )
                : undefined,
            )
        : undefined;
    await Promise.all([loading, rest]);
  }

  /**
   * One source call for the positions `missing` of the batch: answers their flights, keeps what can be
   * kept in process and writes it behind; `held` are the remote locks to release once that write is over.
   * Rejects (with every flight of `missing` rejected) when the source call fails.
   */
  private async loadFromSource(
    owned: Pending<K>[],
    flights: Flight<V>[],
    missing: readonly number[],
    namespace: Namespace,
    context: Ctx,
    info: BatchLoadContext | undefined,
    request: LoaderCounters | null,
    mode: LoadMode,
    read: RemoteRead | null,
    /** The remote locks this batch took for `missing`, or null. */
    held: Held | null,
  ): Promise<void> {
    const remote = this.remote;
    const release = () => {
      if (held !== null) this.locks?.release(held);
    };
    const missKeys = missing.map((j) => owned[j]!.key);
    let values: ArrayLike<V | Error | null | undefined>;
    try {
      // A background refresh serves no load: its keys were counted as stale hits, not misses.
      values = await countedSourceCall(this.counters, request, missKeys.length, mode !== 'background', () =>
        this.options.source(missKeys, context, info),
      );
    } catch (error) {
      for (const j of missing) flights[j]!.reject(error);
      release();
      throw error;
    }

    const now = this.options.now();
    const kept: Kept<K, V>[] = [];
    for (let m = 0; m < missing.length; m++) {
      const j = missing[m]!;
      const item = owned[j]!;
      const flight = flights[j]!;
      const value = values[m];
      if (isError(value) && !(value instanceof NotFoundError)) {
        flight.reject(value);
        this.flights.land(item.address, flight);
        continue;
      }
      const notFound = value === null || value === undefined || value instanceof NotFoundError;
      const keep = this.rules.forLoaded(
        item.address.space,
        item.address.localKey,
        item.key,
        notFound ? null : (value as V),
        now,
      );
      // A not-found under onMissing 'error' reaches its callers as the source's own NotFoundError (the
      // spec's alignment made it, with the reason); the negative entry answers later reads.
      if (notFound)
        flight.resolve((value instanceof NotFoundError && this.options.missingAsError ? value : null) as V);
      else if (keep === null) {
        flight.ownersOnly = true;
        flight.resolve(value as V);
      } else {
        flight.entry = keep.entry;
        flight.resolve(this.rules.answer(keep.entry, item.key) as V);
      }
      this.flights.land(item.address, flight);
      if (keep === null || keep.keepMs === 0 || flight.poisoned) continue;
      const stored = !flight.outOfSync && this.local.set(keep.entry, keep.keepMs);
      if (stored) markWrite(namespace);
      // Written: to the remote tier if there is one (behind), else to the in-process tier if it kept it.
      if (remote !== null || stored) kept.push({ item, entry: keep.entry, flight, slot: j });
    }
    this.count(request, 'writes', kept.length);
    // Waiters on other instances poll for the values: the locks go once they are written (or not).
    if (remote !== null && kept.length > 0) this.writeBehind(remote, kept, read, namespace, now, release);
    else release();
  }

  /**
   * One remote round trip for a batch (remote/tier.ts). Entries of the scope's current generation answer
   * their flights and fill the local tier with their remaining lifetime; the rest are missing. A failed
   * read leaves all missing, and the batch then writes nothing remote (it does not know the generation).
   */
  private async readRemote(
    remote: RemoteTier,
    owned: Pending<K>[],
    flights: Flight<V>[],
    namespace: Namespace,
    context: Ctx,
    request: LoaderCounters | null,
    /** The positions in `owned` to read (default: all). */
    indices: readonly number[] = owned.map((_, j) => j),
    /** Keys read as they are in the same round trip (locks): see RemoteRead.extra. */
    extraKeys: readonly string[] = [],
  ): Promise<{ missing: number[]; read: RemoteRead | null }> {
    const read = await remote.read(
      namespace,
      indices.map((j) => owned[j]!.address.remoteKey),
      extraKeys,
    );
    if (read === null) {
      this.count(request, 'errors', 1);
      return { missing: [...indices], read: null };
    }
    const now = this.options.now();
    const missing: number[] = [];
    const stale: K[] = [];
    let fresh = 0;
    for (let r = 0; r < indices.length; r++) {
      const j = indices[r]!;
      const item = owned[j]!;
      const decoded = read.entries[r]!;
      const entry =
        decoded === null
          ? null
          : this.rules.forRemote(
              item.address.space,
              item.address.localKey,
              decoded.value,
              decoded.freshUntil,
              decoded.staleUntil,
              now,
              decoded.frozen,
              decoded.textLength,
            );
      if (decoded === null || entry === null) {
        missing.push(j);
        continue;
      }
      const flight = flights[j]!;
      flight.entry = entry;
      flight.resolve(this.rules.answer(entry, item.key) as V);
      this.flights.land(item.address, flight);
      if (!flight.poisoned && !flight.outOfSync && this.local.set(entry, entry.staleUntil - now))
        markWrite(namespace);
      if (now < decoded.freshUntil) fresh++;
      else stale.push(item.key);
    }
    if (fresh > 0) {
      this.count(request, 'sharedHits', fresh);
      this.count(request, 'remoteHits', fresh);
    }
    if (stale.length > 0) {
      this.count(request, 'staleHits', stale.length);
      this.count(request, 'remoteStaleHits', stale.length);
    }
    if (stale.length > 0) this.refreshInBackground(stale, namespace.scope, context);
    return { missing, read };
  }

  /**
   * Writes kept entries behind, under the generation the batch read and each where its key still holds
   * what the batch read there, skipping those fenced meanwhile.
   */
  private writeBehind(
    remote: RemoteTier,
    kept: readonly Kept<K, V>[],
    read: RemoteRead | null,
    namespace: Namespace,
    now: number,
    /** Told once the write-back is over (or there is none). */
    done?: () => void,
  ): void {
    if (read === null) {
      done?.();
      return;
    }
    const entries: WriteBack[] = [];
    for (const { item, entry, flight, slot } of kept)
      if (!flight.poisoned)
        entries.push({ key: item.address.remoteKey, entry, observed: read.observed[slot] });
    // A key that no longer held what the batch read had been invalidated (or written) by another
    // instance meanwhile: the values this batch kept in process may be older than that, so they go (all
    // of the batch's: the store counts, it does not say which; a later read finds them remotely).
    remote.writeBehind(namespace, entries, read.generation, now, (skipped) => {
      if (skipped > 0)
        for (const { entry } of entries)
          if (this.local.get(entry.space, entry.key) === entry) this.local.delete(entry.space, entry.key);
      done?.();
    });
  }

  /** One source call for the stale keys of a batch; on failure the stale entries keep serving. */
  private refreshInBackground(staleKeys: K[], scope: string, requestContext: Ctx): void {
    // One refresh per key at a time, whichever tier served it stale.
    const namespace = this.namespaces.of(scope);
    const keys = staleKeys.filter((key) => {
      try {
        return !this.flights.isRefreshing(Namespaces.address(namespace, this.options.cacheKeyOf(key)));
      } catch {
        return false;
      }
    });
    if (keys.length === 0) return;
    const context = this.options.policy.refreshContextOf(requestContext, scope);
    if (context instanceof TypeError) {
      if (!this.warnedRefreshContext) {
        this.warnedRefreshContext = true;
        this.options.onError(context);
      }
      return;
    }
    this.loadBatch(keys, scope, context, undefined, null, 'background').then(
      () => undefined,
      () => undefined, // counted by fill; stale-if-error keeps the old entries
    );
  }

  /**
   * A refresh of a key is coming: from now on no load of the scope sees the entry from before it, and
   * loads in flight will not write back (synchronous; the refresh's own batch follows). See invalidation.ts.
   */
  fence(key: K, scope: string): void {
    this.invalidation.fence(this.namespaces.of(scope), key);
  }

  /** Drops keys of one scope from every tier; see invalidation.ts. */
  invalidate(keys: readonly K[], scope: string): Promise<void> {
    return this.invalidation.invalidate(this.namespaces.of(scope), keys);
  }

  /** Drops every entry of a scope; see invalidation.ts. */
  invalidateScope(scope: string): Promise<void> {
    return this.invalidation.invalidateScope(this.namespaces.of(scope));
  }

  /** Adds to a counter of this loader and of the request (per batch or per miss, never per hit). */
  private count(request: LoaderCounters | null, field: NumericCounter, amount: number): void {
    this.counters[field] += amount;
    if (request !== null) request[field] += amount;
  }
}

type NumericCounter =
  | 'syncHits'
  | 'joins'
  | 'sharedHits'
  | 'staleHits'
  | 'remoteHits'
  | 'remoteStaleHits'
  | 'errors'
  | 'writes';
