import { describe, expect, it } from 'vitest';
import { coarseClock } from '../../src/cache/clock.js';

describe('coarseClock', () => {
  it('works where setTimeout returns a number (browsers, some edge runtimes)', () => {
    const timers: Array<() => void> = [];
    // A browser-like setTimeout: returns a numeric id, which has no unref.
    const setTimer = (fn: () => void, _ms: number): number => timers.push(fn);
    const now = coarseClock(setTimer);
    const first = now();
    expect(first).toBeGreaterThan(0);
    expect(now()).toBe(first); // reused until the timer clears it
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(now()).toBeGreaterThanOrEqual(first);
    expect(timers).toHaveLength(2);
  });

  it('works with a global setTimeout that returns a number', () => {
    const original = globalThis.setTimeout;
    const timers: Array<() => void> = [];
    globalThis.setTimeout = ((fn: () => void) => timers.push(fn)) as unknown as typeof setTimeout;
    try {
      const now = coarseClock();
      expect(now()).toBeGreaterThan(0);
      expect(timers).toHaveLength(1);
    } finally {
      globalThis.setTimeout = original;
    }
  });

  it("unrefs Node's timers, so the clock never keeps a process alive", () => {
    let unrefs = 0;
    const setTimer = (fn: () => void, ms: number) => {
      const timer = setTimeout(fn, ms);
      return {
        unref() {
          unrefs++;
          timer.unref();
        },
      };
    };
    coarseClock(setTimer)();
    expect(unrefs).toBe(1);
  });
});
