/**
 * Properties of the sharing rules (src/cache/immutable.ts) over generated values:
 *  (a) any plain data value (plain and null-prototype objects, arrays with holes, primitives but
 *      symbols, sub-objects shared between parents) is 'frozen': toShared hands back the same value,
 *      deep-frozen and structurally equal to what it was before (described before and after);
 *  (b) the same value with one refused feature put somewhere in it (an accessor, a symbol key, a
 *      non-enumerable property, a Buffer, a Map subclass, an array with an extra property) is
 *      unshareable: toShared gives a short reason, freezes nothing and calls no accessor.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, toShared } from '../../src/cache/immutable.js';

const primitive = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'length', '0', 'a b'),
);

const { tree } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, tie('node')),
  node: fc.oneof(
    fc.array(tie('tree'), { maxLength: 5 }),
    fc.sparseArray(tie('tree'), { maxLength: 6 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
    fc
      .dictionary(key, tie('tree'), { maxKeys: 5, noNullPrototype: false })
      .map((entries) => Object.assign(Object.create(null) as Record<string, unknown>, entries)),
  ),
}));

/** Plain data whose root is an object or array, sometimes with a sub-object shared by two parents. */
const plainData = fc.oneof(
  fc.array(tree, { maxLength: 5 }),
  fc.dictionary(key, tree, { maxKeys: 6 }),
  fc.tuple(fc.dictionary(key, tree, { maxKeys: 4 }), tree).map(([shared, other]) => ({
    first: shared,
    list: [shared, other, shared],
  })),
);

/**
 * A structural description of plain data to compare values by: prototypes (Object.prototype or null),
 * own keys in order, holes and lengths, primitives by type and value (-0 and NaN included).
 */
function shape(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    return [typeof value, Object.is(value, -0) ? '-0' : String(value)];
  }
  const entries = Object.keys(value).map((name) => [name, shape((value as Record<string, unknown>)[name])]);
  if (Array.isArray(value)) return { length: value.length, entries };
  return { prototype: Object.getPrototypeOf(value) === null ? 'null' : 'Object', entries };
}

/**
 * A fresh copy of generated plain data (prototypes, holes and shared sub-objects kept), so the checks
 * freeze and change the copy, never a value fast-check may hand out again while shrinking.
 */
function copyPlain(value: unknown, copies = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (copies.has(value)) return copies.get(value);
  const copy: object = Array.isArray(value)
    ? new Array(value.length)
    : Object.create(Object.getPrototypeOf(value));
  copies.set(value, copy);
  for (const name of Object.keys(value)) {
    Object.defineProperty(copy, name, {
      value: copyPlain((value as Record<string, unknown>)[name], copies),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** Every object reachable from a value through own properties, the value first. */
function objectsIn(value: unknown): object[] {
  const found = new Set<object>();
  const pending = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== 'object' || item === null || found.has(item)) continue;
    found.add(item);
    for (const name of Reflect.ownKeys(item)) {
      const descriptor = Object.getOwnPropertyDescriptor(item, name)!;
      if ('value' in descriptor) pending.push(descriptor.value);
    }
  }
  return [...found];
}

/** Features the rules refuse, each put into a container (an object or array) of the value. */
const FEATURES = {
  accessor(container: object, name: string, calls: { count: number }) {
    // On an array, at the next index: an accessor element.
    const at = Array.isArray(container) ? container.length : name;
    Object.defineProperty(container, at, {
      get() {
        calls.count++;
        return 1;
      },
      enumerable: true,
      configurable: true,
    });
  },
  symbolKey(container: object) {
    (container as Record<symbol, unknown>)[Symbol('injected')] = 1;
  },
  nonEnumerable(container: object, name: string) {
    Object.defineProperty(container, name, {
      value: 1,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  },
  buffer(container: object, name: string) {
    put(container, name, Buffer.from('hi'));
  },
  mapSubclass(container: object, name: string) {
    class Registry extends Map<string, number> {}
    put(container, name, new Registry([['k', 1]]));
  },
  arrayExtraProperty(container: object, name: string) {
    if (Array.isArray(container)) (container as unknown as Record<string, unknown>)[`x${name}`] = 1;
    else put(container, name, Object.assign([1, 2], { meta: { total: 1 } }));
  },
} satisfies Record<string, (container: object, name: string, calls: { count: number }) => void>;

function put(container: object, name: string, item: unknown): void {
  if (Array.isArray(container)) container.push(item);
  else
    Object.defineProperty(container, name, {
      value: item,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

/** A key no container in the value uses. */
function freshKey(value: unknown): string {
  let name = 'injected';
  const used = new Set(objectsIn(value).flatMap((object) => Object.getOwnPropertyNames(object)));
  while (used.has(name)) name += '_';
  return name;
}

describe('sharing rules over generated values', () => {
  it('(a) plain data is frozen: the same value comes back, deep-frozen and equal to a copy taken before', () => {
    fc.assert(
      fc.property(plainData, (generated) => {
        const value = copyPlain(generated);
        const before = shape(value);
        expect(classify(value)).toBe('frozen');
        const result = toShared(value);
        expect(result).toEqual({ value, sharing: 'frozen' });
        expect('value' in result && result.value).toBe(value);
        for (const object of objectsIn(value)) expect(Object.isFrozen(object)).toBe(true);
        expect(shape(value)).toEqual(before);
      }),
    );
  });

  it('plain JSON values are frozen', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (generated) => {
        const value = copyPlain(generated);
        const before = shape(value);
        const result = toShared(value);
        expect(result).toEqual({ value, sharing: 'frozen' });
        for (const object of objectsIn(value)) expect(Object.isFrozen(object)).toBe(true);
        expect(shape(value)).toEqual(before);
      }),
    );
  });

  it('(b) one refused feature anywhere makes the value unshareable, with a reason, and nothing frozen', () => {
    const feature = fc.constantFrom(...(Object.keys(FEATURES) as (keyof typeof FEATURES)[]));
    fc.assert(
      fc.property(plainData, feature, fc.nat(), (generated, name, pick) => {
        const value = copyPlain(generated);
        const containers = objectsIn(value);
        const container = containers[pick % containers.length]!;
        const calls = { count: 0 };
        FEATURES[name](container, freshKey(value), calls);
        expect(classify(value)).toBe('unshareable');
        const result = toShared(value);
        expect(result).toEqual({ reason: expect.any(String) });
        expect('reason' in result && result.reason.length).toBeLessThanOrEqual(240);
        for (const object of objectsIn(value)) expect(Object.isFrozen(object)).toBe(false);
        expect(calls.count).toBe(0);
      }),
    );
  });
});
