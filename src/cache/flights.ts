/**
 * Single-flight: one source load per shared key at a time, which concurrent batches join. Flights are
 * keyed by remote key (namespace.ts) and registered synchronously, before any await, so batches see each
 * other whatever the stores do. A flight leaves the register as soon as its source answers: a write-back
 * never extends it. Poisoning (an invalidation or a newer load) makes a flight finish for its callers
 * without writing back, and removes it so later loads start their own.
 */
import type { BatchLoadContext } from '../loader/options.js';
import { Audience } from './audience.js';
import type { LocalEntry } from './store.js';

/**
 * One key's load in the air. The batch that opened it settles it; a batch that joined it waits for
 * `settled()` and then reads `result` (or `entry`). No promise is made unless somebody waits.
 */
export class Flight<V> {
  /** Settled: `result` holds the value, or the reason when `failed`. */
  done = false;
  failed = false;
  result: unknown = undefined;
  /**
   * The entry the result was made from, when it is shareable: every batch other than the owner answers
   * its callers from it (a clone per read for cloned-on-read values), never with the owner's object.
   */
  entry: LocalEntry | null = null;
  /**
   * The result cannot be shared (the sharing rules refused it): only the batch that loaded it may
   * hand it to its callers; a batch that joined loads the key again for its own.
   */
  ownersOnly = false;
  /** Invalidated or superseded while in flight: its result must not be written back. */
  poisoned = false;
  /**
   * Began before the invalidation bus lost contact (bus/bus.ts): it may have missed an invalidation, so
   * its result fills no in-process tier; its remote write-back, fenced in the remote store, still goes.
   */
  outOfSync = false;
  /** In its register (Flights): opened and not landed, poisoned away or superseded since. */
  registered = false;
  private waiting: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    /** The requests waiting on the source call that answers this flight. */
    readonly audience: Audience | null,
  ) {}

  /** Resolves (never rejects) once the flight is settled. */
  settled(): Promise<void> {
    if (this.done) return SETTLED;
    this.waiting ??= new Promise<void>((wake) => {
      this.wake = wake;
    });
    return this.waiting;
  }

  /** Settles the flight with a value (the first settlement wins). */
  resolve(value: V): void {
    this.settle(false, value);
  }

  /** Settles the flight with a failure (the first settlement wins). */
  reject(error: unknown): void {
    this.settle(true, error);
  }

  private settle(failed: boolean, result: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failed = failed;
    this.result = result;
    this.wake?.();
  }
}

const SETTLED: Promise<void> = Promise.resolve();

export class Flights<V> {
  /** Flights other loads of the same key join. */
  private readonly joinable = new Map<string, Flight<V>>();
  /** Grace refreshes: superseded like other flights, but never joined (readers keep the stale value). */
  private readonly background = new Map<string, Flight<V>>();

  /** The flight of a key in the air, if any: a joinable one, or with `background` a grace refresh. */
  find(key: string, background = false): Flight<V> | undefined {
    return (background ? this.background : this.joinable).get(key);
  }

  isRefreshing(key: string): boolean {
    return this.background.has(key);
  }

  /**
   * Opens and registers a flight. One already registered for the key (a refresh's predecessor, or a flight
   * every waiter left) is superseded: poisoned, so that it never writes back what it read before the
   * fences that only reach registered flights.
   */
  open(
    key: string,
    audience: Audience | null,
    background: boolean,
    /** The flight registered for the key, when the caller just looked it up (find): saves a lookup. */
    registered?: Flight<V> | null,
  ): Flight<V> {
    const flight = new Flight<V>(audience);
    const register = background ? this.background : this.joinable;
    const previous = registered === undefined ? register.get(key) : registered;
    if (previous !== undefined && previous !== null) {
      previous.poisoned = true;
      previous.registered = false;
    }
    register.set(key, flight);
    flight.registered = true;
    return flight;
  }

  /** Unregisters a flight whose source answered (if it is still the registered one). */
  land(key: string, flight: Flight<V>): void {
    if (!flight.registered) return;
    flight.registered = false;
    if (this.joinable.get(key) === flight) this.joinable.delete(key);
    else if (this.background.get(key) === flight) this.background.delete(key);
  }

  /**
   * Marks every flight whose key starts with `prefix` out of sync (see Flight.outOfSync) and unregisters
   * it, so that later loads start their own.
   */
  desyncPrefix(prefix: string): void {
    this.unregisterPrefix(prefix, (flight) => {
      flight.outOfSync = true;
    });
  }

  /** Poisons the flights of a key: they finish for their callers but never write back. */
  poison(key: string): void {
    for (const register of [this.joinable, this.background]) {
      const flight = register.get(key);
      if (flight !== undefined) {
        flight.poisoned = true;
        flight.registered = false;
        register.delete(key);
      }
    }
  }

  /** Poisons every flight whose key starts with `prefix` (a whole scope). */
  poisonPrefix(prefix: string): void {
    this.unregisterPrefix(prefix, (flight) => {
      flight.poisoned = true;
    });
  }

  /** Marks and unregisters every flight (joinable or background) whose key starts with `prefix`. */
  private unregisterPrefix(prefix: string, mark: (flight: Flight<V>) => void): void {
    for (const register of [this.joinable, this.background]) {
      for (const [key, flight] of register) {
        if (!key.startsWith(prefix)) continue;
        mark(flight);
        flight.registered = false;
        register.delete(key);
      }
    }
  }
}

/** What a batch claimed: one flight per key (joined or its own), and those it owns beside their keys. */
export interface Claim<V, T> {
  readonly each: Flight<V>[];
  readonly owned: T[];
  readonly flights: Flight<V>[];
  /** The requests waiting on the owned flights' source call (null when it owns none). */
  readonly audience: Audience | null;
  /** Keys that joined flights other batches own. */
  readonly joins: number;
}

/**
 * Joins or opens the flights of a batch's keys, synchronously (concurrent batches see each other).
 * `join` false (refreshes) never joins: it opens flights that replace the registered ones.
 */
export function claimFlights<V, T extends { readonly address: { readonly remoteKey: string } }>(
  register: Flights<V>,
  items: readonly T[],
  join: boolean,
  background: boolean,
  info: BatchLoadContext | undefined,
): Claim<V, T> {
  const each = new Array<Flight<V>>(items.length);
  const owned: T[] = [];
  const flights: Flight<V>[] = [];
  let audience: Audience | null = null;
  let joins = 0;
  const joined = new Set<Audience>();
  for (let p = 0; p < items.length; p++) {
    const remoteKey = items[p]!.address.remoteKey;
    const registered = register.find(remoteKey, background);
    let existing = registered;
    // A flight whose every waiter has gone is winding down with an aborted signal: never join it.
    if (existing?.audience?.aborted === true) existing = undefined;
    // A key twice in this batch shares the flight its first copy opened (a second flight would replace
    // the first in the register, and the first would then escape invalidation fences).
    if (existing !== undefined && audience !== null && existing.audience === audience) {
      each[p] = existing;
      continue;
    }
    if (existing !== undefined && join) {
      each[p] = existing;
      // The source call goes on while any request waits on it (see Audience).
      if (existing.audience !== null && !joined.has(existing.audience)) {
        joined.add(existing.audience);
        existing.audience.attend(info);
      }
      joins++;
      continue;
    }
    if (audience === null) {
      audience = new Audience(info?.reason ?? 'schedule');
      audience.attend(info);
    }
    const flight = register.open(remoteKey, audience, background, registered ?? null);
    each[p] = flight;
    owned.push(items[p]!);
    flights.push(flight);
  }
  return { each, owned, flights, audience, joins };
}
