/**
 * The flight register (src/cache/flights.ts): flights by scope (remote entry prefix) and key encoding.
 * The shared tier's tests cover single-flight end to end; these pin the register's own rules.
 */
import { describe, expect, it } from 'vitest';
import { Flights } from '../../src/cache/flights.js';

const at = (prefix: string, encoded: string) => ({ prefix, encoded });
/** How many scopes a register keeps (private: what the memory bound is about). */
const scopesKept = (flights: Flights<unknown>) =>
  (flights as unknown as { joinable: { scopes: Map<string, unknown> } }).joinable.scopes.size +
  (flights as unknown as { background: { scopes: Map<string, unknown> } }).background.scopes.size;

describe('Flights', () => {
  it('one key encoding in two scopes is two keys; landing one leaves the other', () => {
    const flights = new Flights<unknown>();
    const a = flights.open(at('base:a:k', '1'), null, false);
    const b = flights.open(at('base:b:k', '1'), null, false);
    expect(flights.find(at('base:a:k', '1'))).toBe(a);
    expect(flights.find(at('base:b:k', '1'))).toBe(b);
    flights.land(at('base:a:k', '1'), a);
    expect(flights.find(at('base:a:k', '1'))).toBeUndefined();
    expect(flights.find(at('base:b:k', '1'))).toBe(b);
  });

  it('a superseded flight landing late does not unregister the one that replaced it', () => {
    const flights = new Flights<unknown>();
    const old = flights.open(at('s', '1'), null, false);
    const next = flights.open(at('s', '1'), null, false);
    expect(old.poisoned).toBe(true);
    flights.land(at('s', '1'), old);
    expect(flights.find(at('s', '1'))).toBe(next);
    expect(next.poisoned).toBe(false);
  });

  it('joinable flights and grace refreshes are apart: a refresh is never found for joining', () => {
    const flights = new Flights<unknown>();
    const refresh = flights.open(at('s', '1'), null, true);
    expect(flights.find(at('s', '1'))).toBeUndefined();
    expect(flights.find(at('s', '1'), true)).toBe(refresh);
    expect(flights.isRefreshing(at('s', '1'))).toBe(true);
    flights.land(at('s', '1'), refresh);
    expect(flights.isRefreshing(at('s', '1'))).toBe(false);
  });

  it('poison takes a key out of both registers, poisoned; other keys of the scope stay', () => {
    const flights = new Flights<unknown>();
    const joinable = flights.open(at('s', '1'), null, false);
    const refresh = flights.open(at('s', '1'), null, true);
    const other = flights.open(at('s', '2'), null, false);
    flights.poison(at('s', '1'));
    expect([joinable.poisoned, refresh.poisoned, other.poisoned]).toEqual([true, true, false]);
    expect([joinable.registered, refresh.registered, other.registered]).toEqual([false, false, true]);
    expect(flights.find(at('s', '1'))).toBeUndefined();
    expect(flights.find(at('s', '2'))).toBe(other);
  });

  it('poisonScope poisons exactly one scope (not a scope whose prefix starts with it)', () => {
    const flights = new Flights<unknown>();
    const inScope = [flights.open(at('1:a', '1'), null, false), flights.open(at('1:a', '2'), null, true)];
    const longer = flights.open(at('1:ab', '1'), null, false);
    flights.poisonScope('1:a');
    expect(inScope.map((flight) => [flight.poisoned, flight.registered])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect([longer.poisoned, longer.registered]).toEqual([false, true]);
    expect(flights.find(at('1:ab', '1'))).toBe(longer);
  });

  it('desyncPrefix marks every scope under a loader base out of sync and unregisters them; others stay', () => {
    const flights = new Flights<unknown>();
    const mine = [flights.open(at('L1:a', '1'), null, false), flights.open(at('L1:b', '1'), null, true)];
    const theirs = flights.open(at('L2:a', '1'), null, false);
    flights.desyncPrefix('L1:');
    expect(mine.map((flight) => [flight.outOfSync, flight.registered, flight.poisoned])).toEqual([
      [true, false, false],
      [true, false, false],
    ]);
    expect([theirs.outOfSync, theirs.registered]).toEqual([false, true]);
    expect(flights.find(at('L1:a', '1'))).toBeUndefined();
  });

  it('keeps nothing for a scope once its last flight is gone (landed, poisoned or its scope dropped)', () => {
    const flights = new Flights<unknown>();
    const keys = Array.from({ length: 50 }, (_, i) => at(`scope${i}`, String(i)));
    const opened = keys.map((key) => flights.open(key, null, false));
    expect(scopesKept(flights)).toBe(50);
    keys.forEach((key, i) => {
      if (i % 3 === 0) flights.land(key, opened[i]!);
      else if (i % 3 === 1) flights.poison(key);
      else flights.poisonScope(key.prefix);
    });
    expect(scopesKept(flights)).toBe(0);
    // And the scope looked up last is found again after it went and came back.
    const again = flights.open(keys[49]!, null, false);
    expect(flights.find(keys[49]!)).toBe(again);
    expect(scopesKept(flights)).toBe(1);
  });
});
