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
  if (Array.isArray(result) && result.length === keys.length) return result;
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
  if (!isArrayLike(result)) {
    throw new TypeError(
      `${BATCH_CONTRACT}, but the function did not return a Promise of an Array or Map: ${describe(result)}.`,
    );
  }
  if (result.length !== keys.length) {
    throw new TypeError(
      `${BATCH_CONTRACT}, but the function did not return a Promise of an Array of the same length as the Array of keys.` +
        `\n\nKeys (${keys.length}):\n${describe(keys)}\n\nValues (${result.length}):\n${describe(Array.from(result))}`,
    );
  }
  return result;
}
