/**
 * The rules for values kept in a shared cache. A loaded value is kept in process and handed to every
 * later request of the same scope, so it is shared only if every request gets a faithful copy that no
 * request can change for another. A value is shareable when all of it (every object reachable from it)
 * follows these rules:
 *
 * - Primitives: strings, numbers, bigints, booleans, null and undefined. No symbols, no functions
 *   (classes included), anywhere: not as values, not as keys, not inside a Map or Set.
 * - Objects have exactly one of these prototypes: `Object.prototype` or `null` (plain objects),
 *   `Array.prototype` (arrays), or the prototype of `Date`, `Map`, `Set`, `RegExp`, `ArrayBuffer`,
 *   `DataView` or one typed array (`Uint8Array`, `Int32Array`, `Float64Array`, …). Subclasses (a Node
 *   `Buffer`, a Map subclass, an Array subclass) and class instances are refused: a copy would lose
 *   their class.
 * - A plain object's own properties are all enumerable string-keyed data properties. An array's own
 *   properties are its index properties (each an enumerable data property; holes are fine) and
 *   `length`, nothing else. No accessor (getter or setter) anywhere: they are detected without being
 *   called, so a throwing getter never throws out of these checks.
 * - A Date, Map, Set, ArrayBuffer or DataView has no own properties at all, a typed array none but its
 *   elements (structuredClone would drop them). A RegExp is shared only if its one own property,
 *   `lastIndex`, is 0 (a copy resets it to 0). An object with a built-in's prototype is one really.
 * - A typed array holds at most {@link MAX_SHARED_TYPED_ARRAY_LENGTH} elements: telling its own
 *   properties from its elements takes time proportional to its length, so a longer one is refused
 *   (share its ArrayBuffer, which has no elements to list, or a DataView of it). Its buffer, and a
 *   DataView's, is an `ArrayBuffer` that is not detached (a copy would throw), not a
 *   `SharedArrayBuffer` (a copy would share its memory).
 * - The keys and values of a Map and the values of a Set follow the same rules (they are copied on
 *   every read, and a copy would drop or call what the rules refuse).
 * - No cycles (a remote codec cannot encode them); sub-objects shared within the value are fine, and
 *   each is inspected once, so the checks take time linear in the value's size.
 * - At most {@link MAX_SHARED_DEPTH} levels of nested objects.
 * - A null-prototype object is fine in a value that is frozen, not in one that is copied on read
 *   (`structuredClone` would give the copy `Object.prototype`).
 *
 * How a shareable value is handed out:
 * - Plain data (plain objects and arrays only) is deep-frozen in place when it enters the cache, and
 *   every request reads that same object for free. Parts frozen before (a value shared earlier) are
 *   fine; frozen parts that break a rule are refused like any other.
 * - A value with a built-in (Date, Map, Set, RegExp, ArrayBuffer, DataView, typed array) anywhere in
 *   it, which freezing cannot protect, is copied with `structuredClone` when it enters the cache (so
 *   the source keeps no handle on the stored copy) and again on every read.
 * - Anything else is unshareable: the caller serves it, unchanged and unfrozen, to the request that
 *   loaded it only, and can report the reason `toShared` gives. All checks run before anything is
 *   frozen.
 *
 * A Proxy cannot be told from its target in JavaScript: one whose traps throw is unshareable (one whose
 * traps refuse freezing may be left partly frozen); one over plain data is shared like plain data (once
 * it is frozen, the language forces its reads to report the frozen target's values).
 */

export type Sharing =
  /** Deep-frozen plain data: hand out as is. */
  | 'frozen'
  /** Contains mutable built-ins: hand out a structured clone per read. */
  | 'cloned'
  /** Cannot be shared safely. */
  | 'unshareable';

/** A value ready to be shared, with how to hand it out ('cloned': `value` is the cache's own copy). */
export interface SharedValue<V> {
  readonly value: V;
  readonly sharing: Exclude<Sharing, 'unshareable'>;
}

/** Why a value cannot be shared: a short sentence naming what and where (`$` is the value itself). */
export interface Unshareable {
  readonly reason: string;
}

/** Objects nested deeper than this (the value itself is level 1) make a value unshareable. */
export const MAX_SHARED_DEPTH = 1000;

/** Typed arrays longer than this make a value unshareable (see the rules above). */
export const MAX_SHARED_TYPED_ARRAY_LENGTH = 4096;

/** The longest reason `toShared` gives, in characters. */
const MAX_REASON_LENGTH = 240;

const { getPrototypeOf, getOwnPropertyNames, getOwnPropertySymbols, getOwnPropertyDescriptor, freeze } =
  Object;
const { isArray } = Array;
const objectKeys = Object.keys;
const OBJECT_PROTOTYPE = Object.prototype;
/** Annex B's accessor lookups (own, then inherited): they call nothing and allocate no descriptor. */
interface AccessorLookups {
  __lookupGetter__(this: object, key: PropertyKey): unknown;
  __lookupSetter__(this: object, key: PropertyKey): unknown;
}
const { __lookupGetter__: lookupGetter, __lookupSetter__: lookupSetter } =
  OBJECT_PROTOTYPE as unknown as AccessorLookups;
const ARRAY_PROTOTYPE = Array.prototype;

/** The intrinsic getter of a built-in prototype's accessor property. */
function intrinsicGetter(prototype: object, key: PropertyKey): (this: unknown) => unknown {
  return getOwnPropertyDescriptor(prototype, key)!.get as (this: unknown) => unknown;
}

const TYPED_ARRAY_PROTOTYPE: object = getPrototypeOf(Uint8Array.prototype);
const typedArrayName = intrinsicGetter(TYPED_ARRAY_PROTOTYPE, Symbol.toStringTag);
const typedArrayBuffer = intrinsicGetter(TYPED_ARRAY_PROTOTYPE, 'buffer');
const typedArrayLength = intrinsicGetter(TYPED_ARRAY_PROTOTYPE, 'length');
const dataViewBuffer = intrinsicGetter(DataView.prototype, 'buffer');
const arrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength');
const arrayBufferSlice = ArrayBuffer.prototype.slice;
const dateGetTime = Date.prototype.getTime;
const mapSize = intrinsicGetter(Map.prototype, 'size');
const mapEntries = Map.prototype.entries;
const setSize = intrinsicGetter(Set.prototype, 'size');
const setValues = Set.prototype.values;
const regExpSource = intrinsicGetter(RegExp.prototype, 'source');

const DATE = 1;
const MAP = 2;
const SET = 3;
const REGEXP = 4;
const ARRAY_BUFFER = 5;
const DATA_VIEW = 6;
const TYPED_ARRAY = 7;

interface BuiltIn {
  readonly name: string;
  readonly kind: number;
}

/** The built-ins a value may hold, by their exact prototype. */
const BUILT_INS = new Map<object, BuiltIn>([
  [Date.prototype, { name: 'Date', kind: DATE }],
  [Map.prototype, { name: 'Map', kind: MAP }],
  [Set.prototype, { name: 'Set', kind: SET }],
  [RegExp.prototype, { name: 'RegExp', kind: REGEXP }],
  [ArrayBuffer.prototype, { name: 'ArrayBuffer', kind: ARRAY_BUFFER }],
  [DataView.prototype, { name: 'DataView', kind: DATA_VIEW }],
  ...[
    Uint8Array,
    Uint8ClampedArray,
    Int8Array,
    Uint16Array,
    Int16Array,
    Uint32Array,
    Int32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((type): [object, BuiltIn] => [type.prototype, { name: type.name, kind: TYPED_ARRAY }]),
]);

/** Marks, on the walk's stack, the end of the children of the object on top of the path. */
const END_OF_CHILDREN = {};

/** What `inspect` found: how to share the value, or why not. */
type Verdict =
  | { readonly sharing: 'frozen'; readonly objects: Map<object, number> | null }
  | { readonly sharing: 'cloned' }
  | { readonly sharing: 'unshareable'; readonly reason: string };

const FROZEN_PRIMITIVE: Verdict = { sharing: 'frozen', objects: null };

/** Classifies a value for sharing without changing it (see the rules at the top of this file). */
export function classify(value: unknown): Sharing {
  return inspect(value).sharing;
}

/**
 * Prepares a value for the shared cache. Checks all of it first; then deep-freezes plain data in place
 * (the same object comes back), or copies a value with built-ins, or, for a value that cannot be
 * shared, changes nothing and returns why.
 */
export function toShared<V>(value: V): SharedValue<V> | Unshareable {
  const verdict = inspect(value);
  if (verdict.sharing === 'unshareable') return { reason: verdict.reason };
  if (verdict.sharing === 'cloned') {
    try {
      return { value: structuredClone(value), sharing: 'cloned' };
    } catch (error) {
      return { reason: bounded(`a value structuredClone refused (${describeError(error)})`) };
    }
  }
  if (verdict.objects !== null) {
    try {
      for (const object of verdict.objects.keys()) freeze(object);
    } catch (error) {
      return { reason: bounded(`a value that could not be frozen (a Proxy?): ${describeError(error)}`) };
    }
  }
  return { value, sharing: 'frozen' };
}

/** What a request receives for a shared value. */
export function fromShared<V>(shared: SharedValue<V>): V {
  return shared.sharing === 'frozen' ? shared.value : structuredClone(shared.value);
}

/**
 * Freezes a value in place, all the way down through own data properties (string- and symbol-keyed;
 * accessors are not called, and typed arrays and DataViews, which cannot be frozen, are left as they
 * are). Visits each object once, without recursion, so shared sub-objects, cycles and deep nesting are
 * fine. Returns the same value.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const seen = new Set<object>([value]);
  const pending: object[] = [value];
  while (pending.length > 0) {
    const object = pending.pop()!;
    if (!ArrayBuffer.isView(object)) freeze(object);
    for (const key of [...getOwnPropertyNames(object), ...getOwnPropertySymbols(object)]) {
      const item = getOwnPropertyDescriptor(object, key)?.value;
      if (typeof item === 'object' && item !== null) {
        if (!seen.has(item)) {
          seen.add(item);
          pending.push(item);
        }
      }
    }
  }
  return value;
}

/**
 * Checks a whole value against the rules, visiting each object once, depth first, without recursion
 * (so nesting of any depth is measured, not overflowed). `states` records every object seen: 0 while
 * its children are being visited (meeting it again then is a cycle), afterwards the height of its
 * subtree in levels (so reaching it again through a longer path still respects the depth bound).
 */
function inspect(root: unknown): Verdict {
  if (typeof root !== 'object' || root === null) {
    const what = refusedPrimitive(root);
    return what === null ? FROZEN_PRIMITIVE : unshareable(`${what} at $`);
  }
  const states = new Map<object, number>();
  /** Objects still to visit, and END_OF_CHILDREN markers. */
  const stack: unknown[] = [root];
  /** The object whose children are being visited, and its ancestors, root first. */
  const path: object[] = [];
  /** For each object on the path, the height of its highest child subtree so far. */
  const heights: number[] = [];
  let cloned = false;
  /** Where the first null-prototype object is, as a chain of objects (refused if the value is cloned). */
  let nullPrototypeAt: object[] | null = null;
  let object: object = root;
  try {
    while (stack.length > 0) {
      const item = stack.pop();
      if (item === END_OF_CHILDREN) {
        const done = path.pop()!;
        const height = heights.pop()! + 1;
        states.set(done, height);
        if (heights.length > 0 && heights[heights.length - 1]! < height) heights[heights.length - 1] = height;
        continue;
      }
      object = item as object;
      const depth = path.length + 1;
      const state = states.get(object);
      if (state !== undefined) {
        if (state === 0) return unshareable(`a cycle at ${locate([...path, object])}`);
        if (depth + state - 1 > MAX_SHARED_DEPTH) return tooDeep([...path, object]);
        if (heights[heights.length - 1]! < state) heights[heights.length - 1] = state;
        continue;
      }
      if (depth > MAX_SHARED_DEPTH) return tooDeep([...path, object]);
      let hasChildren = false;
      const prototype = getPrototypeOf(object);
      if (
        prototype === OBJECT_PROTOTYPE ||
        prototype === null ||
        (prototype === ARRAY_PROTOTYPE && isArray(object))
      ) {
        const array = prototype === ARRAY_PROTOTYPE;
        if (prototype === null && nullPrototypeAt === null) nullPrototypeAt = [...path, object];
        const names = getOwnPropertyNames(object);
        let count = names.length;
        if (array) {
          // Own keys list indices first, then `length` (made with the array), then any other string.
          count -= 1;
          if (names[count] !== 'length') {
            const extra = names[names.indexOf('length') + 1]!;
            return refuseProperty(`a non-index property ${quote(extra)} on an array`, path, object);
          }
        }
        if (getOwnPropertySymbols(object).length > 0) {
          const key = getOwnPropertySymbols(object)[0]!;
          return refuseProperty(`a symbol-keyed property ${describeSymbol(key)}`, path, object);
        }
        // A packed array whose elements are all enumerable (so are all its own properties but `length`):
        // two lookups per element tell data from accessors without allocating a descriptor for each.
        const packed = array && count === (object as unknown[]).length && objectKeys(object).length === count;
        for (let i = 0; i < count; i++) {
          let value: unknown;
          if (packed) {
            if (lookupGetter.call(object, i) !== undefined || lookupSetter.call(object, i) !== undefined)
              return refuseProperty(`an accessor property "${i}"`, path, object);
            value = (object as unknown[])[i];
            // An accessor with neither getter nor setter reads as undefined too.
            if (value === undefined && getOwnPropertyDescriptor(object, i)!.writable === undefined)
              return refuseProperty(`an accessor property "${i}"`, path, object);
          } else {
            const key = names[i]!;
            const descriptor = getOwnPropertyDescriptor(object, key)!;
            if (descriptor.writable === undefined)
              return refuseProperty(`an accessor property ${quote(key)}`, path, object);
            if (!descriptor.enumerable)
              return refuseProperty(`a non-enumerable property ${quote(key)}`, path, object);
            value = descriptor.value;
          }
          if (typeof value === 'object' && value !== null) {
            if (!hasChildren) {
              hasChildren = true;
              beginChildren(object, states, stack, path, heights);
            }
            stack.push(value);
          } else if (typeof value === 'function' || typeof value === 'symbol') {
            return unshareable(
              `${refusedPrimitive(value)} at ${locate(holderChain(path, object), names[i]!)}`,
            );
          }
        }
      } else {
        if (prototype === ARRAY_PROTOTYPE)
          return unshareable(
            `an object posing as an Array (its prototype, not one) at ${locate([...path, object])}`,
          );
        const builtIn = BUILT_INS.get(prototype);
        if (builtIn === undefined)
          return unshareable(`${describeRefusedObject(object)} at ${locate([...path, object])}`);
        const what = refusedBuiltIn(object, builtIn);
        if (what !== null) return unshareable(`${what} at ${locate([...path, object])}`);
        cloned = true;
        if (builtIn.kind === MAP || builtIn.kind === SET) {
          const members: unknown[] = [];
          if (builtIn.kind === MAP) {
            for (const [key, value] of mapEntries.call(object as Map<unknown, unknown>))
              members.push(key, value);
          } else {
            for (const value of setValues.call(object as Set<unknown>)) members.push(value);
          }
          for (const member of members) {
            if (typeof member === 'object' && member !== null) {
              if (!hasChildren) {
                hasChildren = true;
                beginChildren(object, states, stack, path, heights);
              }
              stack.push(member);
            } else if (typeof member === 'function' || typeof member === 'symbol') {
              const where = locate(holderChain(path, object), undefined, member);
              return unshareable(`${refusedPrimitive(member)} in a ${builtIn.name} at ${where}`);
            }
          }
        }
      }
      if (!hasChildren) {
        states.set(object, 1);
        if (heights.length > 0 && heights[heights.length - 1]! < 1) heights[heights.length - 1] = 1;
      }
    }
  } catch (error) {
    let where: string;
    try {
      where = locate(holderChain(path, object));
    } catch {
      where = '$…';
    }
    return unshareable(`a value that threw when inspected (a Proxy?) at ${where}: ${describeError(error)}`);
  }
  if (!cloned) return { sharing: 'frozen', objects: states };
  if (nullPrototypeAt !== null) {
    return unshareable(
      `a null-prototype object in a value copied on read (the copy would get Object.prototype) at ${locate(nullPrototypeAt)}`,
    );
  }
  return { sharing: 'cloned' };
}

/** Puts an object on the path, its children to be pushed on the stack above the end marker. */
function beginChildren(
  object: object,
  states: Map<object, number>,
  stack: unknown[],
  path: object[],
  heights: number[],
) {
  states.set(object, 0);
  path.push(object);
  heights.push(0);
  stack.push(END_OF_CHILDREN);
}

/** The chain of objects from the root to an object being visited (on the path already, or not yet). */
function holderChain(path: readonly object[], object: object): object[] {
  return path[path.length - 1] === object ? [...path] : [...path, object];
}

function unshareable(reason: string): Verdict {
  return { sharing: 'unshareable', reason: bounded(reason) };
}

function refuseProperty(what: string, path: readonly object[], object: object): Verdict {
  return unshareable(`${what} at ${locate(holderChain(path, object))}`);
}

function tooDeep(chain: readonly object[]): Verdict {
  return unshareable(`nesting deeper than ${MAX_SHARED_DEPTH} levels at ${locate(chain)}`);
}

/** What a refused primitive is, or null for one that may be shared. */
function refusedPrimitive(value: unknown): string | null {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return null;
}

/** What is wrong with a built-in with the right prototype, or null when it may be shared. */
function refusedBuiltIn(object: object, builtIn: BuiltIn): string | null {
  const article = articleFor(builtIn.name);
  if (!hasBrand(object, builtIn))
    return `an object posing as ${article} ${builtIn.name} (its prototype, not one)`;
  const names = getOwnPropertyNames(object);
  const symbols = getOwnPropertySymbols(object);
  if (symbols.length > 0)
    return `a symbol-keyed property ${describeSymbol(symbols[0]!)} on ${article} ${builtIn.name}`;
  switch (builtIn.kind) {
    case REGEXP: {
      const extra = names.find((name) => name !== 'lastIndex');
      if (extra !== undefined) return `an own property ${quote(extra)} on a RegExp`;
      const lastIndex = getOwnPropertyDescriptor(object, 'lastIndex')?.value;
      if (lastIndex !== 0) return `a RegExp whose lastIndex is ${truncate(String(lastIndex), 20)}, not 0`;
      return null;
    }
    case TYPED_ARRAY: {
      const length = typedArrayLength.call(object) as number;
      if (length > MAX_SHARED_TYPED_ARRAY_LENGTH)
        return `${article} ${builtIn.name} of ${length} elements (more than ${MAX_SHARED_TYPED_ARRAY_LENGTH}: share its ArrayBuffer instead)`;
      // Own keys list the elements first, then any own property.
      if (names.length > length)
        return `an own property ${quote(names[length]!)} on ${article} ${builtIn.name}`;
      return refusedBuffer(typedArrayBuffer.call(object) as object, `${article} ${builtIn.name}`);
    }
    default:
      if (names.length > 0) return `an own property ${quote(names[0]!)} on ${article} ${builtIn.name}`;
      if (builtIn.kind === ARRAY_BUFFER) return isDetached(object) ? 'a detached ArrayBuffer' : null;
      if (builtIn.kind === DATA_VIEW)
        return refusedBuffer(dataViewBuffer.call(object) as object, 'a DataView');
      return null;
  }
}

/** What is wrong with the buffer under a typed array or DataView, or null. */
function refusedBuffer(buffer: object, view: string): string | null {
  if (getPrototypeOf(buffer) !== ArrayBuffer.prototype) return `${view} over a SharedArrayBuffer`;
  return isDetached(buffer) ? `${view} over a detached ArrayBuffer` : null;
}

function isDetached(buffer: object): boolean {
  if (arrayBufferByteLength.call(buffer) !== 0) return false;
  try {
    arrayBufferSlice.call(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Whether an object with a built-in's prototype really is one (holds its internal data). */
function hasBrand(object: object, builtIn: BuiltIn): boolean {
  try {
    switch (builtIn.kind) {
      case DATE:
        dateGetTime.call(object);
        return true;
      case MAP:
        mapSize.call(object);
        return true;
      case SET:
        setSize.call(object);
        return true;
      case REGEXP:
        regExpSource.call(object);
        return true;
      case ARRAY_BUFFER:
        arrayBufferByteLength.call(object);
        return true;
      case DATA_VIEW:
        dataViewBuffer.call(object);
        return true;
      default:
        return typedArrayName.call(object) === builtIn.name;
    }
  } catch {
    return false;
  }
}

/**
 * Names an object whose prototype is refused, reading only data properties: `a Buffer (not a plain
 * Uint8Array)`, `a User instance`, `an object with a custom prototype`.
 */
function describeRefusedObject(object: object): string {
  let prototype = getPrototypeOf(object) as object | null;
  const name = constructorName(prototype);
  for (let steps = 0; prototype !== null && steps < 100; steps++) {
    const plain =
      prototype === ARRAY_PROTOTYPE
        ? 'Array'
        : prototype === OBJECT_PROTOTYPE
          ? null
          : BUILT_INS.get(prototype)?.name;
    if (plain === null) break;
    if (plain !== undefined) {
      const label = name ?? 'object';
      return `${articleFor(label)} ${label} (not a plain ${plain})`;
    }
    prototype = getPrototypeOf(prototype) as object | null;
  }
  if (name !== null) return `${articleFor(name)} ${name} instance`;
  return 'an object with a custom prototype';
}

function constructorName(prototype: object | null): string | null {
  if (prototype === null) return null;
  const maker = getOwnPropertyDescriptor(prototype, 'constructor')?.value;
  if (typeof maker !== 'function') return null;
  const name = getOwnPropertyDescriptor(maker, 'name')?.value;
  return typeof name === 'string' && name !== '' ? truncate(name, 40) : null;
}

/**
 * Renders where the last object of a chain (root first) sits: `$`, `$.meta.total`, `$.list[3]`,
 * `$.byId.get(7)`, with an optional last step: a key of the last object, or a member of a Map or Set.
 * Long paths keep their first and last steps.
 */
function locate(chain: readonly object[], key?: string, member?: unknown): string {
  const steps: string[] = [];
  for (let i = 1; i < chain.length; i++) steps.push(stepTo(chain[i - 1]!, chain[i]!));
  const last = chain[chain.length - 1];
  if (key !== undefined) steps.push(propertyStep(key, isArray(last)));
  else if (member !== undefined && last !== undefined) steps.push(stepTo(last, member));
  if (steps.length > 8) steps.splice(3, steps.length - 7, '…');
  return `$${steps.join('')}`;
}

/** The step from an object to one of its property values or Map/Set members. */
function stepTo(parent: object, child: unknown): string {
  const builtIn = BUILT_INS.get(getPrototypeOf(parent) as object);
  if (builtIn?.kind === MAP) {
    let i = 0;
    for (const [key, value] of mapEntries.call(parent as Map<unknown, unknown>)) {
      if (key === child) return `.keys()[${i}]`;
      if (value === child)
        return typeof key === 'object' && key !== null ? `.values()[${i}]` : `.get(${describeMapKey(key)})`;
      i++;
    }
  } else if (builtIn?.kind === SET) {
    let i = 0;
    for (const value of setValues.call(parent as Set<unknown>)) {
      if (value === child) return `.values()[${i}]`;
      i++;
    }
  } else {
    const array = isArray(parent);
    for (const name of getOwnPropertyNames(parent)) {
      if (getOwnPropertyDescriptor(parent, name)?.value === child) return propertyStep(name, array);
    }
  }
  return '.?';
}

function propertyStep(key: string, inArray: boolean): string {
  if (inArray && /^\d+$/.test(key)) return `[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return `.${truncate(key, 40)}`;
  return `[${quote(key)}]`;
}

function describeMapKey(key: unknown): string {
  if (typeof key === 'string') return quote(key);
  if (typeof key === 'bigint') return `${truncate(String(key), 30)}n`;
  return truncate(String(key), 30);
}

function describeSymbol(symbol: symbol): string {
  return truncate(symbol.toString(), 40);
}

function describeError(error: unknown): string {
  try {
    return truncate(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 80);
  } catch {
    return 'unprintable error';
  }
}

function quote(key: string): string {
  return JSON.stringify(truncate(key, 30));
}

function articleFor(word: string): string {
  return /^[aeio]/i.test(word) ? 'an' : 'a';
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function bounded(reason: string): string {
  return truncate(reason, MAX_REASON_LENGTH);
}
