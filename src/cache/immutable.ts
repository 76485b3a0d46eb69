/**
 * The policy for values shared between requests: plain data is deep-frozen once, when it enters the
 * shared cache, so every request reads the same object for free and none can change it for another.
 * Values holding mutable built-ins that freezing cannot protect (Date, Map, Set, typed arrays, …) are
 * stored as they are and handed out as a fresh `structuredClone` on every read. Anything else (class
 * instances, functions, symbols) is not shareable: it reaches the request that loaded it, but is never
 * written to the shared cache.
 */

export type Sharing =
  /** Deep-frozen plain data: hand out as is. */
  | 'frozen'
  /** Contains mutable built-ins: hand out a structured clone per read. */
  | 'cloned'
  /** Cannot be shared safely. */
  | 'unshareable';

const CLONEABLE_BUILT_INS: Array<abstract new (...args: never[]) => object> = [
  Date,
  Map,
  Set,
  RegExp,
  ArrayBuffer,
  DataView,
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

function isCloneableBuiltIn(value: object): boolean {
  for (const type of CLONEABLE_BUILT_INS) if (value instanceof type) return true;
  return false;
}

/** Classifies a value for sharing without changing it. */
export function classify(value: unknown): Sharing {
  return classifyValue(value, new Set());
}

function classifyValue(value: unknown, seen: Set<object>): Sharing {
  if (typeof value === 'function' || typeof value === 'symbol') return 'unshareable';
  if (typeof value !== 'object' || value === null) return 'frozen';
  if (seen.has(value)) return 'unshareable';
  if (value instanceof Map || value instanceof Set) {
    // Cloned on read, so everything inside must survive structuredClone as it is.
    seen.add(value);
    let result: Sharing = 'cloned';
    for (const item of value instanceof Map ? [...value.keys(), ...value.values()] : value.values()) {
      if (classifyValue(item, seen) === 'unshareable') {
        result = 'unshareable';
        break;
      }
    }
    seen.delete(value);
    return result;
  }
  if (isCloneableBuiltIn(value)) return 'cloned';
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return 'unshareable';
  seen.add(value);
  let result: Sharing = 'frozen';
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const inner = classifyValue(item, seen);
    if (inner === 'unshareable') {
      result = inner;
      break;
    }
    if (inner === 'cloned') result = 'cloned';
  }
  seen.delete(value);
  return result;
}

/** Freezes plain data in place, all the way down. Returns the same value. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  Object.freeze(value);
  for (const item of Array.isArray(value) ? value : Object.values(value)) deepFreeze(item);
  return value;
}

/** A value ready to be shared, with how to hand it out. */
export interface SharedValue<V> {
  readonly value: V;
  readonly sharing: Exclude<Sharing, 'unshareable'>;
}

/**
 * Prepares a value for the shared cache: freezes plain data, marks values with mutable built-ins as
 * cloned-on-read, and returns null for values that cannot be shared.
 */
export function toShared<V>(value: V): SharedValue<V> | null {
  const sharing = classify(value);
  if (sharing === 'unshareable') return null;
  if (sharing === 'frozen') deepFreeze(value);
  return { value, sharing };
}

/** What a request receives for a shared value. */
export function fromShared<V>(shared: SharedValue<V>): V {
  return shared.sharing === 'frozen' ? shared.value : structuredClone(shared.value);
}
