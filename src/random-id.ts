/**
 * A random id for names that must not collide across instances (bus origins, message ids, lock
 * tokens): Web Crypto's `randomUUID` where there is one (Node, Deno, Bun, secure browser pages), else
 * 128 bits from `getRandomValues`, else Math.random (no crypto at all). No `node:` import, so the core
 * still bundles for a browser.
 */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: Crypto }).crypto;
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
