/**
 * Error types and the helpers that format bad input into messages.
 */

const objectToString = Object.prototype.toString;

/**
 * True for any `Error`, including one created in another realm (a `vm` context, a worker's structured
 * clone), which fails `instanceof Error`. Checks `instanceof` first so the common case costs one test.
 */
export function isError(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      (value as { stack?: unknown }).stack !== undefined &&
      objectToString.call(value) === '[object Error]')
  );
}

/**
 * A short, single-line rendering of any value for error messages: strings are quoted, functions named,
 * arrays and plain objects shown as JSON (truncated), so the message echoes the bad input.
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `[function ${value.name || '(anonymous)'}]`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Map) return `Map(${value.size})`;
  if (value instanceof Set) return `Set(${value.size})`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    text = undefined;
  }
  if (text === undefined) text = objectToString.call(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * Rejects a key whose batch function answered with a `Map` that has no entry for it, when the loader
 * was built with `onMissing: 'error'`. `key` is the key that was asked for.
 */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly key: unknown;
  readonly loader: string | null;

  constructor(key: unknown, loader: string | null) {
    super(
      `${loader ?? 'DataLoader'}: no value for key ${describe(key)} (the batch function's Map has no entry for it)`,
    );
    this.key = key;
    this.loader = loader;
  }
}
