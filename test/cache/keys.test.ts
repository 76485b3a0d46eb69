import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeScalarKey, encodeKey, type KeySpace, sharedKey } from '../../src/cache/keys.js';

/** Deep equality where object key order does not matter and -0 equals 0 (as Map keys do). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A deep copy whose objects list their keys in another (reversed or rotated) order. */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => reorder(item, seed + 1));
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  const order =
    seed % 2 === 0
      ? [...keys].reverse()
      : [...keys.slice(seed % (keys.length || 1)), ...keys.slice(0, seed % (keys.length || 1))];
  const out: Record<string, unknown> = {};
  for (const k of order) {
    Object.defineProperty(out, k, {
      value: reorder((value as Record<string, unknown>)[k], seed + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

// A small alphabet, so independently drawn values are often equal or nearly equal.
const atom = fc.constantFrom<unknown>(
  0,
  1,
  -1,
  1.5,
  '',
  '0',
  '1',
  'a',
  'null',
  'true',
  '"a"',
  'a:b',
  null,
  true,
  false,
);
const smallJson = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '1', 'a:b'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('encodeKey', () => {
  it('is independent of object key order, at every depth', () => {
    expect(encodeKey({ a: 1, b: 2 })).toBe(encodeKey({ b: 2, a: 1 }));
    expect(encodeKey({ x: { c: [1, { e: 1, d: 2 }], b: null }, y: 'z' })).toBe(
      encodeKey({ y: 'z', x: { b: null, c: [1, { d: 2, e: 1 }] } }),
    );
  });

  it('keeps array order significant', () => {
    expect(encodeKey([1, 2])).not.toBe(encodeKey([2, 1]));
  });

  it('does not let separators inside strings collide', () => {
    expect(encodeKey(['a:b', 'c'])).not.toBe(encodeKey(['a', 'b:c']));
    expect(encodeKey(['a,b'])).not.toBe(encodeKey(['a', 'b']));
    expect(encodeKey(['a|b', 'c'])).not.toBe(encodeKey(['a', 'b|c']));
    expect(encodeKey({ 'a:b': 'c' })).not.toBe(encodeKey({ a: 'b:c' }));
    expect(encodeKey({ a: '1', b: '2' })).not.toBe(encodeKey({ 'a":"1","b': '2' }));
    expect(encodeKey('[1]')).not.toBe(encodeKey([1]));
    expect(encodeKey('{}')).not.toBe(encodeKey({}));
  });

  it('tells numbers, strings, booleans, bigints, null, NaN and undefined apart', () => {
    const keys = [
      1,
      '1',
      1n,
      '1n',
      true,
      'true',
      null,
      'null',
      Number.NaN,
      'NaN',
      undefined,
      'undefined',
      Infinity,
      'Infinity',
      -Infinity,
    ];
    const encoded = keys.map((key) => encodeKey(key));
    expect(new Set(encoded).size).toBe(keys.length);
  });

  it('treats -0 like 0 (as the memo Map does)', () => {
    expect(encodeKey(-0)).toBe(encodeKey(0));
    expect(encodeKey([-0])).toBe(encodeKey([0]));
  });

  it('keeps undefined properties distinct from absent ones', () => {
    expect(encodeKey({ a: 1, b: undefined })).not.toBe(encodeKey({ a: 1 }));
    expect(encodeKey([undefined])).not.toBe(encodeKey([]));
    expect(encodeKey([undefined])).not.toBe(encodeKey([null]));
  });

  it('encodes Dates by their instant', () => {
    expect(encodeKey(new Date(0))).toBe(encodeKey(new Date('1970-01-01T00:00:00.000Z')));
    expect(encodeKey(new Date(0))).not.toBe(encodeKey(new Date(1)));
    expect(encodeKey(new Date(0))).not.toBe(encodeKey(new Date(0).toISOString()));
    expect(encodeKey(new Date(0))).not.toBe(encodeKey(0));
    expect(encodeKey({ at: new Date(5) })).toBe(encodeKey({ at: new Date(5) }));
    expect(encodeKey(new Date(Number.NaN))).toBe(encodeKey(new Date(Number.NaN)));
    expect(encodeKey(new Date(Number.NaN))).not.toBe(encodeKey(new Date(0)));
  });

  it('accepts null-prototype objects like plain ones', () => {
    const bare = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    expect(encodeKey(bare)).toBe(encodeKey({ a: 1, b: 2 }));
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { id: 1 };
    expect(encodeKey([shared, shared])).toBe(encodeKey([{ id: 1 }, { id: 1 }]));
  });

  describe('refuses what cannot be a key, with a TypeError that echoes the key', () => {
    it('functions', () => {
      expect(() => encodeKey({ id: 'fn-key', f: () => 1 })).toThrow(TypeError);
      expect(() => encodeKey({ id: 'fn-key', f: () => 1 })).toThrow(/fn-key/);
      expect(() => encodeKey(function named() {})).toThrow(/function named/);
    });

    it('symbols', () => {
      expect(() => encodeKey(['sym-key', Symbol('s')])).toThrow(TypeError);
      expect(() => encodeKey(['sym-key', Symbol('s')])).toThrow(/sym-key/);
    });

    it('class instances, naming the class', () => {
      class UserId {
        constructor(readonly id: string) {}
      }
      expect(() => encodeKey({ who: new UserId('class-key') })).toThrow(TypeError);
      expect(() => encodeKey({ who: new UserId('class-key') })).toThrow(/UserId/);
      expect(() => encodeKey({ who: new UserId('class-key') })).toThrow(/class-key/);
      expect(() => encodeKey(new Map([[1, 2]]))).toThrow(/Map/);
    });

    it('cycles', () => {
      const cyclic: Record<string, unknown> = { id: 'cycle-key' };
      cyclic.self = cyclic;
      expect(() => encodeKey(cyclic)).toThrow(TypeError);
      expect(() => encodeKey(cyclic)).toThrow(/cycle/);
      const list: unknown[] = ['list-key'];
      list.push(list);
      expect(() => encodeKey(list)).toThrow(/cycle/);
    });
  });

  it('property: the same value with its object keys in any order encodes the same', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), (value, seed) => {
        expect(encodeKey(reorder(value, seed))).toBe(encodeKey(value));
      }),
      { numRuns: 300 },
    );
  });

  it('property: encodeKey(a) === encodeKey(b) iff a and b are deep-equal modulo key order', () => {
    fc.assert(
      fc.property(smallJson, smallJson, fc.nat(), (a, b, seed) => {
        expect(encodeKey(a) === encodeKey(b)).toBe(deepEqual(a, b));
        // b reordered is still the same key as b.
        expect(encodeKey(a) === encodeKey(reorder(b, seed))).toBe(deepEqual(a, b));
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: on arbitrary JSON values (full unicode strings), equal encodings mean deep-equal values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (a, b) => {
        expect(encodeKey(a) === encodeKey(b)).toBe(deepEqual(a, b));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }),
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }),
        (a, b) => {
          expect(encodeKey(a) === encodeKey(b)).toBe(deepEqual(a, b));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('sharedKey', () => {
  const space: KeySpace = { prefix: 'loaderkit', loader: 'users', version: '1' };

  it('puts every part in the key', () => {
    const base = sharedKey(space, 'sacme', encodeKey(1));
    expect(sharedKey({ ...space, prefix: 'other' }, 'sacme', encodeKey(1))).not.toBe(base);
    expect(sharedKey({ ...space, loader: 'posts' }, 'sacme', encodeKey(1))).not.toBe(base);
    expect(sharedKey({ ...space, version: '2' }, 'sacme', encodeKey(1))).not.toBe(base);
    expect(sharedKey(space, 'sother', encodeKey(1))).not.toBe(base);
    expect(sharedKey(space, 'sacme', encodeKey(2))).not.toBe(base);
    expect(sharedKey(space, 'sacme', encodeKey(1))).toBe(base);
  });

  it('does not let a separator move between parts', () => {
    expect(sharedKey({ prefix: 'a|b', loader: 'c', version: '1' }, 'g', 'k')).not.toBe(
      sharedKey({ prefix: 'a', loader: 'b|c', version: '1' }, 'g', 'k'),
    );
    expect(sharedKey(space, 's1', '2k')).not.toBe(sharedKey(space, 's12', 'k'));
    expect(sharedKey(space, '2:ab', 'k')).not.toBe(sharedKey(space, '2', 'ab|k'));
  });

  // Strings made of separators and digits, the characters an ambiguous format would trip on.
  const part = fc.string({
    unit: fc.constantFrom('|', ':', '0', '1', '2', '9', 'a', '"', ' '),
    maxLength: 6,
  });
  const tuple = fc.record({
    prefix: part,
    loader: part,
    version: part,
    scope: part,
    key: part,
  });
  type Tuple = typeof tuple extends fc.Arbitrary<infer T> ? T : never;
  const build = (t: Tuple) =>
    sharedKey({ prefix: t.prefix, loader: t.loader, version: t.version }, t.scope, t.key);
  const same = (a: Tuple, b: Tuple) =>
    a.prefix === b.prefix &&
    a.loader === b.loader &&
    a.version === b.version &&
    a.scope === b.scope &&
    a.key === b.key;

  it('property: distinct (prefix, loader, version, scope, key) tuples never give the same string', () => {
    fc.assert(
      fc.property(tuple, tuple, (a, b) => {
        expect(build(a) === build(b)).toBe(same(a, b));
      }),
      { numRuns: 5_000 },
    );
  });

  it('property: a tuple and a neighbour with one character moved across a boundary never collide', () => {
    const fields = ['prefix', 'loader', 'version', 'scope', 'key'] as const;
    fc.assert(
      fc.property(tuple, fc.nat({ max: 3 }), (t, f) => {
        const from = fields[f]!;
        const to = fields[f + 1]!;
        if (t[from].length === 0) return;
        const moved: Tuple = { ...t, [from]: t[from].slice(0, -1), [to]: t[from].slice(-1) + t[to] };
        expect(build(moved)).not.toBe(build(t));
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: many random tuples give as many distinct strings as distinct tuples', () => {
    fc.assert(
      fc.property(fc.array(tuple, { minLength: 50, maxLength: 200 }), (tuples) => {
        const distinctTuples = new Set(tuples.map((t) => JSON.stringify(t)));
        const distinctKeys = new Set(tuples.map(build));
        expect(distinctKeys.size).toBe(distinctTuples.size);
      }),
      { numRuns: 100 },
    );
  });
});

describe('encodeKey refuses what it cannot encode faithfully (issue #10: such keys collided)', () => {
  const tag = Symbol('tenant');
  const withSymbol = { id: 1, [tag]: 'acme' };
  const withHidden = Object.defineProperty({ id: 1 }, 'tenant', { value: 'acme', enumerable: false });
  const withExtra = Object.assign([1, 2], { tenant: 'acme' });
  const withHole: unknown[] = [];
  withHole[1] = 1; // [ <hole>, 1 ]
  class Ids extends Array<number> {}
  const subArray = Ids.from([1, 2]);
  const dateWithExtra = Object.assign(new Date(0), { tenant: 'acme' });
  class Stamp extends Date {}

  it('a key with a symbol-keyed property, naming the problem and echoing the key', () => {
    expect(() => encodeKey(withSymbol)).toThrow(TypeError);
    expect(() => encodeKey(withSymbol)).toThrow(
      /must be plain data: .*symbol-keyed property Symbol\(tenant\)/,
    );
    expect(() => encodeKey({ nested: withSymbol })).toThrow(/symbol-keyed/);
    // Its twin without the property is still a key.
    expect(encodeKey({ id: 1 })).toBe('{"id":1}');
  });

  it('a key with a non-enumerable property', () => {
    expect(() => encodeKey(withHidden)).toThrow(TypeError);
    expect(() => encodeKey(withHidden)).toThrow(/must be plain data: .*non-enumerable property "tenant"/);
    expect(() => encodeKey([withHidden])).toThrow(/non-enumerable/);
  });

  it('an array with a non-index property (a hole is encoded, apart from undefined and from a shorter array)', () => {
    expect(() => encodeKey(withExtra)).toThrow(TypeError);
    expect(() => encodeKey(withExtra)).toThrow(
      /must be plain data: .*array has a non-index property "tenant"/,
    );
    expect(() => encodeKey({ ids: withExtra })).toThrow(/non-index property/);
    expect(encodeKey(withHole)).not.toBe(encodeKey([undefined, 1]));
    expect(encodeKey(withHole)).toBe(encodeKey(Object.assign([], { 1: 1 })));
    // Before, a trailing hole vanished: [<hole>] encoded as [].
    expect(encodeKey(new Array(1))).not.toBe(encodeKey([]));
    expect(encodeKey(new Array(2))).not.toBe(encodeKey(new Array(1)));
    expect(encodeKey([undefined, 1])).toBe('[undefined,1]');
  });

  it('an Array or Date subclass, and a Date with properties of its own', () => {
    expect(() => encodeKey(subArray)).toThrow(/must be plain data: .*Ids/);
    expect(() => encodeKey(dateWithExtra)).toThrow(/must be plain data: .*Date has an own property "tenant"/);
    expect(() => encodeKey(new Stamp(0))).toThrow(/must be plain data: .*Stamp/);
    expect(encodeKey(new Date(0))).toBe('D1970-01-01T00:00:00.000Z');
  });

  it('so no two such keys encode alike any more (they used to: a collision within a scope)', () => {
    const collided: Array<[unknown, unknown]> = [
      [withSymbol, { id: 1, [tag]: 'globex' }],
      [withHidden, Object.defineProperty({ id: 1 }, 'tenant', { value: 'globex', enumerable: false })],
      [withExtra, Object.assign([1, 2], { tenant: 'globex' })],
      [subArray, [1, 2]],
      [dateWithExtra, new Date(0)],
    ];
    for (const [a, b] of collided) {
      // Today's code encoded each pair alike; now the first of each pair is refused.
      const sameKey = () => {
        try {
          return encodeKey(a) === encodeKey(b);
        } catch {
          return false;
        }
      };
      expect(sameKey()).toBe(false);
      expect(() => encodeKey(a)).toThrow(TypeError);
    }
  });
});

describe('decodeScalarKey: the scalar an encoding stands for (invalidation messages carry encodings)', () => {
  const sameValueZero = (a: unknown, b: unknown) =>
    a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));

  it('inverts encodeKey for every scalar', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.double(),
          fc.integer(),
          fc.bigInt(),
          fc.constantFrom(true, false, null, undefined, Number.NaN, -0, 1e21, Number.MIN_VALUE),
        ),
        (key) => {
          const decoded = decodeScalarKey(encodeKey(key));
          expect(decoded).toBeDefined();
          expect(sameValueZero(decoded!.value, key)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is undefined for the encodings of object keys and for texts no scalar encodes to', () => {
    for (const key of [{}, [], [1], { a: 1 }, new Date(0)])
      expect(decodeScalarKey(encodeKey(key))).toBeUndefined();
    for (const text of [
      '',
      ' 1',
      '1.0',
      '0x1',
      '01',
      '+1',
      '"a',
      "'a'",
      '"\\u0061"',
      '1n ',
      'n',
      '-n',
      '1.5n',
      'True',
    ])
      expect(decodeScalarKey(text)).toBeUndefined();
  });
});
