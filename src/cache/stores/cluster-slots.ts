/**
 * Redis Cluster's key slots, as the server computes them: CRC16 (XMODEM: polynomial 0x1021, initial 0)
 * of the key's UTF-8 bytes, modulo 16384 — of only the part between the first `{` and the first `}`
 * after it when that part is not empty (a hash tag). The store on a Cluster (redis.ts) places its keys by
 * clusterKey and sends one command per slot (pipelined per node), so it never meets CROSSSLOT.
 */

/** The number of slots of a Redis Cluster. */
export const SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

const encoder = new TextEncoder();

/** CRC16/XMODEM of bytes. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++)
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!) & 0xffff;
  return crc;
}

/** The bytes of a key that decide its slot: its hash tag when it has a non-empty one, else all of it. */
function hashedPart(bytes: Uint8Array): Uint8Array {
  const open = bytes.indexOf(0x7b); // {
  if (open === -1) return bytes;
  const close = bytes.indexOf(0x7d, open + 1); // }
  if (close === -1 || close === open + 1) return bytes;
  return bytes.subarray(open + 1, close);
}

/** The slot of a key (a string is hashed as its UTF-8 bytes, as clients send it). */
export function slotOf(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  return crc16(hashedPart(bytes)) % SLOTS;
}

/**
 * The indices of `keys` grouped by slot, in order of first appearance (a multi-key command of each
 * group never meets CROSSSLOT).
 */
export function groupBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = slotOf(keys[i]!);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [i]);
    else group.push(i);
  }
  return [...groups.values()];
}

/**
 * Where loaderkit's keys go on a Redis Cluster (see createRedisStore option `slots`): each key behind a
 * hash tag of our own, `{h}`, `h` 8 hex digits (never a brace), so that no `{` or `}` of a user's key,
 * scope or prefix forms a tag, and distinct keys stay distinct (the tag has a fixed form).
 *
 * - `'per-key'`: `h` hashes the whole key, so the keys of a scope spread over every node.
 * - `'per-scope'`: `h` hashes the key's loader part (prefix, loader, version, scope: see keys.ts
 *   keyBase), so every key of one (loader, scope) pair, its generation and its locks share one slot. A
 *   key not of that layout is placed per key.
 *
 * Not an empty tag (`{}`, which the server reads as none): the slot function of ioredis and node-redis 5
 * (cluster-key-slot 1.1) reads `{}a{b}` as tagged `a{b`, so the client would route such keys to the
 * wrong node.
 */
export function clusterKey(slots: 'per-key' | 'per-scope'): (key: string) => string {
  if (slots === 'per-key') return (key) => `{${fnv1a(key)}}${key}`;
  let lastBase = '';
  let lastTag = '';
  return (key) => {
    const end = loaderScopeEnd(key);
    if (end === -1) return `{${fnv1a(key)}}${key}`;
    if (end !== lastBase.length || !key.startsWith(lastBase)) {
      lastBase = key.slice(0, end);
      lastTag = `{${fnv1a(lastBase)}}`;
    }
    return lastTag + key;
  };
}

/** Where the four length-prefixed parts (`<length>:<text>`) of a key base end, or -1. */
function loaderScopeEnd(key: string): number {
  let at = 0;
  for (let part = 0; part < 4; part++) {
    const colon = key.indexOf(':', at);
    if (colon <= at || colon - at > 10) return -1;
    const length = Number(key.slice(at, colon));
    if (!Number.isSafeInteger(length)) return -1;
    at = colon + 1 + length;
    if (at > key.length) return -1;
  }
  return at;
}

/** FNV-1a (32 bits) of a string's UTF-16 units, as 8 hex digits. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}
