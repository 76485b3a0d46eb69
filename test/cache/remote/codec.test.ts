/**
 * The remote-entry codec: every kind it keeps comes back exactly, everything else is refused with a
 * short reason, and every way a stored string can fail to be our entry is a miss of its own kind.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_BYTES,
  type DecodeMiss,
  decodeEntry,
  type EncodeRefusal,
  type EntryEnvelope,
  encodeEntry,
  FORMAT_MARKER,
  MAX_DEPTH,
} from '../../../src/cache/remote/codec.js';

const KEY = 'lk:users:v1:global:42';
const GENERATION = 'g7';
const FRESH = 1_700_000_000_000;
const STALE = FRESH + 60_000;

function entry(value: unknown, more: Partial<EntryEnvelope> = {}): EntryEnvelope {
  return { key: KEY, generation: GENERATION, freshUntil: FRESH, staleUntil: STALE, value, ...more };
}

function encoded(value: unknown): string {
  const text = encodeEntry(entry(value));
  if (typeof text !== 'string') throw new Error(`refused: ${text.refused}`);
  return text;
}

function roundTrip(value: unknown): unknown {
  const text = encoded(value);
  const decoded = decodeEntry(text, KEY, GENERATION);
  if ('miss' in decoded) throw new Error(`miss: ${decoded.miss} ${decoded.detail ?? ''}`);
  expect(decoded).toEqual({
    key: KEY,
    generation: GENERATION,
    freshUntil: FRESH,
    staleUntil: STALE,
    value: decoded.value,
    frozen: decoded.frozen,
    textLength: text.length,
  });
  return decoded.value;
}

function refusal(value: unknown, options?: { maxBytes?: number }): string {
  const result = encodeEntry(entry(value), options);
  expect(typeof result).toBe('object');
  const reason = (result as EncodeRefusal).refused;
  expect(typeof reason).toBe('string');
  expect(reason.length).toBeLessThanOrEqual(80);
  return reason;
}

function miss(text: unknown, key = KEY, generation = GENERATION): DecodeMiss['miss'] {
  const result = decodeEntry(text, key, generation);
  expect(result).toHaveProperty('miss');
  return (result as DecodeMiss).miss;
}

/** The JSON body of an entry with `value` written as raw JSON text. */
const raw = (valueJson: string, key = KEY, generation = GENERATION, fresh = `${FRESH}`, stale = `${STALE}`) =>
  `${FORMAT_MARKER}[${JSON.stringify(key)},${JSON.stringify(generation)},${fresh},${stale},${valueJson}]`;

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
const cleanPrototypeKeys = prototypeKeys();
afterEach(() => {
  expect(prototypeKeys()).toEqual(cleanPrototypeKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('the format', () => {
  it('starts with the version marker and is JSON after it', () => {
    const text = encoded({ id: 1 });
    expect(text.startsWith('lk1:')).toBe(true);
    expect(JSON.parse(text.slice(4))).toEqual([KEY, GENERATION, FRESH, STALE, { id: 1 }]);
  });

  it('writes plain JSON data as itself', () => {
    const value = {
      id: 1,
      name: 'Ada',
      tags: ['x', 'y'],
      score: 1.5,
      ok: true,
      boss: null,
      nested: { a: [] },
    };
    expect(encoded(value)).toBe(FORMAT_MARKER + JSON.stringify([KEY, GENERATION, FRESH, STALE, value]));
  });

  it('keeps the envelope: key, generation, lifetimes, and null for a cached not-found', () => {
    const decoded = decodeEntry(encoded(null), KEY, GENERATION);
    expect(decoded).toEqual({
      key: KEY,
      generation: GENERATION,
      freshUntil: FRESH,
      staleUntil: STALE,
      value: null,
      frozen: true,
      textLength: encoded(null).length,
    });
    const sameInstant = encodeEntry(entry(1, { freshUntil: FRESH, staleUntil: FRESH })) as string;
    expect(decodeEntry(sameInstant, KEY, GENERATION)).toMatchObject({ freshUntil: FRESH, staleUntil: FRESH });
  });
});

describe('round trips', () => {
  it('primitives, including -0, NaN, the infinities and undefined', () => {
    for (const value of ['', 'text', 0, 42, -1.5, 5e-324, Number.MAX_VALUE, true, false, null]) {
      expect(Object.is(roundTrip(value), value)).toBe(true);
    }
    for (const value of [-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined]) {
      expect(Object.is(roundTrip(value), value)).toBe(true);
    }
    expect(Object.is((roundTrip({ z: -0 }) as { z: number }).z, -0)).toBe(true);
  });

  it('strings with any UTF-16, lone surrogates included, as values and keys', () => {
    const value = { 'é€😀': 'é€😀', '\ud800': 'a\udfffb', '\u0000\u2028': '"\\\n' };
    expect(isDeepStrictEqual(roundTrip(value), value)).toBe(true);
  });

  it('undefined as a property value and array element, distinct from absent and from a hole', () => {
    const object = roundTrip({ a: undefined, b: 1 }) as Record<string, unknown>;
    expect(Object.hasOwn(object, 'a')).toBe(true);
    expect(object.a).toBeUndefined();
    // biome-ignore lint/suspicious/noSparseArray: holes are the point
    const array = roundTrip([undefined, , 3, , ,]) as unknown[];
    expect(array).toHaveLength(5);
    expect([0, 1, 2, 3, 4].map((i) => Object.hasOwn(array, i))).toEqual([true, false, true, false, false]);
    expect(array[0]).toBeUndefined();
    expect(isDeepStrictEqual(roundTrip(new Array(3)), new Array(3))).toBe(true);
  });

  it('bigints of any size and sign', () => {
    for (const value of [0n, 1n, -1n, 255n, -(2n ** 64n), 2n ** 1000n + 7n])
      expect(roundTrip(value)).toBe(value);
  });

  it('Dates, valid at the extremes and invalid', () => {
    for (const time of [0, FRESH, -8.64e15, 8.64e15]) {
      const date = roundTrip(new Date(time)) as Date;
      expect(date).toBeInstanceOf(Date);
      expect(date.getTime()).toBe(time);
    }
    const invalid = roundTrip(new Date(Number.NaN)) as Date;
    expect(Object.getPrototypeOf(invalid)).toBe(Date.prototype);
    expect(Number.isNaN(invalid.getTime())).toBe(true);
  });

  it('Maps and Sets, with object keys and nested tags, in order', () => {
    const map = new Map<unknown, unknown>([
      [{ id: 1 }, new Set([1, 'a', undefined])],
      ['k', new Map([[2n, new Date(5)]])],
      [Number.NaN, -0],
    ]);
    expect(isDeepStrictEqual(roundTrip(map), map)).toBe(true);
    expect([...(roundTrip(map) as Map<unknown, unknown>).keys()][1]).toBe('k');
    const set = new Set([{ a: 1 }, [1, 2], 'x', null]);
    expect(isDeepStrictEqual(roundTrip(set), set)).toBe(true);
    expect(isDeepStrictEqual(roundTrip(new Map()), new Map())).toBe(true);
  });

  it('every typed array, ArrayBuffer and DataView, including views of part of a buffer', () => {
    const buffer = new ArrayBuffer(24);
    new Uint8Array(buffer).forEach((_, i, bytes) => {
      bytes[i] = i * 11;
    });
    const values: unknown[] = [
      new Uint8Array([0, 255]),
      new Int8Array([-128, 127]),
      new Uint8ClampedArray([0, 255]),
      new Uint16Array([65535]),
      new Int16Array([-32768]),
      new Uint32Array([2 ** 32 - 1]),
      new Int32Array([-(2 ** 31)]),
      new Float32Array([1.5, -0, Number.NaN]),
      new Float64Array([Math.PI, -0, Number.NEGATIVE_INFINITY]),
      new BigInt64Array([-(2n ** 63n)]),
      new BigUint64Array([2n ** 64n - 1n]),
      new Uint8Array(0),
      buffer,
      new ArrayBuffer(0),
      new DataView(buffer),
      new DataView(buffer, 3, 5),
      new Uint16Array(buffer, 8, 3),
      new Float64Array(buffer, 8, 2),
    ];
    for (const value of values) {
      const back = roundTrip(value);
      expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value));
      expect(isDeepStrictEqual(back, value)).toBe(true);
    }
    const part = roundTrip(new Uint16Array(buffer, 8, 3)) as Uint16Array;
    expect(part.byteOffset).toBe(0);
    expect(part.buffer.byteLength).toBe(6);
  });

  it('RegExps, which the in-process tier shares too', () => {
    for (const value of [/a+b?/gi, /[/\]]\u{1F600}/u, /x/dmsy, /(?:)/]) {
      const back = roundTrip(value) as RegExp;
      expect(back.source).toBe(value.source);
      expect(back.flags).toBe(value.flags);
    }
  });

  it('null-prototype objects keep their null prototype', () => {
    const value = Object.assign(Object.create(null), { a: 1, $: 'dollar', nested: Object.create(null) });
    const back = roundTrip(value) as object;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(Object.getPrototypeOf((back as { nested: object }).nested)).toBeNull();
    expect(isDeepStrictEqual(back, value)).toBe(true);
  });

  it('objects that look like tags are data', () => {
    for (const value of [
      { $: 'd', v: 5 },
      { $: 'u' },
      { $: 'h' },
      { $: 'o', v: { $: 'z', v: {} } },
      [{ $: 'n', v: 'NaN' }],
      { $: { $: 'b', v: '1' } },
      new Map([[{ $: 'm', v: [] }, { $: 's' }]]),
    ]) {
      expect(isDeepStrictEqual(roundTrip(value), value)).toBe(true);
    }
  });

  it('keys named __proto__, constructor and prototype stay plain data', () => {
    const value = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":3}',
    );
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(isDeepStrictEqual(back, value)).toBe(true);
    // Also where the value is copied (a sibling needs a tag) and under a `$` key.
    const tagged = JSON.parse('{"__proto__":{"polluted":1},"$":1,"later":null}');
    tagged.later = new Date(1);
    const again = roundTrip(tagged) as Record<string, unknown>;
    expect(Object.getPrototypeOf(again)).toBe(Object.prototype);
    expect(isDeepStrictEqual(again, tagged)).toBe(true);
  });

  it('a value shared by several parents (a DAG) is written by value, once per parent', () => {
    const shared = { id: 1, at: new Date(3) };
    const back = roundTrip({ a: shared, b: [shared, shared] }) as { a: object; b: object[] };
    expect(back.a).toEqual(shared);
    expect(back.b[0]).toEqual(shared);
    expect(back.a).not.toBe(back.b[0]);
  });

  it('values nested MAX_DEPTH levels deep', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i <= MAX_DEPTH; i++) value = i % 2 ? [value] : { v: value };
    expect(isDeepStrictEqual(roundTrip(value), value)).toBe(true);
  });

  it('keeps only own enumerable string keys and array elements, like structuredClone', () => {
    const object: Record<string | symbol, unknown> = { a: 1, [Symbol('s')]: 2 };
    Object.defineProperty(object, 'hidden', { value: 3, enumerable: false });
    expect(roundTrip(object)).toEqual({ a: 1 });
    const array = Object.assign([1, 2], { extra: 3 });
    expect(roundTrip(array)).toEqual([1, 2]);
    // A toJSON method the walk does not see is not called.
    const withToJson = { a: 1 };
    Object.defineProperty(withToJson, 'toJSON', { value: () => 'replaced', enumerable: false });
    expect(roundTrip(withToJson)).toEqual({ a: 1 });
    expect(roundTrip(Object.defineProperty([1], 'toJSON', { value: () => 'replaced' }))).toEqual([1]);
  });

  it('copies an array that needs a tag without calling a species constructor', () => {
    const array: unknown[] = [1, 2, undefined];
    Object.defineProperty(array, 'constructor', {
      value: {
        [Symbol.species]: () => {
          throw new Error('species');
        },
      },
    });
    expect(roundTrip(array)).toStrictEqual([1, 2, undefined]);
  });

  it('reads accessors of plain objects as values', () => {
    expect(
      roundTrip({
        get a() {
          return 1;
        },
      }),
    ).toEqual({ a: 1 });
  });
});

describe('refusals', () => {
  class User {
    constructor(readonly id: number) {}
  }
  class MyMap extends Map {}
  class MyArray extends Array {}
  class MyDate extends Date {}

  it('functions and symbols, anywhere', () => {
    expect(refusal(() => 1)).toBe('a function');
    expect(refusal({ a: [{ b: () => 1 }] })).toBe('a function');
    expect(refusal(Symbol('x'))).toBe('a symbol');
    expect(refusal(new Map([[Symbol.iterator, 1]]))).toBe('a symbol');
  });

  it('class instances, Buffer and subclasses of built-ins, with the class name', () => {
    expect(refusal(new User(1))).toBe('a class instance (User)');
    expect(refusal([{ user: new User(1) }])).toBe('a class instance (User)');
    expect(refusal(Buffer.from('x'))).toBe('a class instance (Buffer)');
    expect(refusal(new MyMap())).toBe('a class instance (MyMap)');
    expect(refusal(MyArray.from([1]))).toBe('a class instance (MyArray)');
    expect(refusal(new MyDate(0))).toBe('a class instance (MyDate)');
    for (const value of [
      new WeakMap(),
      Promise.resolve(1),
      new Error('x'),
      new String('boxed'),
      new SharedArrayBuffer(1),
      new URL('http://localhost/'),
      Object.create(Object.create(null)),
    ]) {
      expect(refusal(value)).toMatch(/^a class instance/);
    }
    const named = Object.create({ constructor: { name: 'x'.repeat(500) } });
    expect(refusal(named)).toBe('a class instance');
    const long = new (class {})();
    Object.defineProperty(Object.getPrototypeOf(long).constructor, 'name', { value: 'N'.repeat(500) });
    expect(refusal(long)).toBe(`a class instance (${'N'.repeat(40)})`);
  });

  it('cycles, through objects, arrays, Maps and Sets', () => {
    const object: Record<string, unknown> = { a: 1 };
    object.self = object;
    const array: unknown[] = [];
    array.push([array]);
    const map = new Map<unknown, unknown>();
    map.set('m', { map });
    const set = new Set<unknown>();
    set.add(set);
    const viaKey = new Map<unknown, unknown>();
    viaKey.set([viaKey], 1);
    for (const value of [object, array, map, set, viaKey]) expect(refusal(value)).toBe('a cycle');
  });

  it('a getter that throws, a revoked proxy, a proxy whose traps throw', () => {
    const throwing = {
      get a() {
        throw new Error('boom'.repeat(100));
      },
    };
    expect(refusal({ deep: [throwing] })).toBe('a value threw while being read');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(refusal(proxy)).toBe('a value threw while being read');
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw 'not even an Error';
        },
      },
    );
    expect(refusal(trap)).toBe('a value threw while being read');
  });

  it('values nested deeper than MAX_DEPTH', () => {
    let value: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) value = [value];
    expect(refusal(value)).toBe(`nested deeper than ${MAX_DEPTH} levels`);
    let map: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) map = new Map([[1, map]]);
    expect(refusal(map)).toBe(`nested deeper than ${MAX_DEPTH} levels`);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { deep };
    expect(refusal(deep)).toBe(`nested deeper than ${MAX_DEPTH} levels`);
  });

  it('more than maxBytes of output (512 KiB by default), counted in UTF-8 bytes, to the byte', () => {
    expect(DEFAULT_MAX_BYTES).toBe(512 * 1024);
    expect(refusal('x'.repeat(DEFAULT_MAX_BYTES))).toBe('larger than 524288 bytes');
    expect(typeof encodeEntry(entry('x'.repeat(DEFAULT_MAX_BYTES - 100)))).toBe('string');
    for (const value of [
      { text: 'x'.repeat(300) },
      { text: 'é😀'.repeat(100) },
      [new Uint8Array(100), 1n, new Date(0)],
    ]) {
      const bytes = Buffer.byteLength(encoded(value));
      expect(typeof encodeEntry(entry(value), { maxBytes: bytes })).toBe('string');
      expect(refusal(value, { maxBytes: bytes - 1 })).toBe(`larger than ${bytes - 1} bytes`);
    }
    expect(refusal(new Float64Array(100_000))).toBe('larger than 524288 bytes');
  });

  it('a 60-level DAG (2^60 paths) quickly, without walking it', () => {
    let dag: unknown = { leaf: 1 };
    for (let i = 0; i < 60; i++) dag = { a: dag, b: [dag, new Map([[1, dag]])] };
    const started = performance.now();
    expect(refusal(dag)).toBe('larger than 524288 bytes');
    expect(refusal(dag, { maxBytes: 1000 })).toBe('larger than 1000 bytes');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a bad envelope or options', () => {
    const value = { a: 1 };
    for (const [freshUntil, staleUntil] of [
      [Number.NaN, STALE],
      [FRESH, Number.POSITIVE_INFINITY],
      [STALE, FRESH],
      ['1', STALE],
    ]) {
      const result = encodeEntry(entry(value, { freshUntil, staleUntil } as Partial<EntryEnvelope>));
      expect(result).toEqual({ refused: 'lifetimes not finite and ordered' });
    }
    expect(encodeEntry(entry(value, { key: 1 as unknown as string }))).toEqual({
      refused: 'key or generation not a string',
    });
    for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
      expect(encodeEntry(entry(value), { maxBytes })).toEqual({
        refused: 'maxBytes is not a whole number >= 1',
      });
    }
    for (const bad of [null, undefined, 1, 'entry']) {
      expect(encodeEntry(bad as unknown as EntryEnvelope)).toHaveProperty('refused');
    }
  });
});

describe('misses', () => {
  const good = () => encoded({ id: 1, at: new Date(1) });

  it('absent: no value', () => {
    expect(miss(null)).toBe('absent');
    expect(miss(undefined)).toBe('absent');
  });

  it('foreign: another client’s value or another format version', () => {
    for (const text of [
      '',
      'hello',
      '{"a":1}',
      '[1,2]',
      'null',
      'lk2:[]',
      'LK1:[]',
      ' lk1:',
      'lk',
      `lk0${good().slice(3)}`,
    ]) {
      expect(miss(text)).toBe('foreign');
    }
  });

  it('too-large: longer than maxBytes, without parsing it', () => {
    const huge = `${FORMAT_MARKER}[${'['.repeat(DEFAULT_MAX_BYTES)}`;
    expect(miss(huge)).toBe('too-large');
    const text = good();
    expect(decodeEntry(text, KEY, GENERATION, { maxBytes: text.length - 1 })).toEqual({ miss: 'too-large' });
    expect(decodeEntry(text, KEY, GENERATION, { maxBytes: text.length })).toHaveProperty('value');
  });

  it('corrupt: not a string, truncated, not JSON, not an entry', () => {
    const text = good();
    for (const value of [1, {}, [], true, Symbol('s'), () => text]) expect(miss(value)).toBe('corrupt');
    for (let end = FORMAT_MARKER.length; end < text.length; end++)
      expect(miss(text.slice(0, end))).toBe('corrupt');
    for (const body of [
      '',
      'x',
      '{}',
      '[]',
      'null',
      '"s"',
      `["${KEY}","${GENERATION}",1,2]`,
      `["${KEY}","${GENERATION}",1,2,3,4]`,
    ]) {
      expect(miss(FORMAT_MARKER + body)).toBe('corrupt');
    }
    expect(miss(`${FORMAT_MARKER}[1,"${GENERATION}",1,2,null]`)).toBe('corrupt');
    expect(miss(`${FORMAT_MARKER}["${KEY}",7,1,2,null]`)).toBe('corrupt');
  });

  it('corrupt: lifetimes not finite or inverted', () => {
    for (const [fresh, stale] of [
      ['null', '2'],
      ['"1"', '2'],
      ['1e400', '1e400'],
      ['-1e400', '2'],
      ['3', '2'],
      ['true', '2'],
    ]) {
      expect(decodeEntry(raw('1', KEY, GENERATION, fresh, stale), KEY, GENERATION)).toEqual({
        miss: 'corrupt',
        detail: 'bad lifetimes',
      });
    }
  });

  it('corrupt: malformed tags', () => {
    const cases = [
      '{"$":1}',
      '{"$":"nope","v":1}',
      '{"$":"u","v":1}',
      '{"$":"d"}',
      '{"$":"d","v":"2020-01-01"}',
      '{"$":"d","v":8.640000000000001e15}',
      '{"$":"n","v":"5"}',
      '{"$":"n","v":"toString"}',
      '{"$":"n","v":"__proto__"}',
      '{"$":"b","v":"12g"}',
      '{"$":"b","v":"0x12"}',
      '{"$":"b","v":""}',
      '{"$":"b","v":12}',
      '{"$":"m","v":[1]}',
      '{"$":"m","v":{}}',
      '{"$":"s","v":"abc"}',
      '{"$":"m","v":[{"$":"h"},1]}',
      '{"$":"s","v":[{"$":"h"}]}',
      '{"a":{"$":"h"}}',
      '{"$":"h"}',
      '[{"$":"h","v":1}]',
      '{"$":"o","v":[]}',
      '{"$":"o","v":null}',
      '{"$":"z","v":"x"}',
      '{"$":"r","v":"(","f":""}',
      '{"$":"r","v":"a","f":"gg"}',
      '{"$":"r","v":"a"}',
      '{"$":"ab","v":"AAE"}',
      '{"$":"ab","v":"A===" }',
      '{"$":"u8","v":"@@@@"}',
      '{"$":"u16","v":"AAAA"}',
      '{"$":"f64","v":"AAAA"}',
      '{"$":"dv","v":null}',
      '{"$":"i32","v":"AAAAAAAA","x":1}',
      `${'['.repeat(MAX_DEPTH + 2)}${']'.repeat(MAX_DEPTH + 2)}`,
      `${'{"a":'.repeat(MAX_DEPTH + 2)}1${'}'.repeat(MAX_DEPTH + 2)}`,
      `${'{"$":"s","v":['.repeat(MAX_DEPTH + 2)}${']}'.repeat(MAX_DEPTH + 2)}`,
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    ];
    for (const json of cases) {
      const result = decodeEntry(raw(json), KEY, GENERATION);
      expect(result, json.slice(0, 60)).toHaveProperty('miss', 'corrupt');
      expect((result as DecodeMiss).detail!.length).toBeLessThanOrEqual(40);
    }
  });

  it('accepts what the encoder writes at the edges of those tags', () => {
    expect(roundTrip(new Date(-8.64e15))).toEqual(new Date(-8.64e15));
    expect(decodeEntry(raw('{"$":"b","v":"-0"}'), KEY, GENERATION)).toHaveProperty('value', 0n);
  });

  it('other-key and other-generation', () => {
    const text = good();
    expect(miss(text, 'lk:users:v1:global:43')).toBe('other-key');
    expect(miss(text, KEY, 'g8')).toBe('other-generation');
    expect(miss(text, `${KEY} `, 'g8')).toBe('other-key');
  });
});

describe('prototype pollution attempts decode to plain data', () => {
  const DATA_PROTOTYPES = new Set([
    Object.prototype,
    Array.prototype,
    Map.prototype,
    Set.prototype,
    Date.prototype,
    null,
  ]);
  const attempts = [
    '{"__proto__":{"polluted":1}}',
    '{"__proto__":{"$":"u"}}',
    '{"__proto__":{"__proto__":{"polluted":1}}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"$":"o","v":{"__proto__":{"polluted":1},"$":"x"}}',
    '{"$":"z","v":{"__proto__":{"polluted":1}}}',
    '{"$":"m","v":["__proto__",{"polluted":1}]}',
    '{"$":"s","v":[{"__proto__":{"polluted":1}}]}',
    '[{"__proto__":[{"polluted":1}]}]',
    '{"a":{"$":"d","v":1},"__proto__":{"polluted":{"$":"n","v":"NaN"}}}',
  ];

  it.each(attempts)('%s', (json) => {
    const decoded = decodeEntry(raw(json), KEY, GENERATION);
    expect(decoded).toHaveProperty('value');
    const value = (decoded as EntryEnvelope).value;
    const visit = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      const proto = Object.getPrototypeOf(node);
      expect(DATA_PROTOTYPES.has(proto)).toBe(true);
      if (node instanceof Map || node instanceof Set) for (const item of node) visit(item);
      else for (const key of Object.keys(node)) visit(Object.getOwnPropertyDescriptor(node, key)!.value);
    };
    visit(value);
    if (json.startsWith('{"__proto__"')) {
      expect(Object.hasOwn(value as object, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    }
  });

  it('keeps the own __proto__ property on the way out', () => {
    const decoded = decodeEntry(raw('{"__proto__":{"polluted":1}}'), KEY, GENERATION) as EntryEnvelope;
    const value = decoded.value as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(value.polluted).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":1}}');
  });
});

describe('decoded values come out shareable', () => {
  it('plain JSON data is deep-frozen by the decoder, and says so', () => {
    const decoded = decodeEntry(encoded({ a: [1, { b: 'c' }], d: { e: null } }), KEY, GENERATION);
    if ('miss' in decoded) throw new Error(decoded.miss);
    expect(decoded.frozen).toBe(true);
    const value = decoded.value as { a: [number, { b: string }]; d: object };
    for (const part of [value, value.a, value.a[1], value.d]) expect(Object.isFrozen(part)).toBe(true);
  });

  it('a value holding "$" (a string, a key) comes back the same, frozen where it is plain', () => {
    const value = { price: '$', tags: ['$', { $: 1 }], note: 'a "$" sign' };
    const decoded = decodeEntry(encoded(value), KEY, GENERATION);
    if ('miss' in decoded) throw new Error(decoded.miss);
    expect(decoded.value).toEqual(value);
    // The own `$` key goes through the "o" tag: the value is not plain JSON any more.
    expect(decoded.frozen).toBe(false);
    const plain = decodeEntry(encoded({ price: '$', tags: ['$'] }), KEY, GENERATION);
    if ('miss' in plain) throw new Error(plain.miss);
    expect(plain.frozen).toBe(true);
    expect(Object.isFrozen((plain.value as { tags: string[] }).tags)).toBe(true);
  });

  it('freezes only the value: an enumerable property a patched Object.prototype adds is not walked', () => {
    const foreign = { untouched: true };
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = foreign;
    try {
      const decoded = decodeEntry(encoded({ a: { b: 1 }, c: [{ d: 2 }] }), KEY, GENERATION);
      if ('miss' in decoded) throw new Error(decoded.miss);
      expect(decoded.frozen).toBe(true);
      expect(Object.isFrozen(foreign)).toBe(false);
      expect(Object.hasOwn(decoded.value as object, 'polluted')).toBe(false);
    } finally {
      delete proto.polluted;
    }
  });

  it('never calls an enumerable accessor a patched Object.prototype adds (and its throwing is no miss)', () => {
    let calls = 0;
    Object.defineProperty(Object.prototype, 'evil', {
      enumerable: true,
      configurable: true,
      get() {
        calls++;
        throw new Error('user code ran');
      },
    });
    let hit: boolean;
    try {
      hit = !('miss' in decodeEntry(raw('{"a":{"b":{"c":1}},"d":[{},{}]}'), KEY, GENERATION));
    } finally {
      delete (Object.prototype as Record<string, unknown>).evil;
    }
    // Checked once the accessor is gone (the test's own matchers would call it).
    expect(hit).toBe(true);
    expect(calls).toBe(0);
  });

  it('a key `$` written escaped (\\u0024) is a tag as it is written plainly, whatever else the text holds', () => {
    for (const json of ['{"a":"x","b":{"\\u0024":"d","v":0}}', '{"a":"$","b":{"\\u0024":"d","v":0}}']) {
      const decoded = decodeEntry(raw(json), KEY, GENERATION);
      if ('miss' in decoded) throw new Error(decoded.miss);
      expect((decoded.value as { b: unknown }).b).toEqual(new Date(0));
    }
    expect(miss(raw('{"\\u0024":"zz"}'))).toBe('corrupt');
  });

  it('a text nested deeper than MAX_DEPTH is corrupt, whether or not it has tags', () => {
    const deep = (leaf: string) => `${'['.repeat(MAX_DEPTH + 2)}${leaf}${']'.repeat(MAX_DEPTH + 2)}`;
    for (const leaf of ['1', '{"$":"u"}'])
      expect(decodeEntry(raw(deep(leaf)), KEY, GENERATION)).toEqual({
        miss: 'corrupt',
        detail: 'nested too deep',
      });
  });

  it('a value with a tagged part (Date, Map, undefined…) is not marked frozen: the sharing rules decide', () => {
    for (const value of [{ at: new Date(0) }, [new Map([[1, 2]])], { u: undefined }]) {
      const decoded = decodeEntry(encoded(value), KEY, GENERATION);
      if ('miss' in decoded) throw new Error(decoded.miss);
      expect(decoded.frozen).toBe(false);
    }
  });
});
