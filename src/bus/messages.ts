/**
 * The messages of the invalidation bus, as the text a transport carries (JSON, version 1):
 *
 *     {"v":1,"o":origin,"t":sentAt,"k":[[loader, scope, [key, …]], …],"s":[[loader, scope], …],"i":id,"w":1}
 *     {"v":1,"o":origin,"t":sentAt,"a":[target, id]}
 *     {"v":1,"o":origin,"t":sentAt,"p":nonce}
 *
 * `o` is the sending bus (an instance); `t` its clock (epoch ms) when it sent, for the propagation lag;
 * `loader` a loader's base (keys.ts loaderBase: prefix, name and version, length-prefixed), `scope` a
 * scope string, each `key` a key's canonical encoding (keys.ts encodeKey). `k` lists dropped keys, `s`
 * dropped scopes. `i` and `w` are on messages whose sender waits for acknowledgements (scope
 * invalidations): every receiver answers with an `a` message naming the sender and the id. A `p` message
 * is a probe a bus sends itself (to prove, after a reconnect, that its listening connection hears the
 * channel of the server its client publishes to); the others ignore it.
 *
 * `decodeMessage` never throws and never calls user code: whatever is not a message of this shape is
 * `null` (the bus counts it as garbage). A stranger who can publish on the channel can make instances
 * drop entries, and forge acknowledgements (ending an `invalidateScope`'s wait early): whoever can
 * write to the Redis can break any cache on it; nothing on the channel makes an instance serve an entry.
 */

/** Keys of one loader and scope to drop. */
export type KeyDrop = readonly [loader: string, scope: string, keys: readonly string[]];
/** A scope of one loader to drop. */
export type ScopeDrop = readonly [loader: string, scope: string];

export interface DropMessage {
  readonly origin: string;
  readonly sentAt: number;
  readonly keys: readonly KeyDrop[];
  readonly scopes: readonly ScopeDrop[];
  /** Set when the sender waits for acknowledgements. */
  readonly id?: string;
}

export interface AckMessage {
  readonly origin: string;
  readonly sentAt: number;
  /** The bus whose message is acknowledged, and that message's id. */
  readonly target: string;
  readonly id: string;
}

export interface ProbeMessage {
  readonly origin: string;
  readonly sentAt: number;
  readonly probe: string;
}

export type BusMessage = DropMessage | AckMessage | ProbeMessage;

/** The largest message text a bus accepts (UTF-16 units); longer ones are garbage. */
export const MAX_MESSAGE_LENGTH = 4 * 1024 * 1024;

export function encodeDrop(message: DropMessage): string {
  const out: Record<string, unknown> = { v: 1, o: message.origin, t: message.sentAt };
  if (message.keys.length > 0) out.k = message.keys;
  if (message.scopes.length > 0) out.s = message.scopes;
  if (message.id !== undefined) {
    out.i = message.id;
    out.w = 1;
  }
  return JSON.stringify(out);
}

export function encodeProbe(message: ProbeMessage): string {
  return JSON.stringify({ v: 1, o: message.origin, t: message.sentAt, p: message.probe });
}

export function encodeAck(message: AckMessage): string {
  return JSON.stringify({ v: 1, o: message.origin, t: message.sentAt, a: [message.target, message.id] });
}

/** The message a text holds, or null when it is not one. */
export function decodeMessage(text: unknown): BusMessage | null {
  if (typeof text !== 'string' || text.length > MAX_MESSAGE_LENGTH) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const raw = parsed as Record<string, unknown>;
  if (raw.v !== 1 || typeof raw.o !== 'string' || raw.o === '') return null;
  const sentAt = raw.t;
  if (typeof sentAt !== 'number' || !Number.isFinite(sentAt)) return null;
  if (raw.p !== undefined) return isString(raw.p) ? { origin: raw.o, sentAt, probe: raw.p } : null;
  if (raw.a !== undefined) {
    const ack = raw.a;
    if (!Array.isArray(ack) || ack.length !== 2 || !isString(ack[0]) || !isString(ack[1])) return null;
    return { origin: raw.o, sentAt, target: ack[0], id: ack[1] };
  }
  const keys = raw.k ?? [];
  const scopes = raw.s ?? [];
  if (!Array.isArray(keys) || !keys.every(isKeyDrop)) return null;
  if (!Array.isArray(scopes) || !scopes.every(isScopeDrop)) return null;
  if (keys.length === 0 && scopes.length === 0) return null;
  if (raw.i !== undefined && !isString(raw.i)) return null;
  return {
    origin: raw.o,
    sentAt,
    keys: keys as KeyDrop[],
    scopes: scopes as ScopeDrop[],
    ...(raw.i === undefined ? {} : { id: raw.i as string }),
  };
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isKeyDrop(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    isString(value[0]) &&
    isString(value[1]) &&
    Array.isArray(value[2]) &&
    value[2].every(isString)
  );
}

function isScopeDrop(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && isString(value[0]) && isString(value[1]);
}
