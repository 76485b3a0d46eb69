/**
 * The codec between shared-cache entries and the strings a remote store (Redis) holds.
 *
 * Format (version 1): the marker `lk1:` followed by one JSON array
 *
 *     lk1:[key, generation, freshUntil, staleUntil, value]
 *
 * where `value` is JSON with tagged values. JSON strings, booleans, null, finite numbers (but -0),
 * arrays and plain objects stand for themselves; every other value is an object whose own key `$`
 * names its kind:
 *
 *     {"$":"u"}               undefined (an array element or property value, distinct from absent)
 *     {"$":"h"}               a hole (array elements only)
 *     {"$":"n","v":"-0"}      -0, NaN, Infinity, -Infinity (the string is `String(n)`, or "-0")
 *     {"$":"b","v":"-ff"}     a bigint, in hexadecimal
 *     {"$":"d","v":1.7e12}    a Date by its time value; "v":null for an invalid Date
 *     {"$":"r","v":"a+","f":"gi"}   a RegExp by source and flags
 *     {"$":"m","v":[k,v,…]}   a Map, keys and values alternating
 *     {"$":"s","v":[…]}       a Set
 *     {"$":"ab","v":"AAE="}   an ArrayBuffer; "u8", "i8", "u8c", "u16", "i16", "u32", "i32", "f32", "f64",
 *                             "b64", "bu64": typed arrays; "dv": a DataView (bytes in base64, platform
 *                             byte order: little-endian on every platform Node supports)
 *     {"$":"o","v":{…}}       a plain object that has an own key `$` (its keys are taken literally)
 *     {"$":"z","v":{…}}       an object with a null prototype (its keys are taken literally)
 *
 * Guarantees:
 * - `encodeEntry` never throws. It encodes what the in-process tier shares (see ../immutable.ts): plain
 *   data, bigint, Date, RegExp, Map, Set, typed arrays, ArrayBuffer and DataView, with exact built-in
 *   prototypes. Anything else (functions, symbols, class instances including Buffer and subclasses of
 *   built-ins, cycles, accessors that throw) is refused with a short reason. Only own enumerable string
 *   keys of objects and the elements of arrays are kept, as `structuredClone` does. A value reached
 *   through several parents is written once per parent (by value); the walk spends a byte budget as it
 *   goes and stops as soon as the output would pass `maxBytes` (UTF-8 bytes of the whole string, by
 *   default {@link DEFAULT_MAX_BYTES} = 512 KiB), so a small DAG with an exponential number of paths is
 *   refused after at most about `maxBytes` steps. Containers nest at most {@link MAX_DEPTH} levels. Parts of
 *   the value that need no tag go to JSON.stringify as they are, uncopied (so an accessor property there
 *   is read twice).
 * - `decodeEntry` never throws and never calls user code: it reads only strings through JSON.parse and
 *   builds fresh objects from intrinsics. A key named `__proto__` becomes an own data property, never a
 *   prototype. Whatever it cannot take for an entry of this format, key and generation is a miss: `absent`
 *   (no value), `foreign` (not this format: another client's value or another format version),
 *   `too-large` (longer than maxBytes), `corrupt` (this format, but malformed), `other-key`,
 *   `other-generation`. Its work is linear in the length of the text.
 */

/** What one remote entry holds besides its value. */
export interface EntryEnvelope {
  /** The remote key the entry was written under: an entry a store returns for another key is a miss. */
  readonly key: string;
  /** The scope generation token it was written in; an entry of another generation is a miss. */
  readonly generation: string;
  /** Epoch milliseconds, finite. */
  readonly freshUntil: number;
  /** Epoch milliseconds, finite, >= freshUntil. */
  readonly staleUntil: number;
  /** null for a cached not-found. */
  readonly value: unknown;
}

/** A decoded entry: the envelope, and whether its value came out shareable as it is. */
export interface DecodedEntry extends EntryEnvelope {
  /**
   * The value is plain JSON data (objects, arrays, strings, numbers, booleans, null: no tagged part),
   * deep-frozen by the decoder as it walked it: shareable as it is.
   */
  readonly frozen: boolean;
  /** The length of the text it was decoded from, in UTF-16 units: a measure of the value's size. */
  readonly textLength: number;
}

/** Why an entry cannot be written remotely: a short reason, at most about 60 characters. */
export interface EncodeRefusal {
  readonly refused: string;
}

export type DecodeMissKind =
  | 'absent'
  | 'foreign'
  | 'too-large'
  | 'corrupt'
  | 'other-key'
  | 'other-generation';

/** Why a remote value does not make an entry. */
export interface DecodeMiss {
  readonly miss: DecodeMissKind;
  /** For `corrupt`: what was malformed, a short fixed phrase. */
  readonly detail?: string;
}

export interface CodecOptions {
  /** The most UTF-8 bytes an encoded entry may take; default {@link DEFAULT_MAX_BYTES} (512 KiB). */
  readonly maxBytes?: number;
}

/** The version marker every encoded entry starts with. */
export const FORMAT_MARKER = 'lk1:';
/** The default bound on an encoded entry: 512 KiB of UTF-8. */
export const DEFAULT_MAX_BYTES = 512 * 1024;
/** How deep containers may nest (the entry's value is at depth 0). */
export const MAX_DEPTH = 1000;

/** Where the walk stops: thrown inside the codec, always caught before it returns. */
class Stop {
  constructor(readonly reason: string) {}
}

/** A tagged value as JSON. */
type Tagged = { readonly $: string; readonly v?: unknown; readonly f?: string };

const UNDEFINED_TAG: Tagged = Object.freeze({ $: 'u' });
const HOLE_TAG: Tagged = Object.freeze({ $: 'h' });

type TypedArray =
  | Uint8Array
  | Int8Array
  | Uint8ClampedArray
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;
type TypedArrayType = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;

const TYPED_ARRAYS: ReadonlyArray<
  readonly [string, TypedArrayType & { readonly BYTES_PER_ELEMENT: number }]
> = [
  ['u8', Uint8Array],
  ['i8', Int8Array],
  ['u8c', Uint8ClampedArray],
  ['u16', Uint16Array],
  ['i16', Int16Array],
  ['u32', Uint32Array],
  ['i32', Int32Array],
  ['f32', Float32Array],
  ['f64', Float64Array],
  ['b64', BigInt64Array],
  ['bu64', BigUint64Array],
];
const TAG_OF_TYPED_PROTOTYPE = new Map<object, string>(
  TYPED_ARRAYS.map(([tag, type]) => [type.prototype, tag]),
);
const TYPED_ARRAY_OF_TAG = new Map(TYPED_ARRAYS);

// Intrinsics, taken once, so that neither side calls methods a value (or a later patch) provides.
const dateTime = Date.prototype.getTime;
const regExpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source')!.get!;
const regExpFlags = Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags')!.get!;
const mapEntries = Map.prototype.entries;
const mapSet = Map.prototype.set;
const setValues = Set.prototype.values;
const setAdd = Set.prototype.add;
const bufferBytes = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
const viewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get!;
const viewOffset = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset')!.get!;
const viewBytes = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get!;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedBuffer = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'buffer')!.get!;
const typedOffset = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'byteOffset')!.get!;
const typedBytes = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'byteLength')!.get!;

// ---------------------------------------------------------------------------------------------------
// Encoding

/** Encodes an entry, or says why it cannot be written remotely. Never throws. */
export function encodeEntry(entry: EntryEnvelope, options?: CodecOptions): string | EncodeRefusal {
  try {
    const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      return { refused: 'maxBytes is not a whole number >= 1' };
    if (typeof entry !== 'object' || entry === null) return { refused: 'not an entry' };
    const { key, generation, freshUntil, staleUntil, value } = entry;
    if (typeof key !== 'string' || typeof generation !== 'string')
      return { refused: 'key or generation not a string' };
    if (!validLifetimes(freshUntil, staleUntil)) return { refused: 'lifetimes not finite and ordered' };
    const budget = new Budget(maxBytes);
    // `lk1:["key","generation",f,s,value]`: at least 16 bytes besides key, generation and value.
    budget.spend(key.length + generation.length + 16);
    const tree = encodeValue(value, 0, budget, new Set());
    const text = FORMAT_MARKER + JSON.stringify([key, generation, freshUntil, staleUntil, tree]);
    if (utf8BytesOver(text, maxBytes)) return tooLarge(maxBytes);
    return text;
  } catch (error) {
    return { refused: error instanceof Stop ? error.reason : 'a value threw while being read' };
  }
}

function tooLarge(maxBytes: number): EncodeRefusal {
  return { refused: `larger than ${maxBytes} bytes` };
}

/**
 * Counts a lower bound of the output's UTF-8 bytes as the walk goes, and stops it past the bound: every
 * value visited costs at least one byte, so the walk takes at most about maxBytes steps.
 */
class Budget {
  private left: number;
  constructor(readonly maxBytes: number) {
    this.left = maxBytes;
  }
  spend(bytes: number): void {
    this.left -= bytes;
    if (this.left < 0) throw new Stop(tooLarge(this.maxBytes).refused);
  }
}

/** The JSON form of one value; `ancestors` holds the containers being walked (a cycle is refused). */
function encodeValue(value: unknown, depth: number, budget: Budget, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      budget.spend(value.length + 2);
      return value;
    case 'boolean':
      budget.spend(4);
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) {
        budget.spend(1);
        return value;
      }
      budget.spend(18);
      return { $: 'n', v: Object.is(value, -0) ? '-0' : String(value) };
    case 'undefined':
      budget.spend(9);
      return UNDEFINED_TAG;
    case 'bigint': {
      const hex = value < 0n ? `-${(-value).toString(16)}` : value.toString(16);
      budget.spend(hex.length + 14);
      return { $: 'b', v: hex };
    }
    case 'function':
      throw new Stop('a function');
    case 'symbol':
      throw new Stop('a symbol');
  }
  if (value === null) {
    budget.spend(4);
    return null;
  }
  const object = value as object;
  if (ancestors.has(object)) throw new Stop('a cycle');
  const proto: unknown = Object.getPrototypeOf(object);
  ancestors.add(object);
  try {
    if (proto === Object.prototype || proto === null) {
      return encodeObject(object, proto === null, enter(depth), budget, ancestors);
    }
    if (proto === Array.prototype) return encodeArray(object as unknown[], enter(depth), budget, ancestors);
    return encodeBuiltIn(object, proto, depth, budget, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function encodeObject(
  object: object,
  nullPrototype: boolean,
  depth: number,
  budget: Budget,
  ancestors: Set<object>,
): unknown {
  const source = object as Record<string, unknown>;
  const keys = Object.keys(source);
  budget.spend(separators(keys.length));
  // Copied on the first item that changes; taken as is if none does, unless JSON.stringify would call a
  // `toJSON` method the walk does not see (non-enumerable or inherited).
  let out: Record<string, unknown> | undefined = 'toJSON' in source ? {} : undefined;
  let escaped = nullPrototype;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    budget.spend(key.length + 3);
    if (key === '$') escaped = true;
    const item = source[key];
    const encoded = encodeValue(item, depth + 1, budget, ancestors);
    if (out === undefined && encoded !== item) out = copyProperties(source, keys, i);
    if (out !== undefined) defineOwn(out, key, encoded);
  }
  const plain = out ?? source;
  if (!escaped) return plain;
  budget.spend(14);
  return { $: nullPrototype ? 'z' : 'o', v: plain };
}

function copyProperties(
  source: Record<string, unknown>,
  keys: string[],
  count: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) defineOwn(out, keys[i]!, source[keys[i]!]);
  return out;
}

/** The first `count` elements, copied by index (slice would look up a species constructor). */
function copyElements(array: unknown[], count: number): unknown[] {
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) out[i] = array[i];
  return out;
}

/** Sets an own data property, even one named `__proto__` (which assignment would take for the prototype). */
function defineOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else object[key] = value;
}

function encodeArray(array: unknown[], depth: number, budget: Budget, ancestors: Set<object>): unknown[] {
  const length = array.length;
  budget.spend(separators(length));
  let out: unknown[] | undefined = 'toJSON' in array ? [] : undefined;
  for (let i = 0; i < length; i++) {
    const item = array[i];
    let encoded: unknown;
    if (item === undefined && !Object.hasOwn(array, i)) {
      budget.spend(9);
      encoded = HOLE_TAG;
    } else {
      encoded = encodeValue(item, depth + 1, budget, ancestors);
    }
    if (out === undefined && encoded !== item) out = copyElements(array, i);
    if (out !== undefined) out[i] = encoded;
  }
  return out ?? array;
}

function encodeBuiltIn(
  object: object,
  proto: unknown,
  depth: number,
  budget: Budget,
  ancestors: Set<object>,
): unknown {
  if (proto === Date.prototype) {
    const time = dateTime.call(object);
    budget.spend(14);
    return { $: 'd', v: Number.isNaN(time) ? null : time };
  }
  if (proto === Map.prototype) {
    enter(depth);
    budget.spend(16 + separators((object as Map<unknown, unknown>).size * 2) - 2);
    const flat: unknown[] = [];
    for (const [key, item] of mapEntries.call(object as Map<unknown, unknown>)) {
      flat.push(
        encodeValue(key, depth + 1, budget, ancestors),
        encodeValue(item, depth + 1, budget, ancestors),
      );
    }
    return { $: 'm', v: flat };
  }
  if (proto === Set.prototype) {
    enter(depth);
    budget.spend(16 + separators((object as Set<unknown>).size) - 2);
    const items: unknown[] = [];
    for (const item of setValues.call(object as Set<unknown>))
      items.push(encodeValue(item, depth + 1, budget, ancestors));
    return { $: 's', v: items };
  }
  if (proto === RegExp.prototype) {
    const source = regExpSource.call(object) as string;
    const flags = regExpFlags.call(object) as string;
    budget.spend(source.length + flags.length + 23);
    return { $: 'r', v: source, f: flags };
  }
  if (proto === ArrayBuffer.prototype) {
    return { $: 'ab', v: toBase64(object as ArrayBuffer, 0, bufferBytes.call(object) as number, budget) };
  }
  if (proto === DataView.prototype) {
    const buffer = viewBuffer.call(object) as ArrayBuffer;
    return {
      $: 'dv',
      v: toBase64(buffer, viewOffset.call(object) as number, viewBytes.call(object) as number, budget),
    };
  }
  const tag = TAG_OF_TYPED_PROTOTYPE.get(proto as object);
  if (tag !== undefined) {
    const buffer = typedBuffer.call(object) as ArrayBuffer;
    return {
      $: tag,
      v: toBase64(buffer, typedOffset.call(object) as number, typedBytes.call(object) as number, budget),
    };
  }
  throw new Stop(describeInstance(proto));
}

/** The depth of a container's items; refuses a container nested too deep. */
function enter(depth: number): number {
  if (depth > MAX_DEPTH) throw new Stop(`nested deeper than ${MAX_DEPTH} levels`);
  return depth;
}

/** The brackets and commas of a container of `count` items. */
function separators(count: number): number {
  return count === 0 ? 2 : count + 1;
}

/** `a class instance (Name)`, reading the name through property descriptors only (no getters). */
function describeInstance(proto: unknown): string {
  const type = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof type === 'function' ? Object.getOwnPropertyDescriptor(type, 'name')?.value : '';
  return typeof name === 'string' && name !== ''
    ? `a class instance (${name.slice(0, 40)})`
    : 'a class instance';
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/**
 * The entry a remote value holds, if it is one of this format written under `expectedKey` in
 * `expectedGeneration`; otherwise why not. Never throws, never calls user code.
 */
export function decodeEntry(
  text: unknown,
  expectedKey: string,
  expectedGeneration: string,
  options?: CodecOptions,
): DecodedEntry | DecodeMiss {
  if (text === null || text === undefined) return { miss: 'absent' };
  if (typeof text !== 'string') return corrupt('not a string');
  if (!text.startsWith(FORMAT_MARKER)) return { miss: 'foreign' };
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  // A string of more UTF-16 units than maxBytes has more UTF-8 bytes than that: never written so.
  if (!(text.length <= maxBytes)) return { miss: 'too-large' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(FORMAT_MARKER.length));
  } catch {
    return corrupt('not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return corrupt('not an entry');
  const key: unknown = parsed[0];
  const generation: unknown = parsed[1];
  const freshUntil: unknown = parsed[2];
  const staleUntil: unknown = parsed[3];
  const tree: unknown = parsed[4];
  if (typeof key !== 'string' || typeof generation !== 'string') return corrupt('not an entry');
  if (key !== expectedKey) return { miss: 'other-key' };
  if (generation !== expectedGeneration) return { miss: 'other-generation' };
  if (!validLifetimes(freshUntil, staleUntil)) return corrupt('bad lifetimes');
  try {
    sawTag = false;
    const value = decodeValue(tree, 0);
    return {
      key,
      generation,
      freshUntil: freshUntil as number,
      staleUntil: staleUntil as number,
      value,
      frozen: !sawTag,
      textLength: text.length,
    };
  } catch (error) {
    return corrupt(error instanceof Stop ? error.reason : 'unreadable value');
  }
}

function corrupt(detail: string): DecodeMiss {
  return { miss: 'corrupt', detail };
}

/** Finite epoch milliseconds, staleUntil >= freshUntil. */
function validLifetimes(freshUntil: unknown, staleUntil: unknown): boolean {
  return (
    Number.isFinite(freshUntil) &&
    Number.isFinite(staleUntil) &&
    (staleUntil as number) >= (freshUntil as number)
  );
}

/** Whether the value being decoded had a tagged part (set by decodeTagged; decoding is synchronous). */
let sawTag = false;

/**
 * The value a parsed JSON tree stands for. Arrays and objects fresh from JSON.parse are revived in
 * place: each assignment targets a key the object already owns, so it sets a data property (even for
 * `__proto__`) and reaches no setter. Each plain array and object is frozen once its parts are done, so
 * a value with no tagged part comes out deep-frozen in this one walk (see EntryEnvelope.frozen).
 */
function decodeValue(node: unknown, depth: number): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) {
    nest(depth);
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (typeof item !== 'object' || item === null) continue;
      if (isHole(item)) delete node[i];
      else node[i] = decodeValue(item, depth + 1);
    }
    return Object.freeze(node);
  }
  if (Object.hasOwn(node, '$')) return decodeTagged(node as Record<string, unknown>, depth);
  return Object.freeze(decodeProperties(node as Record<string, unknown>, depth));
}

/** Refuses a container nested deeper than any the encoder writes. */
function nest(depth: number): void {
  if (depth > MAX_DEPTH) throw new Stop('nested too deep');
}

function decodeProperties(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  nest(depth);
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (typeof item === 'object' && item !== null) object[key] = decodeValue(item, depth + 1);
  }
  return object;
}

function isHole(node: object): boolean {
  return Object.hasOwn(node, '$') && (node as Tagged).$ === 'h' && Object.keys(node).length === 1;
}

function decodeTagged(node: Record<string, unknown>, depth: number): unknown {
  sawTag = true;
  const tag = node.$;
  const payload = node.v;
  const fields = Object.keys(node).length;
  if (typeof tag !== 'string') throw new Stop('bad tag');
  if (tag === 'u') {
    expectFields(fields, 1);
    return undefined;
  }
  if (tag === 'h') throw new Stop('a hole outside an array');
  if (tag === 'r') {
    expectFields(fields, 3);
    if (typeof payload !== 'string' || typeof node.f !== 'string') throw new Stop('bad RegExp');
    try {
      return new RegExp(payload, node.f);
    } catch {
      throw new Stop('bad RegExp');
    }
  }
  expectFields(fields, 2);
  switch (tag) {
    case 'n':
      return decodeNumber(payload);
    case 'b':
      return decodeBigInt(payload);
    case 'd':
      if (payload === null) return new Date(Number.NaN);
      if (typeof payload !== 'number' || !(Math.abs(payload) <= MAX_TIME)) throw new Stop('bad Date');
      return new Date(payload);
    case 'm':
      return decodeMap(payload, depth);
    case 's':
      return decodeSet(payload, depth);
    case 'o':
      return decodeProperties(expectObject(payload), depth);
    case 'z':
      return Object.setPrototypeOf(decodeProperties(expectObject(payload), depth), null);
    case 'ab':
      return fromBase64(payload).buffer;
    case 'dv':
      return new DataView(fromBase64(payload).buffer);
  }
  const type = TYPED_ARRAY_OF_TAG.get(tag);
  if (type === undefined) throw new Stop('unknown tag');
  const bytes = fromBase64(payload);
  if (bytes.byteLength % type.BYTES_PER_ELEMENT !== 0) throw new Stop('bad typed array length');
  return new type(bytes.buffer as ArrayBuffer, 0, bytes.byteLength / type.BYTES_PER_ELEMENT);
}

function expectFields(actual: number, expected: number): void {
  if (actual !== expected) throw new Stop('bad tag fields');
}

function expectObject(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Stop('bad object');
  return payload as Record<string, unknown>;
}

function expectArray(payload: unknown, what: string): unknown[] {
  if (!Array.isArray(payload)) throw new Stop(`bad ${what}`);
  return payload;
}

const NON_FINITE: Record<string, number> = {
  '-0': -0,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

function decodeNumber(payload: unknown): number {
  if (typeof payload !== 'string' || !Object.hasOwn(NON_FINITE, payload)) throw new Stop('bad number');
  return NON_FINITE[payload]!;
}

/** The largest time value a Date holds (ECMA-262 21.4.1.1). */
const MAX_TIME = 8.64e15;

const HEX = /^-?[0-9a-f]+$/;

function decodeBigInt(payload: unknown): bigint {
  if (typeof payload !== 'string' || !HEX.test(payload)) throw new Stop('bad bigint');
  return payload.startsWith('-') ? -BigInt(`0x${payload.slice(1)}`) : BigInt(`0x${payload}`);
}

function decodeMap(payload: unknown, depth: number): Map<unknown, unknown> {
  nest(depth);
  const flat = expectArray(payload, 'Map');
  if (flat.length % 2 !== 0) throw new Stop('bad Map');
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < flat.length; i += 2) {
    mapSet.call(map, decodeElement(flat[i], depth), decodeElement(flat[i + 1], depth));
  }
  return map;
}

function decodeSet(payload: unknown, depth: number): Set<unknown> {
  nest(depth);
  const set = new Set<unknown>();
  for (const item of expectArray(payload, 'Set')) setAdd.call(set, decodeElement(item, depth));
  return set;
}

/** An element of a Map or Set: any value but a hole. */
function decodeElement(node: unknown, depth: number): unknown {
  if (typeof node === 'object' && node !== null && isHole(node)) throw new Stop('a hole outside an array');
  return decodeValue(node, depth + 1);
}

// ---------------------------------------------------------------------------------------------------
// Bytes

interface NodeBuffer {
  from(buffer: ArrayBuffer, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(text: string, encoding: 'base64'): Uint8Array;
}
/** Node's Buffer where there is one (much faster than btoa/atob); the codec works without it. */
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

function toBase64(buffer: ArrayBuffer, byteOffset: number, byteLength: number, budget: Budget): string {
  budget.spend(Math.ceil(byteLength / 3) * 4 + 17);
  if (nodeBuffer) return nodeBuffer.from(buffer, byteOffset, byteLength).toString('base64');
  const bytes = new Uint8Array(buffer, byteOffset, byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes in a fresh ArrayBuffer of their exact length. */
function fromBase64(payload: unknown): Uint8Array {
  if (typeof payload !== 'string' || !BASE64.test(payload)) throw new Stop('bad base64');
  if (nodeBuffer) {
    const decoded = nodeBuffer.from(payload, 'base64');
    const bytes = new Uint8Array(decoded.byteLength);
    bytes.set(decoded);
    return bytes;
  }
  const binary = atob(payload);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether `text` takes more than `maxBytes` bytes in UTF-8 (a lone surrogate never occurs: JSON escapes it). */
function utf8BytesOver(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes > maxBytes;
}
