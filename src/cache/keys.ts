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
 * cycles are refused with a TypeError that echoes the key.
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
  if (value instanceof Date) return `D${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`;
  if (seen.has(value)) throw new TypeError(`A shared cache key must not contain cycles: ${describe(whole)}.`);
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((item) => encodeValue(item, whole, seen)).join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `A shared cache key object must be a plain object, but got an instance of ${proto?.constructor?.name ?? 'an unknown class'} in key: ${describe(whole)}.`,
      );
    }
    const names = Object.keys(value).sort();
    out = `{${names.map((name) => `${JSON.stringify(name)}:${encodeValue((value as Record<string, unknown>)[name], whole, seen)}`).join(',')}}`;
  }
  seen.delete(value);
  return out;
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
 * Everything of a store key but the key value: `prefix|loader|version|scope|generation|`, every part
 * length-prefixed. Built once per batch; a store key is this plus the encoded key, which comes last
 * and so needs no prefix.
 */
export function keyBase(space: KeySpace, scope: string, generation: number): string {
  return `${lengthPrefixed(space.prefix)}${lengthPrefixed(space.loader)}${lengthPrefixed(space.version)}${lengthPrefixed(scope)}${generation}|`;
}

/** The store key of one entry: `keyBase(...)` followed by the encoded key. */
export function sharedKey(space: KeySpace, scope: string, generation: number, encodedKey: string): string {
  return keyBase(space, scope, generation) + encodedKey;
}
