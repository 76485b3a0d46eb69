import { describe, expect, it } from 'vitest';
import {
  classify,
  deepFreeze,
  fromShared,
  MAX_SHARED_DEPTH,
  MAX_SHARED_TYPED_ARRAY_LENGTH,
  type SharedValue,
  toShared,
} from '../../src/cache/immutable.js';

/** toShared's answer for a value that must be shareable. */
function shared<V>(value: V): SharedValue<V> {
  const result = toShared(value);
  if (result === null || 'reason' in result)
    throw new Error(`expected a shareable value, got ${JSON.stringify(result)}`);
  return result;
}

/** toShared's reason for a value that must be unshareable. */
function reasonFor(value: unknown): string {
  const result = toShared(value);
  if (result === null || !('reason' in result))
    throw new Error(`expected an unshareable value, got ${String(result)}`);
  return result.reason;
}

class User {
  constructor(
    readonly id: number,
    public name: string,
  ) {}
  greet(): string {
    return `hi ${this.name}`;
  }
}

describe('plain data is deep-frozen', () => {
  it('classifies primitives, arrays, plain and null-prototype objects as frozen', () => {
    for (const value of [1, 'a', null, undefined, true, 1n, [], {}, [1, { a: [2] }], Object.create(null)]) {
      expect(classify(value)).toBe('frozen');
    }
  });

  it('toShared freezes the value in place, all the way down, and fromShared hands out that same object', () => {
    const value = { id: 1, tags: ['a', 'b'], profile: { address: { city: 'Oslo' } }, list: [{ x: 1 }] };
    const result = shared(value);
    expect(result).toEqual({ value, sharing: 'frozen' });
    expect(result.value).toBe(value);
    for (const part of [value, value.tags, value.profile, value.profile.address, value.list, value.list[0]]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    const read1 = fromShared(result);
    const read2 = fromShared(result);
    expect(read1).toBe(value);
    expect(read2).toBe(value);
  });

  it('a frozen shared value cannot be changed by a reader (strict mode throws)', () => {
    const result = shared({ name: 'Ann', tags: ['a'], nested: { n: 1 } });
    const read = fromShared(result) as { name: string; tags: string[]; nested: { n: number } };
    expect(() => {
      read.name = 'Bob';
    }).toThrow(TypeError);
    expect(() => read.tags.push('b')).toThrow(TypeError);
    expect(() => {
      read.nested.n = 2;
    }).toThrow(TypeError);
    expect(() => {
      delete (read as Partial<typeof read>).name;
    }).toThrow(TypeError);
    expect(fromShared(result)).toEqual({ name: 'Ann', tags: ['a'], nested: { n: 1 } });
  });

  it('deepFreeze returns its argument and leaves primitives alone', () => {
    const value = { a: { b: [1] } };
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value.a.b)).toBe(true);
    expect(deepFreeze(5)).toBe(5);
    expect(deepFreeze(null)).toBe(null);
  });

  it('primitives are shared as they are', () => {
    expect(toShared(42)).toEqual({ value: 42, sharing: 'frozen' });
    expect(toShared(null)).toEqual({ value: null, sharing: 'frozen' });
    expect(fromShared({ value: 'x', sharing: 'frozen' })).toBe('x');
  });
});

describe('values with mutable built-ins are cloned per read', () => {
  it('classifies Date, Map, Set, RegExp and typed arrays (alone or nested in plain data) as cloned', () => {
    expect(classify(new Date(0))).toBe('cloned');
    expect(classify(new Map([[1, 'a']]))).toBe('cloned');
    expect(classify(new Set([1]))).toBe('cloned');
    expect(classify(/a/g)).toBe('cloned');
    expect(classify(new Uint8Array(2))).toBe('cloned');
    expect(classify({ id: 1, at: new Date(0) })).toBe('cloned');
    expect(classify([{ ok: 1 }, { m: new Map() }])).toBe('cloned');
  });

  it('a Date value: every read is a new, equal Date; changing one changes no other read', () => {
    const result = shared(new Date(1_000));
    expect(result.sharing).toBe('cloned');
    const a = fromShared(result);
    const b = fromShared(result);
    expect(a).not.toBe(b);
    expect(a).not.toBe(result.value);
    expect(a.getTime()).toBe(1_000);
    a.setTime(5);
    expect(b.getTime()).toBe(1_000);
    expect(fromShared(result).getTime()).toBe(1_000);
  });

  it('a Map value: every read is a new, equal Map; changing one changes no other read', () => {
    const result = shared(new Map([['k', { n: 1 }]]));
    const a = fromShared(result);
    const b = fromShared(result);
    expect(a).not.toBe(b);
    expect(a).toEqual(new Map([['k', { n: 1 }]]));
    a.set('k2', { n: 2 });
    a.get('k')!.n = 99;
    expect(b).toEqual(new Map([['k', { n: 1 }]]));
    expect(fromShared(result)).toEqual(new Map([['k', { n: 1 }]]));
  });

  it('plain data around a Date is cloned too (not frozen), and reads do not share it', () => {
    const value = { id: 1, at: new Date(7), tags: ['a'] };
    const result = shared(value);
    expect(result.sharing).toBe('cloned');
    expect(Object.isFrozen(value)).toBe(false);
    const a = fromShared(result);
    const b = fromShared(result);
    a.tags.push('b');
    a.at.setTime(0);
    expect(b).toEqual({ id: 1, at: new Date(7), tags: ['a'] });
  });
});

describe('class instances and other unshareable values', () => {
  it('classifies class instances, functions, symbols and cycles as unshareable, at any depth', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [
      new User(1, 'Ann'),
      { user: new User(1, 'Ann') },
      [1, [new User(1, 'Ann')]],
      () => 1,
      { f: () => 1 },
      Symbol('s'),
      { s: Symbol('s') },
      cyclic,
      { d: new Date(0), u: new User(1, 'Ann') },
    ]) {
      expect(classify(value)).toBe('unshareable');
    }
  });

  // Changed: toShared used to return null here; it now says why.
  it('toShared returns a reason for them and does not freeze them', () => {
    const user = new User(1, 'Ann');
    const wrapper = { user, list: [1] };
    expect(toShared(user)).toEqual({ reason: 'a User instance at $' });
    expect(toShared(wrapper)).toEqual({ reason: 'a User instance at $.user' });
    expect(Object.isFrozen(user)).toBe(false);
    expect(Object.isFrozen(wrapper)).toBe(false);
    expect(Object.isFrozen(wrapper.list)).toBe(false);
  });

  // The policy (immutable.ts) says class instances and functions are never shared. A Map or Set is
  // cloned on read with structuredClone, which throws on functions and strips class prototypes, so a
  // Map holding them must be unshareable too.
  it('a Map or Set holding class instances or functions is unshareable', () => {
    expect(classify(new Map([['u', new User(1, 'Ann')]]))).toBe('unshareable');
    expect(classify(new Map([['f', () => 1]]))).toBe('unshareable');
    expect(classify(new Set([new User(1, 'Ann')]))).toBe('unshareable');
    expect(classify({ byId: new Map([[1, new User(1, 'Ann')]]) })).toBe('unshareable');
  });
});

/** Asserts toShared refuses a value, leaves every given part of it unfrozen, and returns the reason. */
function refused(value: unknown, parts: readonly object[] = []): string {
  const reason = reasonFor(value);
  expect(classify(value)).toBe('unshareable');
  for (const part of [value, ...parts]) {
    if (typeof part === 'object' && part !== null) expect(Object.isFrozen(part)).toBe(false);
  }
  return reason;
}

describe('values one request could change for another are unshareable', () => {
  it('an array with a non-index property (its value would stay mutable under a frozen array)', () => {
    const list = Object.assign([{ id: 1 }], { meta: { total: 1 } });
    const value = { list };
    expect(refused(value, [list, list.meta, list[0]!])).toBe(
      'a non-index property "meta" on an array at $.list',
    );
  });

  it('a non-enumerable property, whose value freezing would not reach', () => {
    const value = { id: 1 };
    Object.defineProperty(value, 'hidden', { value: { n: 1 }, enumerable: false, writable: true });
    expect(refused(value)).toBe('a non-enumerable property "hidden" at $');
  });

  it('a symbol-keyed property, with data or a function under it', () => {
    const data = { [Symbol('extra')]: { n: 1 } };
    const fn = { nested: { [Symbol.for('fn')]: () => 1 } };
    expect(refused(data)).toBe('a symbol-keyed property Symbol(extra) at $');
    expect(refused(fn, [fn.nested])).toBe('a symbol-keyed property Symbol(fn) at $.nested');
  });

  it('an accessor property (getter, setter or both), detected without calling it', () => {
    let calls = 0;
    const meta = {
      get total() {
        calls++;
        return 1;
      },
    };
    const setterOnly = Object.defineProperty({}, 'x', { set() {}, enumerable: true });
    const throwing = {
      get boom(): number {
        throw new Error('getter called');
      },
    };
    expect(refused({ meta }, [meta])).toBe('an accessor property "total" at $.meta');
    expect(refused([setterOnly])).toBe('an accessor property "x" at $[0]');
    expect(refused({ a: [1, throwing] })).toBe('an accessor property "boom" at $.a[1]');
    expect(calls).toBe(0);
  });

  it('an accessor or non-enumerable array element', () => {
    const withGetter = [1, 2];
    Object.defineProperty(withGetter, 1, { get: () => 2, enumerable: true });
    const hidden = [1, 2];
    Object.defineProperty(hidden, 0, { value: 1, enumerable: false });
    const empty = [1, 2];
    Object.defineProperty(empty, 0, { get: undefined, set: undefined, enumerable: true });
    expect(refused(withGetter)).toBe('an accessor property "1" at $');
    expect(refused(empty)).toBe('an accessor property "0" at $');
    expect(refused(hidden)).toBe('a non-enumerable property "0" at $');
  });

  it('an Array subclass (a class instance, never shared)', () => {
    class List<T> extends Array<T> {}
    const list = List.from([1, 2]);
    expect(refused({ list }, [list])).toBe('a List (not a plain Array) at $.list');
  });

  it('arrays with holes are fine, and keep their holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: holes are the point
    const sparse = [1, , 3];
    expect(shared({ sparse }).sharing).toBe('frozen');
    expect(Object.isFrozen(sparse)).toBe(true);
    expect(1 in sparse).toBe(false);
  });
});

describe('values a copy would not reproduce faithfully are unshareable', () => {
  it('a Buffer is not a plain Uint8Array (a copy would lose toString("base64") and the rest)', () => {
    const avatar = Buffer.from('hi');
    const value = { avatar };
    expect(refused(value)).toBe('a Buffer (not a plain Uint8Array) at $.avatar');
    expect(avatar.toString('base64')).toBe('aGk=');
  });

  it('a Map, Set or Date subclass', () => {
    class Registry extends Map<string, number> {}
    class Tags extends Set<string> {}
    class Day extends Date {}
    expect(refused({ r: new Registry() })).toBe('a Registry (not a plain Map) at $.r');
    expect(refused([new Tags()])).toBe('a Tags (not a plain Set) at $[0]');
    expect(refused(new Day(0))).toBe('a Day (not a plain Date) at $');
  });

  it('own properties on a built-in (structuredClone drops them)', () => {
    const at = Object.assign(new Date(0), { zone: 'UTC' });
    const map = Object.assign(new Map(), { label: 'x' });
    const bytes = Object.assign(new Uint8Array(2), { kind: 'png' });
    const set = new Set([1]);
    Object.defineProperty(set, 'hidden', { value: 1 });
    const buffer = new ArrayBuffer(4);
    (buffer as unknown as Record<symbol, number>)[Symbol('tag')] = 1;
    expect(refused({ at })).toBe('an own property "zone" on a Date at $.at');
    expect(refused(map)).toBe('an own property "label" on a Map at $');
    expect(refused(bytes)).toBe('an own property "kind" on a Uint8Array at $');
    expect(refused(set)).toBe('an own property "hidden" on a Set at $');
    expect(refused(buffer)).toBe('a symbol-keyed property Symbol(tag) on an ArrayBuffer at $');
  });

  it('an object posing as a built-in (its prototype without its internal data)', () => {
    expect(refused(Object.create(Date.prototype))).toBe(
      'an object posing as a Date (its prototype, not one) at $',
    );
    expect(refused({ m: Object.create(Map.prototype) })).toBe(
      'an object posing as a Map (its prototype, not one) at $.m',
    );
    expect(refused(Object.create(Array.prototype))).toBe(
      'an object posing as an Array (its prototype, not one) at $',
    );
  });

  it('a RegExp is shared only with lastIndex 0 (a copy resets it)', () => {
    const used = /a/g;
    used.test('aa');
    expect(refused({ used })).toBe('a RegExp whose lastIndex is 1, not 0 at $.used');
    expect(refused(Object.assign(/a/, { note: 1 }))).toBe('an own property "note" on a RegExp at $');
    expect(classify(/a/gy)).toBe('cloned');
  });

  it('a null-prototype object is fine when frozen, not when copied (the copy gets Object.prototype)', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(classify({ bare })).toBe('frozen');
    const bare2 = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(refused({ bare: bare2, at: new Date(0) })).toMatch(/^a null-prototype object .* at \$\.bare$/);
  });

  it('a view over a SharedArrayBuffer or a detached buffer (a copy would share or throw)', () => {
    expect(refused({ n: new Int32Array(new SharedArrayBuffer(8)) })).toBe(
      'an Int32Array over a SharedArrayBuffer at $.n',
    );
    expect(refused(new SharedArrayBuffer(8))).toBe('a SharedArrayBuffer instance at $');
    const gone = new ArrayBuffer(8);
    structuredClone(gone, { transfer: [gone] });
    expect(refused({ gone })).toBe('a detached ArrayBuffer at $.gone');
  });

  it(`a typed array longer than ${MAX_SHARED_TYPED_ARRAY_LENGTH} elements (its own properties cannot be listed cheaply); its ArrayBuffer can be shared`, () => {
    expect(classify(new Float32Array(MAX_SHARED_TYPED_ARRAY_LENGTH))).toBe('cloned');
    const big = new Uint8Array(MAX_SHARED_TYPED_ARRAY_LENGTH + 1);
    expect(refused({ big })).toBe(
      `a Uint8Array of ${MAX_SHARED_TYPED_ARRAY_LENGTH + 1} elements (more than ${MAX_SHARED_TYPED_ARRAY_LENGTH}: share its ArrayBuffer instead) at $.big`,
    );
    expect(classify({ big: big.buffer, view: new DataView(big.buffer) })).toBe('cloned');
  });

  it('Map and Set contents follow the same rules (keys too)', () => {
    const withGetter = {
      get x() {
        return 1;
      },
    };
    expect(refused(new Map([['k', withGetter]]))).toBe('an accessor property "x" at $.get("k")');
    expect(refused(new Map([[withGetter, 1]]))).toBe('an accessor property "x" at $.keys()[0]');
    expect(refused(new Map([[Symbol('k'), 1]]))).toBe('a symbol in a Map at $.keys()[0]');
    expect(refused(new Set([1, () => 1]))).toBe('a function in a Set at $.values()[1]');
    expect(refused({ s: new Set([[Buffer.alloc(1)]]) })).toBe(
      'a Buffer (not a plain Uint8Array) at $.s.values()[0][0]',
    );
    expect(classify(new Map<unknown, unknown>([[{ id: 1 }, [new Date(0)]]]))).toBe('cloned');
  });
});

describe('a value copied on read is copied when it enters, too', () => {
  it('changing the loaded value afterwards (as its source still can) changes no read', () => {
    const value = { at: new Date(5), tags: ['a'] };
    const result = shared(value);
    expect(result.value).not.toBe(value);
    value.at.setTime(0);
    value.tags.push('b');
    expect(fromShared(result)).toEqual({ at: new Date(5), tags: ['a'] });
  });
});

/** `{a: v, b: v}` nested `levels` times: 2^levels paths through `levels + 1` objects. */
function diamond(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) value = { a: value, b: value };
  return value;
}

/** `{next: {next: …}}`, `length` objects deep. */
function chain(length: number): Record<string, unknown> {
  let value: Record<string, unknown> = { end: true };
  for (let i = 1; i < length; i++) value = { next: value };
  return value;
}

describe('linear in the size of the value, whatever its shape', () => {
  // 2^60 paths: any walk that revisits shared sub-objects never finishes, so terminating is the proof.
  it('a DAG of 60 levels (sub-objects shared between siblings) is classified and frozen once per object', () => {
    const value = diamond(60);
    expect(classify(value)).toBe('frozen');
    expect(shared(value).sharing).toBe('frozen');
    let part: unknown = value;
    for (let i = 0; i < 60; i++) {
      expect(Object.isFrozen(part)).toBe(true);
      part = (part as Record<string, unknown>).b;
    }
    expect(part).toEqual({ leaf: 1 });
    expect(Object.isFrozen(part)).toBe(true);
  });

  // A walk over indices up to `length` (4 billion here) never finishes; the elements present are 2.
  it('a sparse array is inspected and frozen in time linear in its elements, not its length', () => {
    const huge: unknown[] = [];
    huge[2 ** 32 - 2] = { n: 1 };
    huge[7] = 'x';
    expect(shared(huge).sharing).toBe('frozen');
    expect(Object.isFrozen(huge[2 ** 32 - 2])).toBe(true);
    expect(deepFreeze(huge)).toBe(huge);
  });

  it('deepFreeze of a DAG of 60 levels terminates too', () => {
    const value = diamond(60);
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value.a)).toBe(true);
  });

  it('a DAG with a built-in is classified once per object and copied', () => {
    let value: unknown = new Date(0);
    for (let i = 0; i < 60; i++) value = [value, value];
    expect(classify(value)).toBe('cloned');
  });

  it('a cycle stays unshareable, and is told apart from sharing', () => {
    const parent: Record<string, unknown> = { name: 'p' };
    const child = { parent, siblings: [] as unknown[] };
    parent.child = child;
    expect(refused(parent, [child])).toBe('a cycle at $.child.parent');
    const self: unknown[] = [];
    self.push(1, self);
    expect(refused(self)).toBe('a cycle at $[1]');
    const shared1 = { n: 1 };
    expect(classify({ x: shared1, y: [shared1, { z: shared1 }] })).toBe('frozen');
  });
});

describe('very deep values and throwing inspection are served, not shared, and never throw', () => {
  it(`${MAX_SHARED_DEPTH} levels are fine, one more is not`, () => {
    expect(classify(chain(MAX_SHARED_DEPTH))).toBe('frozen');
    const reason = refused(chain(MAX_SHARED_DEPTH + 1));
    expect(reason).toBe(
      `nesting deeper than ${MAX_SHARED_DEPTH} levels at $.next.next.next….next.next.next.next`,
    );
  });

  it('a linked list 100,000 deep', () => {
    const value = chain(100_000);
    expect(() => toShared(value)).not.toThrow();
    expect(refused(value)).toMatch(/^nesting deeper than 1000 levels at \$\.next/);
    expect(classify(new Map([['list', value]]))).toBe('unshareable');
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value.next)).toBe(true);
  });

  it('depth counts through sub-objects reached a second time by a longer path', () => {
    const deep = chain(MAX_SHARED_DEPTH - 5);
    // Seen first at level 2, then at level 10 under `long`: 9 + 995 levels.
    const value = { short: deep, long: chain(8), tail: null as unknown };
    let end = value.long;
    while (end.next !== undefined) end = end.next as Record<string, unknown>;
    end.deep = deep;
    expect(refused(value)).toMatch(/^nesting deeper than 1000 levels at \$\.long\.next/);
    expect(classify({ short: deep, long: { deep } })).toBe('frozen');
  });

  it('a Proxy whose traps throw is unshareable; one over plain data is frozen through its target', () => {
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    expect(refused({ trap })).toBe('a value that threw when inspected (a Proxy?) at $.trap: Error: no keys');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(classify([proxy])).toBe('unshareable');
    const target = { n: 1 };
    expect(shared({ p: new Proxy(target, {}) }).sharing).toBe('frozen');
    expect(Object.isFrozen(target)).toBe(true);
  });
});

describe('reasons', () => {
  it('name what and where, and stay short', () => {
    const longKey = 'k'.repeat(10_000);
    const value = { [longKey]: { f: () => 1 } };
    const reason = reasonFor(value);
    expect(reason).toMatch(/^a function at \$\.k+…\.f$/);
    expect(reason.length).toBeLessThan(100);
    expect(reasonFor({ 'a b': [{ 2: Symbol('s') }] })).toBe('a symbol at $["a b"][0]["2"]');
    expect(reasonFor(() => 1)).toBe('a function at $');
    let deep: unknown = { f: () => 1 };
    for (let i = 0; i < 500; i++) deep = { [`key${i}`.repeat(20)]: deep };
    expect(reasonFor(deep).length).toBeLessThanOrEqual(240);
  });

  it('a class instance without a name, or with a custom prototype', () => {
    const Anonymous = (() => class {})();
    expect(reasonFor({ x: new Anonymous() })).toBe('an object with a custom prototype at $.x');
    expect(reasonFor(Object.create({ inherited: 1 }))).toBe('an object with a custom prototype at $');
  });
});

describe('values shared before', () => {
  it('already-frozen plain parts are shared again', () => {
    const before = shared({ id: 1, tags: ['a'] }).value;
    const value = { items: [before, before], extra: { n: 2 } };
    expect(shared(value).sharing).toBe('frozen');
    expect(Object.isFrozen(value.extra)).toBe(true);
  });

  it('frozen parts that break the rules are still unshareable', () => {
    const list = Object.freeze(Object.assign([1], { meta: 1 }));
    const user = Object.freeze(new User(1, 'Ann'));
    expect(reasonFor({ list })).toBe('a non-index property "meta" on an array at $.list');
    expect(reasonFor([user])).toBe('a User instance at $[0]');
    const frozenGetter = Object.freeze({
      get x() {
        return 1;
      },
    });
    expect(reasonFor(frozenGetter)).toBe('an accessor property "x" at $');
  });
});

describe('deepFreeze', () => {
  it('freezes through symbol-keyed and non-enumerable data properties, without calling accessors', () => {
    let calls = 0;
    const hidden = { n: 1 };
    const value = {
      [Symbol('s')]: { m: 1 },
      get g() {
        calls++;
        return { fresh: true };
      },
      bytes: new Uint8Array(2),
    };
    Object.defineProperty(value, 'hidden', { value: hidden, enumerable: false });
    deepFreeze(value);
    expect(calls).toBe(0);
    expect(Object.isFrozen(hidden)).toBe(true);
    expect(
      Object.isFrozen(
        Object.values(Object.getOwnPropertyDescriptors(value)).find((d) => 'm' in (d.value ?? {}))?.value,
      ),
    ).toBe(true);
    expect(Object.isFrozen(value.bytes)).toBe(false);
  });
});
