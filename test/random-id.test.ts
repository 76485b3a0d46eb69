import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomId } from '../src/random-id.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('randomId', () => {
  it("is Web Crypto's randomUUID where there is one", () => {
    expect(randomId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(Array.from({ length: 1000 }, randomId)).size).toBe(1000);
  });

  it('falls back to 128 random bits from getRandomValues (a browser page that is not a secure context)', () => {
    const getRandomValues = vi.fn((bytes: Uint8Array) => bytes.fill(0xab));
    vi.stubGlobal('crypto', { getRandomValues });
    expect(randomId()).toBe('ab'.repeat(16));
    expect(getRandomValues).toHaveBeenCalledTimes(1);
  });

  it('and to Math.random without any crypto', () => {
    vi.stubGlobal('crypto', undefined);
    const ids = Array.from({ length: 100 }, randomId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(100);
  });
});
