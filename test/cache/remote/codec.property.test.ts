/**
 * Properties of the remote-entry codec:
 *  (a) round trip: any value of the kinds the shared tier keeps decodes to a value deep-strictly equal
 *      to it (prototypes, -0, NaN, holes and undefined exactly);
 *  (b) safety: decodeEntry of any string, of any JSON in the envelope, and of any mutation of a valid
 *      encoding returns (never throws), and an entry it returns has the expected key and generation;
 *      nothing it reads changes Object.prototype.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  type EntryEnvelope,
  encodeEntry,
  FORMAT_MARKER,
} from '../../../src/cache/remote/codec.js';

const KEY = 'lk:v1:users:7';
const GENERATION = 'gen-3';

/** Keys that look like trouble: prototype names, the tag key, tag-looking and index-like keys. */
const keyArb = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '$', 'v', 'toJSON', '0', '10', ''),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** An object from entries, every key an own data property (assignment would take `__proto__` for the prototype). */
function objectOf(entries: ReadonlyArray<readonly [string, unknown]>, nullPrototype: boolean): object {
  const object: object = nullPrototype ? Object.create(null) : {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

const typedArrayArb = fc.oneof(
  fc.uint8Array({ maxLength: 8 }),
  fc.int8Array({ maxLength: 8 }),
  fc.uint8ClampedArray({ maxLength: 8 }),
  fc.uint16Array({ maxLength: 8 }),
  fc.int16Array({ maxLength: 8 }),
  fc.uint32Array({ maxLength: 8 }),
  fc.int32Array({ maxLength: 8 }),
  fc.float32Array({ maxLength: 8 }),
  fc.float64Array({ maxLength: 8 }),
  fc.bigInt64Array({ maxLength: 4 }),
  fc.bigUint64Array({ maxLength: 4 }),
);

const leafArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    true,
    false,
    null,
    undefined,
  ),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  typedArrayArb,
  fc.uint8Array({ maxLength: 8 }).map((bytes) => bytes.slice().buffer),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => new DataView(bytes.slice().buffer)),
  fc.constantFrom(/a+/gi, /[x-z]\u{1F600}/u, /^$/m),
);

const { value: valueArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.sparseArray(tie('value'), { maxLength: 6 }),
    fc
      .tuple(fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 5 }), fc.boolean())
      .map(([entries, nullPrototype]) => objectOf(entries, nullPrototype)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
  ),
}));

const lifetimesArb = fc
  .tuple(fc.integer({ min: -1e15, max: 1e15 }), fc.integer({ min: 0, max: 1e12 }))
  .map(([freshUntil, grace]) => ({ freshUntil, staleUntil: freshUntil + grace }));

function encoded(value: unknown, lifetimes = { freshUntil: 1, staleUntil: 2 }): string {
  const text = encodeEntry({ key: KEY, generation: GENERATION, value, ...lifetimes });
  if (typeof text !== 'string') throw new Error(`refused: ${text.refused}`);
  return text;
}

/** decodeEntry returned, and any entry it returned is for the expected key and generation. */
function checkDecode(text: unknown, key = KEY, generation = GENERATION): void {
  const result = decodeEntry(text, key, generation);
  if ('miss' in result) {
    expect(['absent', 'foreign', 'too-large', 'corrupt', 'other-key', 'other-generation']).toContain(
      result.miss,
    );
  } else {
    expect(result.key).toBe(key);
    expect(result.generation).toBe(generation);
    expect(Number.isFinite(result.freshUntil) && result.staleUntil >= result.freshUntil).toBe(true);
  }
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(PROTOTYPE_NAMES);
}
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe('round trip', () => {
  it('any value of the shared kinds comes back deep-strictly equal, with its envelope', () => {
    fc.assert(
      fc.property(valueArb, lifetimesArb, (value, lifetimes) => {
        const decoded = decodeEntry(encoded(value, lifetimes), KEY, GENERATION) as EntryEnvelope;
        expect(decoded).toMatchObject({ key: KEY, generation: GENERATION, ...lifetimes });
        expect(isDeepStrictEqual(decoded.value, value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON comes back equal', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const decoded = decodeEntry(encoded(value), KEY, GENERATION) as EntryEnvelope;
        expect(isDeepStrictEqual(decoded.value, value)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('decoding is safe', () => {
  it('of any string, with or without the marker', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.boolean(), (text, marked) => {
        checkDecode(marked ? FORMAT_MARKER + text : text);
      }),
      { numRuns: 2000 },
    );
  });

  it('of any value that is not a string', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        fc.pre(typeof value !== 'string');
        checkDecode(value);
      }),
      { numRuns: 300 },
    );
  });

  /** JSON that looks like our tags, nested, with payloads of any JSON. */
  const taggedJsonArb = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      fc.record(
        {
          $: fc.constantFrom(
            'u',
            'h',
            'n',
            'b',
            'd',
            'r',
            'm',
            's',
            'o',
            'z',
            'ab',
            'u8',
            'f64',
            'bu64',
            'dv',
            'x',
          ),
          v: fc.oneof(
            tie('node'),
            fc.constantFrom('-0', 'NaN', 'ff', '-1', 'AAAA', 'AAE=', '', 0, 8.64e15, null),
            fc.array(tie('node'), { maxLength: 4 }),
          ),
          f: fc.constantFrom('g', 'gg', 'x', ''),
        },
        { requiredKeys: ['$'] },
      ),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(keyArb, tie('node'), { maxKeys: 4 }),
    ),
  }));

  it('of any JSON in a well-formed envelope, tag-shaped or not', () => {
    fc.assert(
      fc.property(taggedJsonArb.node, (node) => {
        checkDecode(`${FORMAT_MARKER}${JSON.stringify([KEY, GENERATION, 1, 2, node ?? null])}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('of any envelope of any JSON', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 6 }),
        fc.jsonValue(),
        (head, extra) => {
          checkDecode(FORMAT_MARKER + JSON.stringify(head));
          checkDecode(FORMAT_MARKER + JSON.stringify(extra));
        },
      ),
      { numRuns: 500 },
    );
  });

  const mutationArb = fc.oneof(
    fc.record({ t: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ t: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      t: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 4 }),
        fc.constantFrom(
          '"',
          '\\',
          '{',
          '}',
          '[',
          ']',
          ',',
          ':',
          '{"$":"h"}',
          '"__proto__":',
          '1e400',
          'null',
        ),
      ),
    }),
    fc.record({
      t: fc.constant('replace' as const),
      at: fc.nat(),
      text: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    }),
    fc.record({
      t: fc.constant('duplicate' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 20 }),
    }),
  );
  type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

  function mutate(text: string, mutation: Mutation): string {
    const at = mutation.at % (text.length + 1);
    switch (mutation.t) {
      case 'truncate':
        return text.slice(0, at);
      case 'delete':
        return text.slice(0, at) + text.slice(at + mutation.length);
      case 'insert':
        return text.slice(0, at) + mutation.text + text.slice(at);
      case 'replace':
        return text.slice(0, at) + mutation.text + text.slice(at + 1);
      case 'duplicate':
        return text.slice(0, at + mutation.length) + text.slice(at);
    }
  }

  it('of any mutation of a valid encoding', () => {
    fc.assert(
      fc.property(valueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (value, mutations) => {
        const text = mutations.reduce(mutate, encoded(value));
        checkDecode(text);
        // Read for another key or generation, a mutated entry is never taken for one of theirs.
        checkDecode(text, `${KEY}x`, GENERATION);
        checkDecode(text, KEY, `${GENERATION}x`);
      }),
      { numRuns: 1500 },
    );
  });

  it('a valid encoding read for another key or generation is a miss of that kind', () => {
    fc.assert(
      fc.property(valueArb, fc.string({ maxLength: 8 }), (value, other) => {
        fc.pre(other !== KEY && other !== GENERATION);
        const text = encoded(value);
        expect(decodeEntry(text, other, GENERATION)).toEqual({ miss: 'other-key' });
        expect(decodeEntry(text, KEY, other)).toEqual({ miss: 'other-generation' });
      }),
      { numRuns: 300 },
    );
  });
});
