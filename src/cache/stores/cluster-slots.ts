/**
 * Redis Cluster's key slots, as the server computes them: CRC16 (XMODEM: polynomial 0x1021, initial 0)
 * of the key's UTF-8 bytes, modulo 16384 — of only the part between the first `{` and the first `}`
 * after it when that part is not empty (a hash tag). Groundwork for the cluster store (issue #12 §4):
 * a batch is read and written per slot, so it never meets CROSSSLOT.
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
