import { expect, it, describe as suite } from 'vitest';
import { describe } from '../src/errors.js';

suite('describe(value): a bounded rendering for error messages', () => {
  it('renders small values as before: strings quoted, JSON for plain data, names for functions', () => {
    expect(describe('load')).toBe('"load"');
    expect(describe(42)).toBe('42');
    expect(describe(null)).toBe('null');
    expect(describe(undefined)).toBe('undefined');
    expect(describe(3n)).toBe('3n');
    expect(describe({ load: true })).toBe('{"load":true}');
    expect(describe({ first: 'x', n: [1, 2] })).toBe('{"first":"x","n":[1,2]}');
    expect(describe([])).toBe('[]');
    expect(describe({})).toBe('{}');
    expect(describe(function named() {})).toBe('[function named]');
    expect(describe(new Map([[1, 2]]))).toBe('Map(1)');
    expect(describe(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });

  it('bounds the output of a huge string, array, object and Buffer to the limit', () => {
    const huge: unknown[] = [
      'x'.repeat(10_000_000),
      new Array(5_000_000).fill(7),
      Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])),
      Buffer.alloc(64 * 1024 * 1024, 1),
    ];
    for (const value of huge) {
      const text = describe(value);
      expect(text.length).toBeLessThanOrEqual(200);
      expect(text).toContain('...');
    }
    expect(describe(new Array(5_000_000).fill(7))).toBe('[7,7,7,7,7,7,7,7,7,7,... 5000000 items]');
    expect(describe(Buffer.from([1, 2, 3]))).toBe('Buffer(3) [1,2,3]');
    expect(describe(new Uint8Array(2))).toBe('Uint8Array(2) [0,0]');
    expect(describe('y'.repeat(1000), 20)).toHaveLength(20);
  });

  it('reads no more of an array than it shows: an array-like of length 2**32 - 1 answers at once', () => {
    const arrayLike = { length: 2 ** 32 - 1, 0: 1, [2 ** 32 - 2]: 2 };
    const sparse: unknown[] = [];
    sparse[2 ** 32 - 2] = 1;
    expect(describe(arrayLike)).toMatch(/^\{"0":1,/);
    expect(describe(sparse).length).toBeLessThanOrEqual(200);
  });

  it('renders cycles, deep nesting and throwing getters without throwing', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(describe(cycle)).toBe('{"a":1,"self":[Circular]}');
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(describe(deep).length).toBeLessThanOrEqual(200);
    const hostile = {
      get boom(): never {
        throw new Error('no');
      },
    };
    expect(describe(hostile)).toBe('[object Object]');
  });
});

suite('describe never throws and never runs user code that could', () => {
  it('renders proxies that throw, revoked proxies and throwing getters', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(describe(proxy)).toBe('[unreadable value]');
    const trapping = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(() => describe(trapping)).not.toThrow();
    const getters = {
      get [Symbol.toStringTag]() {
        throw new Error('tag');
      },
      get x() {
        throw new Error('x');
      },
    };
    expect(describe(getters)).toBe('[unreadable value]');
  });

  it('does not call toJSON (a Date is still rendered as its ISO string)', () => {
    let called = 0;
    const value = {
      id: 1,
      toJSON() {
        called++;
        return Array.from({ length: 1000 }, () => 'x');
      },
    };
    expect(describe(value)).toBe('{"id":1,"toJSON":[function toJSON]}');
    expect(called).toBe(0);
    expect(describe(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });

  it('renders own keys only, and bounds a huge key name', () => {
    const proto: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) proto[`k${i}`] = i;
    expect(describe(Object.create(proto))).toBe('{}');
    const text = describe({ ['k'.repeat(1_000_000)]: 1 });
    expect(text.length).toBe(200);
    expect(text.startsWith('{"kkk')).toBe(true);
  });

  it('bounds a huge primitive too', () => {
    const text = describe(10n ** 20000n);
    expect(text.length).toBe(200);
    expect(text.endsWith('...')).toBe(true);
  });

  it('renders primitives as they are', () => {
    expect(describe(123456)).toBe('123456');
    expect(describe(10n)).toBe('10n');
    expect(describe(undefined)).toBe('undefined');
    expect(describe(Symbol('s'))).toBe('Symbol(s)');
    expect(describe(() => 1)).toBe('[function (anonymous)]');
  });
});
