import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../../src/cache/remote/codec.js';

const envelope = (value: unknown) => ({ key: 'k', generation: 'g1', freshUntil: 10, staleUntil: 20, value });

describe('the remote codec', () => {
  it('round-trips plain data exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = encodeEntry(envelope(value));
        if (typeof text !== 'string') return; // -0 inside jsonValue is refused
        expect(decodeEntry(text, 'k', 'g1')).toEqual(envelope(value));
      }),
    );
  });

  it('refuses what JSON would not give back exactly', () => {
    for (const value of [
      new Date(0),
      new Map(),
      -0,
      new Array(3),
      { a: undefined },
      Number.NaN,
      1n,
      () => 1,
    ]) {
      expect(encodeEntry(envelope(value))).toMatchObject({ refused: expect.any(String) });
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(encodeEntry(envelope(cyclic))).toMatchObject({ refused: expect.any(String) });
    expect(encodeEntry(envelope('x'.repeat(600_000)))).toMatchObject({
      refused: expect.stringMatching(/larger/),
    });
  });

  it('an entry for another key or generation, a foreign or corrupt value, is a miss', () => {
    const text = encodeEntry(envelope({ a: 1 })) as string;
    expect(decodeEntry(text, 'other', 'g1')).toEqual({ miss: 'other-key' });
    expect(decodeEntry(text, 'k', 'g2')).toEqual({ miss: 'other-generation' });
    for (const foreign of ['hello', '', null, 42, {}])
      expect(decodeEntry(foreign, 'k', 'g1')).toEqual({ miss: 'foreign' });
    for (const corrupt of ['lk0:', 'lk0:{', 'lk0:[1,2]', 'lk0:["k","g1",20,10,1]', 'lk0:["k","g1",null,1,1]'])
      expect(decodeEntry(corrupt, 'k', 'g1')).toEqual({ miss: 'corrupt' });
  });

  it('never throws and never pollutes prototypes, whatever it reads', () => {
    const decoded = decodeEntry('lk0:["k","g1",1,2,{"__proto__":{"polluted":1}}]', 'k', 'g1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn((decoded as { value: object }).value, '__proto__')).toBe(true);
    fc.assert(
      fc.property(fc.string(), (tail) => {
        expect(() => decodeEntry(`lk0:${tail}`, 'k', 'g1')).not.toThrow();
      }),
    );
  });
});
