import { describe, expect, it } from 'vitest';
import { classify, deepFreeze, fromShared, toShared } from '../../src/cache/immutable.js';

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
    const shared = toShared(value);
    expect(shared).toEqual({ value, sharing: 'frozen' });
    expect(shared?.value).toBe(value);
    for (const part of [value, value.tags, value.profile, value.profile.address, value.list, value.list[0]]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    const read1 = fromShared(shared!);
    const read2 = fromShared(shared!);
    expect(read1).toBe(value);
    expect(read2).toBe(value);
  });

  it('a frozen shared value cannot be changed by a reader (strict mode throws)', () => {
    const shared = toShared({ name: 'Ann', tags: ['a'], nested: { n: 1 } })!;
    const read = fromShared(shared) as { name: string; tags: string[]; nested: { n: number } };
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
    expect(fromShared(shared)).toEqual({ name: 'Ann', tags: ['a'], nested: { n: 1 } });
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
    const shared = toShared(new Date(1_000))!;
    expect(shared.sharing).toBe('cloned');
    const a = fromShared(shared);
    const b = fromShared(shared);
    expect(a).not.toBe(b);
    expect(a).not.toBe(shared.value);
    expect(a.getTime()).toBe(1_000);
    a.setTime(5);
    expect(b.getTime()).toBe(1_000);
    expect(fromShared(shared).getTime()).toBe(1_000);
  });

  it('a Map value: every read is a new, equal Map; changing one changes no other read', () => {
    const shared = toShared(new Map([['k', { n: 1 }]]))!;
    const a = fromShared(shared);
    const b = fromShared(shared);
    expect(a).not.toBe(b);
    expect(a).toEqual(new Map([['k', { n: 1 }]]));
    a.set('k2', { n: 2 });
    a.get('k')!.n = 99;
    expect(b).toEqual(new Map([['k', { n: 1 }]]));
    expect(fromShared(shared)).toEqual(new Map([['k', { n: 1 }]]));
  });

  it('plain data around a Date is cloned too (not frozen), and reads do not share it', () => {
    const value = { id: 1, at: new Date(7), tags: ['a'] };
    const shared = toShared(value)!;
    expect(shared.sharing).toBe('cloned');
    expect(Object.isFrozen(value)).toBe(false);
    const a = fromShared(shared);
    const b = fromShared(shared);
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

  it('toShared returns null for them and does not freeze them', () => {
    const user = new User(1, 'Ann');
    const wrapper = { user, list: [1] };
    expect(toShared(user)).toBeNull();
    expect(toShared(wrapper)).toBeNull();
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
