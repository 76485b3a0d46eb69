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

/** Items of an array (or keys of an object) rendered before `...`. */
const MAX_ITEMS = 10;
/** Levels of nesting rendered before `[Array]` / `[Object]`. */
const MAX_DEPTH = 4;

/**
 * A short, single-line rendering of any value for error messages: strings are quoted, functions named,
 * arrays and plain objects shown as JSON-like text, so the message echoes the bad input. Bounded in
 * time and output whatever the value: at most `maxLength` characters (default 200, truncated with
 * `...`), at most 10 items or keys per level and 4 levels deep, so a 64 MB Buffer or an array-like of
 * length 2³²−1 is rendered as fast as a small one. Never throws.
 */
export function describe(value: unknown, maxLength = 200): string {
  // Numbers, booleans and the like (keys in NotFoundError messages) need no walk.
  const budget = Math.max(4, maxLength);
  if (typeof value !== 'object' && typeof value !== 'string' && typeof value !== 'function') {
    return truncate(primitive(value), budget);
  }
  let text: string;
  try {
    text = render(value, budget);
  } catch {
    // A revoked proxy, a throwing trap: even Object.prototype.toString can throw on those.
    try {
      text = objectToString.call(value);
    } catch {
      text = '[unreadable value]';
    }
  }
  return truncate(text, budget);
}

function truncate(text: string, budget: number): string {
  return text.length > budget ? `${text.slice(0, budget - 3)}...` : text;
}

/** Renders until the output passes `budget` characters, then stops reading the value. */
function render(value: unknown, budget: number): string {
  let out = '';
  const path = new Set<object>();
  const full = () => out.length > budget;
  const visit = (item: unknown, depth: number): void => {
    if (typeof item === 'string') {
      out += JSON.stringify(item.length > budget ? item.slice(0, budget) : item);
      return;
    }
    if (typeof item !== 'object' || item === null) {
      out += primitive(item);
      return;
    }
    if (path.has(item)) {
      out += '[Circular]';
      return;
    }
    if (item instanceof Map) {
      out += `Map(${item.size})`;
      return;
    }
    if (item instanceof Set) {
      out += `Set(${item.size})`;
      return;
    }
    if (item instanceof Date) {
      out += JSON.stringify(item) ?? 'null';
      return;
    }
    if (item instanceof Error) {
      out += `[${String(item.name).slice(0, budget)}: ${String(item.message).slice(0, budget)}]`;
      return;
    }
    if (item instanceof ArrayBuffer) {
      out += `ArrayBuffer(${item.byteLength})`;
      return;
    }
    if (ArrayBuffer.isView(item)) {
      if (item instanceof DataView) {
        out += `DataView(${item.byteLength})`;
        return;
      }
      const view = item as unknown as ArrayLike<unknown>;
      out += `${item.constructor?.name ?? 'TypedArray'}(${view.length}) `;
      list(view, depth);
      return;
    }
    if (Array.isArray(item)) {
      if (depth >= MAX_DEPTH) out += '[Array]';
      else {
        path.add(item);
        list(item, depth);
        path.delete(item);
      }
      return;
    }
    if (depth >= MAX_DEPTH) {
      out += '[Object]';
      return;
    }
    path.add(item);
    out += '{';
    // Own enumerable keys only (a user toJSON is never called: it could do anything, at any cost).
    const keys = Object.keys(item);
    for (let shown = 0; shown < keys.length; shown++) {
      if (shown > 0) out += ',';
      if (shown === MAX_ITEMS || full()) {
        out += '...';
        break;
      }
      const key = keys[shown]!;
      out += `${JSON.stringify(key.length > budget ? key.slice(0, budget) : key)}:`;
      visit((item as Record<string, unknown>)[key], depth + 1);
    }
    out += '}';
    path.delete(item);
  };
  /** The first items of an array or array-like, read by index (never the whole of it). */
  const list = (items: ArrayLike<unknown>, depth: number): void => {
    out += '[';
    const shown = Math.min(items.length, MAX_ITEMS);
    for (let i = 0; i < shown && !full(); i++) {
      if (i > 0) out += ',';
      visit(items[i], depth + 1);
    }
    if (items.length > shown || full()) out += `${shown > 0 ? ',' : ''}... ${items.length} items`;
    out += ']';
  };
  visit(value, 0);
  return out;
}

function primitive(value: unknown): string {
  if (typeof value === 'function') return `[function ${value.name || '(anonymous)'}]`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  return String(value);
}

/**
 * Rejects a key the batch function found no value for (absent from its `Map`, or `null`/`undefined`
 * in its array), when the loader was built with `onMissing: 'error'`. `key` is the key that was asked
 * for; `reason` says how it was not found.
 */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly key: unknown;
  readonly loader: string | null;

  constructor(key: unknown, loader: string | null, reason = "the batch function's Map has no entry for it") {
    super(`${loader ?? 'DataLoader'}: no value for key ${describe(key)} (${reason})`);
    this.key = key;
    this.loader = loader;
  }
}
