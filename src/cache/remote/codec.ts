/**
 * The codec between entries and the strings a remote store holds (interim: JSON of plain data only;
 * a value JSON would not give back exactly is refused, so it stays in process). Decoding never throws:
 * anything that is not an entry of ours for the expected key and generation is a miss.
 */

/** What one remote entry holds besides its value. */
export interface EntryEnvelope {
  /** The remote key the entry was written under: an entry a store returns for another key is a miss. */
  readonly key: string;
  /** The scope generation token it was written in; an entry of another generation is a miss. */
  readonly generation: string;
  readonly freshUntil: number;
  readonly staleUntil: number;
  /** null for a cached not-found. */
  readonly value: unknown;
}

const MARK = 'lk0:';
/** Encodings longer than this are not written. */
const MAX_CHARS = 512 * 1024;

/** True when JSON gives `value` back exactly: plain objects and arrays of strings, finite numbers, booleans, null. */
function isJsonFaithful(value: unknown, depth: number, seen: Set<object>): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || depth > 1000 || seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++)
      if (!Object.hasOwn(value, i) || !isJsonFaithful(value[i], depth + 1, seen)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const name of Object.keys(value)) {
    if (name === '__proto__') return false;
    if (!isJsonFaithful((value as Record<string, unknown>)[name], depth + 1, seen)) return false;
  }
  return true;
}

export function encodeEntry(entry: EntryEnvelope): string | { refused: string } {
  try {
    if (!isJsonFaithful(entry.value, 0, new Set()))
      return { refused: 'it is not plain JSON data (the interim codec writes plain data only)' };
    const text =
      MARK + JSON.stringify([entry.key, entry.generation, entry.freshUntil, entry.staleUntil, entry.value]);
    return text.length > MAX_CHARS
      ? { refused: `its encoding is larger than ${MAX_CHARS} characters` }
      : text;
  } catch {
    return { refused: 'it could not be encoded' };
  }
}

export function decodeEntry(
  text: unknown,
  expectedKey: string,
  expectedGeneration: string,
): EntryEnvelope | { miss: 'foreign' | 'corrupt' | 'other-key' | 'other-generation' } {
  if (typeof text !== 'string' || !text.startsWith(MARK)) return { miss: 'foreign' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(MARK.length));
  } catch {
    return { miss: 'corrupt' };
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return { miss: 'corrupt' };
  const [key, generation, freshUntil, staleUntil, value] = parsed as unknown[];
  if (typeof key !== 'string' || typeof generation !== 'string') return { miss: 'corrupt' };
  if (typeof freshUntil !== 'number' || typeof staleUntil !== 'number') return { miss: 'corrupt' };
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil) || staleUntil < freshUntil)
    return { miss: 'corrupt' };
  if (key !== expectedKey) return { miss: 'other-key' };
  if (generation !== expectedGeneration) return { miss: 'other-generation' };
  return { key, generation, freshUntil, staleUntil, value };
}
