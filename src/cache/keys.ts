/**
 * Shared cache keys. A key value (number, string, array, plain object, …) becomes one canonical
 * string; the shared key adds the loader, version, scope and scope generation, each length-prefixed,
 * so no two distinct (loader, version, scope, key) tuples ever produce the same string.
 */
import { describe } from '../errors.js';

/**
 * The canonical form of a key value: strings are JSON-quoted (so separators inside them cannot
 * collide), numbers are written with `String` (NaN and Infinity stay distinct from null), bigints end
 * in `n`, Dates are `D` + ISO time, object keys are sorted (key order does not matter) and
 * `undefined` properties are kept distinct from absent ones. Functions, symbols, class instances and
 * cycles are refused with a TypeError that echoes the key, and so is anything the encoding would
 * otherwise skip, so that two keys differing only there never share an entry: symbol-keyed and
 * non-enumerable properties, non-index properties of arrays, own properties of Dates, and Array
 * and Date subclasses. A hole in an array is encoded as one (`[,]` is not `[]`).
 */
export function encodeKey(key: unknown): string {
  // Scalars (the common case) need no cycle tracking.
  if (typeof key !== 'object' || key === null) return encodeValue(key, key, NO_OBJECTS);
  return encodeValue(key, key, new Set());
}

const NO_OBJECTS: Set<object> = new Set();

function encodeValue(value: unknown, whole: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'object':
      if (value === null) return 'null';
      return encodeObject(value, whole, seen);
    default:
      throw new TypeError(
        `A shared cache key must be built from strings, numbers, bigints, booleans, null, arrays, Dates and plain objects, but got ${typeof value} in key: ${describe(whole)}.`,
      );
  }
}

function encodeObject(value: object, whole: unknown, seen: Set<object>): string {
  const proto = Object.getPrototypeOf(value);
  if (value instanceof Date) {
    if (proto !== Date.prototype) refuse(`${className(proto)} is a Date subclass`, whole);
    const own = Reflect.ownKeys(value);
    if (own.length > 0) refuse(`a Date has an own property ${propertyName(own[0]!)}`, whole);
    return `D${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`;
  }
  if (seen.has(value)) throw new TypeError(`A shared cache key must not contain cycles: ${describe(whole)}.`);
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) refuse(`${className(proto)} is an Array subclass`, whole);
    out = encodeArray(value, whole, seen);
  } else {
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `A shared cache key object must be a plain object, but got an instance of ${className(proto)} in key: ${describe(whole)}.`,
      );
    }
    // Every own property is part of the key, so one the encoding would skip (a symbol-keyed or
    // non-enumerable one) is refused: two keys differing only there would otherwise encode alike.
    const names = Object.keys(value);
    const own = Reflect.ownKeys(value);
    if (own.length !== names.length) {
      const hidden = own.find((name) => typeof name === 'symbol' || !isEnumerable(value, name))!;
      refuse(
        typeof hidden === 'symbol'
          ? `an object has a symbol-keyed property ${String(hidden)}`
          : `an object has a non-enumerable property ${JSON.stringify(hidden)}`,
        whole,
      );
    }
    names.sort();
    out = `{${names.map((name) => `${JSON.stringify(name)}:${encodeValue((value as Record<string, unknown>)[name], whole, seen)}`).join(',')}}`;
  }
  seen.delete(value);
  return out;
}

/** Index properties only (holes allowed): `length` is the one other own property. */
function encodeArray(value: unknown[], whole: unknown, seen: Set<object>): string {
  const length = value.length;
  const parts = new Array<string>(length);
  let present = 0;
  for (let i = 0; i < length; i++) {
    // A hole is data (`cached` copies it as one), written apart from undefined: `[,]` is not `[]`.
    if (Object.hasOwn(value, i)) {
      present++;
      parts[i] = encodeValue(value[i], whole, seen);
    } else {
      parts[i] = 'hole';
    }
  }
  const own = Reflect.ownKeys(value);
  if (own.length !== present + 1) {
    const extra = own.find((name) => name !== 'length' && !isIndex(name, length))!;
    refuse(
      typeof extra === 'symbol'
        ? `an array has a symbol-keyed property ${String(extra)}`
        : `an array has a non-index property ${JSON.stringify(extra)}`,
      whole,
    );
  }
  return `[${parts.join(',')}]`;
}

function isEnumerable(value: object, name: string): boolean {
  return Object.prototype.propertyIsEnumerable.call(value, name);
}

function isIndex(name: string | symbol, length: number): boolean {
  if (typeof name !== 'string') return false;
  const index = Number(name);
  return Number.isInteger(index) && index >= 0 && index < length && String(index) === name;
}

function className(proto: object | null): string {
  const name: unknown = proto?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an unknown class';
}

function propertyName(name: string | symbol): string {
  return typeof name === 'symbol' ? String(name) : JSON.stringify(name);
}

function refuse(problem: string, whole: unknown): never {
  throw new TypeError(
    `A shared cache key must be plain data: ${problem}, in key: ${describe(whole)}. Use strings, numbers, bigints, booleans, null, arrays, Dates and plain objects with enumerable data properties only, or give the spec a cacheKey that returns such a value.`,
  );
}

/** `<length>:<text>`: a component that can hold any character without ambiguity. */
function lengthPrefixed(text: string): string {
  return `${text.length}:${text}`;
}

/** The parts of a shared key other than the key value itself. */
export interface KeySpace {
  /** Prefix of every key of this cache (e.g. an application name). */
  readonly prefix: string;
  /** The loader's name. */
  readonly loader: string;
  /** The spec's `version`: bump it when the value shape changes. */
  readonly version: string;
}

/**
 * Everything of a shared key but the key value: `prefix loader version scope`, every part
 * length-prefixed, so no base is a prefix of another. The namespace (namespace.ts) adds one letter for
 * each use: `s`/`o` the local spaces of scalar and object keys, `k` remote entries, `g` the remote
 * scope generation, `l` remote locks.
 */
export function keyBase(space: KeySpace, scope: string): string {
  return loaderBase(space) + lengthPrefixed(scope);
}

/**
 * The part of every key base of one loader (prefix, loader, version, length-prefixed): the prefix of
 * all its spaces and keys in every scope, and its address in invalidation messages.
 */
export function loaderBase(space: KeySpace): string {
  return `${lengthPrefixed(space.prefix)}${lengthPrefixed(space.loader)}${lengthPrefixed(space.version)}`;
}

/**
 * The scalar key value an encoding stands for (the inverse of encodeKey for strings, numbers, bigints,
 * booleans, null and undefined), or undefined when the text is not the encoding of a scalar (an object
 * key's, or none at all). `{ value }` so that undefined itself can be answered.
 */
export function decodeScalarKey(text: string): { readonly value: unknown } | undefined {
  switch (text) {
    case 'true':
      return { value: true };
    case 'false':
      return { value: false };
    case 'null':
      return { value: null };
    case 'undefined':
      return { value: undefined };
    case 'NaN':
      return { value: Number.NaN };
    case 'Infinity':
      return { value: Number.POSITIVE_INFINITY };
    case '-Infinity':
      return { value: Number.NEGATIVE_INFINITY };
  }
  const first = text.charCodeAt(0);
  if (first === 34 /* " */) {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'string' && JSON.stringify(value) === text ? { value } : undefined;
    } catch {
      return undefined;
    }
  }
  if (text.endsWith('n')) {
    const digits = text.slice(0, -1);
    if (!/^-?\d+$/.test(digits)) return undefined;
    const value = BigInt(digits);
    return `${value}n` === text ? { value } : undefined;
  }
  const value = Number(text);
  // Only the one spelling String(n) gives (so "1.0", " 1" or "0x1" are nobody's key).
  return text !== '' && String(value) === text ? { value } : undefined;
}

/** The one-letter roles that follow a key base (see keyBase). */
export const KEY_ROLE = {
  /** The local space of scalar keys. */
  scalar: 's',
  /** The local space of object keys (by their encoding). */
  object: 'o',
  /** Remote entries (and flights). */
  entry: 'k',
  /** A scope's remote generation token. */
  generation: 'g',
  /** Remote locks of keys (distributed single-flight). */
  lock: 'l',
} as const;

/** The remote key of one entry: `keyBase(...)`, `k`, then the encoded key (last, so it needs no prefix). */
export function sharedKey(space: KeySpace, scope: string, encodedKey: string): string {
  return keyBase(space, scope) + KEY_ROLE.entry + encodedKey;
}
