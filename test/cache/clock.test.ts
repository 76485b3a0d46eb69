import { afterEach, describe, expect, it, vi } from 'vitest';
import { COARSE_CLOCK_READS, coarseClock } from '../../src/cache/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('coarseClock', () => {
  it('shares one Date.now() among reads of one stretch, and re-reads after the microtasks queued so far (issue #10)', async () => {
    let time = 1_000;
    const dateNow = vi.spyOn(Date, 'now').mockImplementation(() => time);
    const now = coarseClock();
    expect(now()).toBe(1_000);
    time = 1_100; // 100 ms pass inside one synchronous stretch
    expect(now()).toBe(1_000);
    expect(dateNow).toHaveBeenCalledTimes(1);
    await Promise.resolve();
    // The microtask queued at the first read has run: the next read is exact again.
    expect(now()).toBe(1_100);
    expect(dateNow).toHaveBeenCalledTimes(2);
  });

  it(`re-reads Date.now() after ${COARSE_CLOCK_READS} reads even within one stretch`, () => {
    let time = 5_000;
    const dateNow = vi.spyOn(Date, 'now').mockImplementation(() => time);
    const now = coarseClock();
    now();
    time = 5_020;
    for (let i = 0; i < COARSE_CLOCK_READS; i++) expect(now()).toBe(5_000);
    expect(now()).toBe(5_020);
    expect(dateNow).toHaveBeenCalledTimes(2);
  });

  it('arms no timer at all (nothing to unref, nothing left pending where setTimeout returns a number)', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const now = coarseClock();
    for (let i = 0; i < 1_000; i++) now();
    expect(setTimeoutSpy).not.toHaveBeenCalled();
  });
});

describe('coarseClock(source)', () => {
  it('reads its source once per stretch of JavaScript (and per 256 reads), also when the source says 0', async () => {
    let reads = 0;
    let value = 0;
    const clock = coarseClock(() => {
      reads++;
      return value;
    });
    expect([clock(), clock(), clock()]).toEqual([0, 0, 0]);
    expect(reads).toBe(1);
    value = 5;
    await Promise.resolve();
    expect(clock()).toBe(5);
    expect(reads).toBe(2);
    for (let i = 0; i < 300; i++) clock();
    expect(reads).toBe(3);
  });
});
