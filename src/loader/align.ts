/**
 * Turns what a batch function answered into values aligned with its keys. Shared by the core loader
 * and the shared-cache tier, so both read arrays and Maps the same way.
 */
import { describe, NotFoundError } from '../errors.js';

export const BATCH_CONTRACT =
  'DataLoader must be constructed with a function which accepts Array<key> and returns Promise<Array<value>>';

export function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const length = (value as { length?: unknown }).length;
  return typeof length === 'number' && (length === 0 || (length > 0 && Object.hasOwn(value, length - 1)));
}

/**
 * `values[i]` answers `keys[i]`: an array is checked for length, a Map is looked up by key, then by
 * cache key (`cacheKeyAt(i)`, when keys have cache keys of their own). An absent Map key resolves to
 * null, or with `missingAsError` to a NotFoundError. Throws a TypeError that states the contract for
 * anything else.
 */
export function alignResults<K>(
  result: unknown,
  keys: readonly K[],
  cacheKeyAt: ((i: number) => unknown) | null,
  missingAsError: boolean,
  loader: string | null,
): ArrayLike<unknown> {
  // The common answer first: an array of the right length needs no other check.
  if (Array.isArray(result) && result.length === keys.length)
    return missingAsError ? rejectNotFound(result, keys, loader) : result;
  if (result instanceof Map) {
    const values = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (result.has(key)) {
        values[i] = result.get(key);
        continue;
      }
      const cacheKey = cacheKeyAt === null ? key : cacheKeyAt(i);
      if (cacheKey !== key && result.has(cacheKey)) values[i] = result.get(cacheKey);
      else values[i] = missingAsError ? new NotFoundError(key, loader) : null;
    }
    return values;
  }
  // A sparse array (`new Array(3)`) is an array all the same: only its length can be wrong.
  if (!Array.isArray(result) && !isArrayLike(result)) {
    if (loader !== null)
      throw new TypeError(
        `${contract(loader, keys.length)}; it resolved with: ${describe(result)}.\n\nKeys (${keys.length}): ${preview(keys)}`,
      );
    throw new TypeError(
      `${BATCH_CONTRACT}, but the function did not return a Promise of an Array or Map: ${describe(result)}.`,
    );
  }
  if (result.length !== keys.length) {
    // Previews only: the answer may be huge (a Buffer, an array-like of length 2³²−1), never copy it.
    if (loader !== null) {
      throw new TypeError(
        `${contract(loader, keys.length)}; it resolved with ${kindOf(result)}.` +
          `\n\nKeys (${keys.length}): ${preview(keys)}\nValues (${result.length}): ${preview(result)}`,
      );
    }
    throw new TypeError(
      `${BATCH_CONTRACT}, but the function did not return a Promise of an Array of the same length as the Array of keys.` +
        `\n\nKeys (${keys.length}):\n${preview(keys)}\n\nValues (${result.length}):\n${preview(result)}`,
    );
  }
  return missingAsError ? rejectNotFound(result, keys, loader) : result;
}

/**
 * `onMissing: 'error'` for an array answer: `null` and `undefined` (holes too) become NotFoundErrors,
 * as keys absent from a Map do. Copies the answer only when there is one (the answer stays the user's).
 */
function rejectNotFound<K>(
  values: ArrayLike<unknown>,
  keys: readonly K[],
  loader: string | null,
): ArrayLike<unknown> {
  let out: unknown[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value !== null && value !== undefined) continue;
    if (out === null) out = Array.from(values);
    out[i] = new NotFoundError(keys[i], loader, `the batch function answered ${value} for it`);
  }
  return out ?? values;
}

/** The batch contract, for a named loader's errors. */
function contract(loader: string, keys: number): string {
  return `Loader ${JSON.stringify(loader)}: the batch function must resolve with one value per key, in key order (an array of ${keys}), or a Map`;
}

/** "an array of 2", "a Buffer of length 2", "an array-like object of length 2". */
function kindOf(result: ArrayLike<unknown>): string {
  if (Array.isArray(result)) return `an array of ${result.length}`;
  const type = (result as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof type === 'string' && type !== '' && type !== 'Object') {
    return `${/^[AEIO]/.test(type) ? 'an' : 'a'} ${type} of length ${result.length}`;
  }
  return `an array-like object of length ${result.length}`;
}

const PREVIEW_ITEMS = 10;
const PREVIEW_ITEM_LENGTH = 60;

/** The first items, each bounded: `[1,2,... 50 items]`. Reads only the items it shows. */
function preview(items: ArrayLike<unknown>): string {
  const shown = Math.min(items.length, PREVIEW_ITEMS);
  const parts: string[] = [];
  for (let i = 0; i < shown; i++) parts.push(describe(items[i], PREVIEW_ITEM_LENGTH));
  if (items.length > shown) parts.push(`... ${items.length} items`);
  return `[${parts.join(',')}]`;
}
