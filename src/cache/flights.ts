/**
 * Single-flight: one source load per shared key at a time, which concurrent batches join. Flights are
 * keyed by scope and key encoding (namespace.ts) and registered synchronously, before any await, so batches see each
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

/** Where a flight is registered: its scope's remote entry prefix and its key's encoding (namespace.ts). */
export interface FlightKey {
  readonly prefix: string;
  readonly encoded: string;
}

/**
 * Flights by scope (remote entry prefix), then by key encoding: a lookup hashes the key's short
 * encoding, not its whole remote key, and a scope's flights go in one step. A scope leaves the register
 * with its last flight, so nothing is kept for a scope with none in the air.
 */
class Register<V> {
  private readonly scopes = new Map<string, Map<string, Flight<V>>>();
  /** The scope looked up last and its flights (a batch asks for one scope's keys in a row). */
  private lastPrefix: string | null = null;
  private lastFlights: Map<string, Flight<V>> | undefined = undefined;

  private flightsOf(prefix: string): Map<string, Flight<V>> | undefined {
    if (prefix === this.lastPrefix) return this.lastFlights;
    const flights = this.scopes.get(prefix);
    this.lastPrefix = prefix;
    this.lastFlights = flights;
    return flights;
  }

  get(at: FlightKey): Flight<V> | undefined {
    return this.flightsOf(at.prefix)?.get(at.encoded);
  }

  set(at: FlightKey, flight: Flight<V>): void {
    let flights = this.flightsOf(at.prefix);
    if (flights === undefined) {
      flights = new Map();
      this.scopes.set(at.prefix, flights);
      this.lastPrefix = at.prefix;
      this.lastFlights = flights;
    }
    flights.set(at.encoded, flight);
  }

  /** Unregisters the flight at `at` (only `flight`, when given): the one that went, if any. */
  delete(at: FlightKey, flight?: Flight<V>): Flight<V> | undefined {
    const flights = this.flightsOf(at.prefix);
    const found = flights?.get(at.encoded);
    if (found === undefined || (flight !== undefined && found !== flight)) return undefined;
    flights!.delete(at.encoded);
    if (flights!.size === 0) this.dropScope(at.prefix);
    return found;
  }

  /** Unregisters every flight of one scope, after `mark` saw each. */
  deleteScope(prefix: string, mark: (flight: Flight<V>) => void): void {
    const flights = this.scopes.get(prefix);
    if (flights === undefined) return;
    for (const flight of flights.values()) {
      mark(flight);
      flight.registered = false;
    }
    this.dropScope(prefix);
  }

  /** Unregisters every flight of the scopes whose prefix `matches`, after `mark` saw each. */
  deleteScopes(matches: (prefix: string) => boolean, mark: (flight: Flight<V>) => void): void {
    for (const prefix of [...this.scopes.keys()]) if (matches(prefix)) this.deleteScope(prefix, mark);
  }

  private dropScope(prefix: string): void {
    this.scopes.delete(prefix);
    if (this.lastPrefix === prefix) this.lastFlights = undefined;
  }
}

export class Flights<V> {
  /** Flights other loads of the same key join. */
  private readonly joinable = new Register<V>();
  /** Grace refreshes: superseded like other flights, but never joined (readers keep the stale value). */
  private readonly background = new Register<V>();

  /** The flight of a key in the air, if any: a joinable one, or with `background` a grace refresh. */
  find(at: FlightKey, background = false): Flight<V> | undefined {
    return (background ? this.background : this.joinable).get(at);
  }

  isRefreshing(at: FlightKey): boolean {
    return this.background.get(at) !== undefined;
  }

  /**
   * Opens and registers a flight. One already registered for the key (a refresh's predecessor, or a flight
   * every waiter left) is superseded: poisoned, so that it never writes back what it read before the
   * fences that only reach registered flights.
   */
  open(
    at: FlightKey,
    audience: Audience | null,
    background: boolean,
    /** The flight registered for the key, when the caller just looked it up (find): saves a lookup. */
    registered?: Flight<V> | null,
  ): Flight<V> {
    const flight = new Flight<V>(audience);
    const register = background ? this.background : this.joinable;
    const previous = registered === undefined ? register.get(at) : registered;
    if (previous !== undefined && previous !== null) {
      previous.poisoned = true;
      previous.registered = false;
    }
    register.set(at, flight);
    flight.registered = true;
    return flight;
  }

  /** Unregisters a flight whose source answered (if it is still the registered one). */
  land(at: FlightKey, flight: Flight<V>): void {
    if (!flight.registered) return;
    flight.registered = false;
    if (this.joinable.delete(at, flight) === undefined) this.background.delete(at, flight);
  }

  /**
   * Marks every flight of the scopes whose entry prefix starts with `prefix` (a loader's base: all its
   * scopes) out of sync (see Flight.outOfSync) and unregisters it, so that later loads start their own.
   */
  desyncPrefix(prefix: string): void {
    const matches = (scope: string) => scope.startsWith(prefix);
    const mark = (flight: Flight<V>) => {
      flight.outOfSync = true;
    };
    this.joinable.deleteScopes(matches, mark);
    this.background.deleteScopes(matches, mark);
  }

  /** Poisons the flights of a key: they finish for their callers but never write back. */
  poison(at: FlightKey): void {
    for (const register of [this.joinable, this.background]) {
      const flight = register.delete(at);
      if (flight !== undefined) {
        flight.poisoned = true;
        flight.registered = false;
      }
    }
  }

  /** Poisons every flight of one scope (by its remote entry prefix). */
  poisonScope(prefix: string): void {
    const mark = (flight: Flight<V>) => {
      flight.poisoned = true;
    };
    this.joinable.deleteScope(prefix, mark);
    this.background.deleteScope(prefix, mark);
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
export function claimFlights<V, T extends { readonly address: FlightKey }>(
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
    const at = items[p]!.address;
    const registered = register.find(at, background);
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
    const flight = register.open(at, audience, background, registered ?? null);
    each[p] = flight;
    owned.push(items[p]!);
    flights.push(flight);
  }
  return { each, owned, flights, audience, joins };
}
