/**
 * The remote tier as the shared tier uses it: entries in and out of the codec, through the resilient
 * facade. One read per batch brings the scope's generation token with every key; writes carry the
 * token the batch read, so a write that lands after an `invalidateScope` is never read. Nothing here
 * throws; a failed call answers null or false.
 *
 * Fences in the store, across instances: an invalidation does not delete a key, it overwrites it with a
 * marker of its own (FENCE_PREFIX and a fresh token, kept FENCE_MS), and every write-back is a
 * compare-and-set against the text its batch read at the key (nothing, a marker, an old entry). A load
 * that read the key before the invalidation, on any instance, finds the marker (or a newer entry) in
 * its place and writes nothing; a load that read the marker writes over it.
 *
 * Fences, in this process: while an invalidation of a key (or a scope) is in the air, reads of it are
 * misses and nothing is written to it, so a load that starts after `invalidate` was called never reads
 * back the entry being deleted, and an invalidation first waits for the write-backs of its keys still in
 * the air (each bounded by the deadline), so none lands after the delete.
 */
import { LRUCache } from 'lru-cache';
import type { Namespace } from '../namespace.js';
import type { LocalEntry, RemoteWrite } from '../store.js';
import { type DecodedEntry, decodeEntry, encodeEntry, FORMAT_MARKER } from './codec.js';
import type { ResilientRemote } from './resilient.js';

/**
 * The longest a remote store keeps anything: entries are written for at most half of it, and a scope's
 * generation token for all of it, so an entry never outlives the token it was written under.
 */
const REMOTE_KEEP_MS = 14 * 24 * 3600 * 1000;

/** What our generation tokens look like; anything else at a generation key is not ours. */
const TOKEN = /^[0-9a-z]{1,16}\.[0-9a-z]{1,16}$/;

/**
 * What an invalidation leaves at a key: this prefix and a fresh token. Reads take it as a miss (not
 * garbage); no entry of the codec starts so.
 */
export const FENCE_PREFIX = 'lk-fence:';

/**
 * How long an invalidation's marker stays: a load that read the key before the invalidation and writes
 * back later than this (its source took longer) is no longer fenced.
 */
export const FENCE_MS = 10 * 60 * 1000;

/** How long a made token is lent to other batches of its cold scope at most (see RemoteTier.madeTokens). */
const MADE_TOKEN_MS = 10_000;

function newToken(): string {
  return `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 14) || '0'}`;
}

/** A scope's generation as a batch knows it. */
export interface Generation {
  readonly token: string;
  /**
   * The store had no token of ours (never invalidated, expired or evicted): the batch made this one and
   * writes it with its entries. Every entry read under a missing token is a miss, so entries of a
   * generation whose token was lost are never read again.
   */
  readonly made: boolean;
  /** What the store held at the generation key (null: nothing): a made token is written only over it. */
  readonly replaces: string | null;
}

export interface RemoteRead {
  readonly generation: Generation;
  /** Per key: its entry of this generation, or null (absent, fenced, or not an entry of ours). */
  readonly entries: Array<DecodedEntry | null>;
  /** Per key: the text the store held (null: nothing), which a write-back of the key requires to still be there. */
  readonly observed: Array<string | null | undefined>;
  /** The texts at the extra keys the read was asked for (locks), aligned with them; null where absent. */
  readonly extra: ReadonlyArray<string | null>;
}

/** An entry to write behind, and the text its batch read at its key. */
export interface WriteBack {
  readonly key: string;
  readonly entry: LocalEntry;
  readonly observed: string | null | undefined;
}

export class RemoteTier {
  private warnedUnwritable = false;
  /** Keys and scopes (by entry prefix) with an invalidation in the air, with how many. */
  private readonly fencedKeys = new Map<string, number>();
  private readonly fencedScopes = new Map<string, number>();
  /** The invalidation markers of this tick, written together (see delete). */
  private deleting: { keys: string[]; done: Promise<boolean> } | null = null;
  /** Write-backs in the air, by key (at most maxPendingWrites calls' keys). */
  private readonly pendingWrites = new Map<string, Promise<unknown>>();
  /** Marker writes in the air, by key: the last one asked for each (see delete). */
  private readonly markerWrites = new Map<string, Promise<boolean>>();
  /**
   * Tokens this process made for cold scopes, by generation key, until the write that carries one
   * settles: the batches of one cold scope that read it meanwhile take the same token, so all their
   * entries land readable (each making its own, all but one batch's entries went under a token that
   * lost). Bounded; a token not written within MADE_TOKEN_MS is forgotten.
   */
  private readonly madeTokens = new LRUCache<string, string>({ max: 1000, ttl: MADE_TOKEN_MS });

  constructor(
    private readonly remote: ResilientRemote,
    private readonly loader: string,
    /** Isolated: never throws. */
    private readonly onError: (error: Error) => void,
  ) {}

  /** One round trip: the scope's generation and the entries of `keys`; null when the read failed. */
  async read(
    namespace: Namespace,
    keys: readonly string[],
    /** Keys read in the same round trip as they are (locks): their texts come back in `extra`. */
    extraKeys: readonly string[] = [],
  ): Promise<RemoteRead | null> {
    const values = await this.remote.read([namespace.generationKey, ...keys, ...extraKeys]);
    if (values === null) return null;
    const generation = this.generationOf(values[0] ?? null, namespace.generationKey);
    const entries = new Array<DecodedEntry | null>(keys.length);
    const observed = new Array<string | null | undefined>(keys.length);
    const scopeFenced = this.fencedScopes.has(namespace.entryPrefix);
    const fencedKeys = this.fencedKeys.size > 0 ? this.fencedKeys : null;
    for (let j = 0; j < keys.length; j++) {
      const text = values[j + 1] ?? null;
      entries[j] = null;
      observed[j] = observedText(text);
      if (text === null || generation.made || scopeFenced || fencedKeys?.has(keys[j]!) === true) continue;
      if (typeof text === 'string' && text.startsWith(FENCE_PREFIX)) continue;
      const decoded = decodeEntry(text, keys[j]!, generation.token);
      // An entry of an earlier generation (before an invalidateScope, or a lost token) is an expected
      // miss; anything else that is not our entry for this key is garbage, counted.
      if ('miss' in decoded) {
        if (decoded.miss !== 'other-generation') this.remote.noteGarbage();
      } else entries[j] = decoded;
    }
    return { generation, entries, observed, extra: values.slice(keys.length + 1) };
  }

  /**
   * The scope's generation and the texts at `keys`, not decoded (refreshes, which serve no entry from
   * the store but write back under its fence), or null.
   */
  async observe(namespace: Namespace, keys: readonly string[]): Promise<RemoteRead | null> {
    // A refresh's own marker may still be in the air (its write is behind the call): read after it
    // lands, so that the write-back goes over the marker (else it would be skipped as fenced, leaving
    // the marker, or read the value before it).
    const markers: Promise<boolean>[] = [];
    for (const key of keys) {
      const marker = this.markerWrites.get(key);
      if (marker !== undefined) markers.push(marker);
    }
    if (markers.length > 0) await Promise.all(markers);
    const values = await this.remote.read([namespace.generationKey, ...keys]);
    if (values === null) return null;
    const observed = new Array<string | null | undefined>(keys.length);
    for (let j = 0; j < keys.length; j++) observed[j] = observedText(values[j + 1]);
    return {
      generation: this.generationOf(values[0] ?? null, namespace.generationKey),
      entries: [],
      observed,
      extra: [],
    };
  }

  /**
   * Encodes entries and writes them behind, under `generation`, each only where its key still holds what
   * the batch read there; values it cannot encode stay local.
   */
  writeBehind(
    namespace: Namespace,
    entries: readonly WriteBack[],
    generation: Generation,
    now: number,
    /**
     * Told once the write-back is over (written, failed, dropped, or nothing to write), with how many
     * writes the store skipped (their key no longer held what the batch read).
     */
    done?: (skipped: number) => void,
  ): void {
    if (this.fencedScopes.has(namespace.entryPrefix)) {
      done?.(0);
      return;
    }
    const writes: RemoteWrite[] = [];
    for (const { key, entry, observed } of entries) {
      if (this.fencedKeys.has(key)) continue;
      const text = encodeEntry({
        key,
        generation: generation.token,
        freshUntil: entry.freshUntil,
        staleUntil: entry.staleUntil,
        value: entry.value,
      });
      if (typeof text !== 'string') {
        this.remote.noteUnwritable();
        if (!this.warnedUnwritable) {
          this.warnedUnwritable = true;
          this.onError(
            new TypeError(
              `Loader ${JSON.stringify(this.loader)}: a value is kept in process but not written to the remote store: ${text.refused}. Reported once.`,
            ),
          );
        }
        continue;
      }
      const ttlMs = Math.min(REMOTE_KEEP_MS / 2, Math.ceil(entry.staleUntil - now));
      if (ttlMs >= 1) writes.push({ key, value: text, ttlMs, ifValue: observed });
    }
    if (writes.length === 0) {
      done?.(0);
      return;
    }
    // A token made by this batch replaces only what the batch read there (nothing, or a value not ours):
    // never another instance's token written meanwhile.
    if (generation.made)
      writes.push({
        key: namespace.generationKey,
        value: generation.token,
        ttlMs: REMOTE_KEEP_MS,
        ifValue: generation.replaces,
      });
    const written = this.remote.writeBehind(writes);
    if (written === null) {
      done?.(0);
      return;
    }
    for (const write of writes) this.pendingWrites.set(write.key, written);
    void written.then((skipped) => {
      for (const write of writes)
        if (this.pendingWrites.get(write.key) === written) this.pendingWrites.delete(write.key);
      // The token is in the store now (or another won): later reads see what is there.
      if (generation.made && this.madeTokens.peek(namespace.generationKey) === generation.token)
        this.madeTokens.delete(namespace.generationKey);
      done?.(skipped);
    });
  }

  /**
   * Replaces entries with invalidation markers (see the top of this file), fenced in this process from
   * the call until the write settles; false when the store could not be reached. The calls of one tick
   * share one write (a loop of `invalidate` calls is one round trip, not one call each).
   */
  async delete(keys: readonly string[]): Promise<boolean> {
    for (const key of keys) this.fencedKeys.set(key, (this.fencedKeys.get(key) ?? 0) + 1);
    let batch = this.deleting;
    if (batch === null) {
      const created: { keys: string[]; done: Promise<boolean> } = {
        keys: [],
        done: Promise.resolve(false),
      };
      created.done = Promise.resolve().then(() => {
        this.deleting = null;
        return this.writeMarkers(created.keys);
      });
      this.deleting = created;
      batch = created;
    }
    const { done } = batch;
    for (const key of keys) {
      batch.keys.push(key);
      this.markerWrites.set(key, done);
    }
    try {
      return await done;
    } finally {
      for (const key of keys) {
        release(this.fencedKeys, key);
        if (this.markerWrites.get(key) === done) this.markerWrites.delete(key);
      }
    }
  }

  /** Writes one marker over keys, once their write-backs in the air settled (see delete). */
  private async writeMarkers(keys: readonly string[]): Promise<boolean> {
    const writing: Promise<unknown>[] = [];
    for (const key of new Set(keys)) {
      const pending = this.pendingWrites.get(key);
      if (pending !== undefined) writing.push(pending);
    }
    if (writing.length > 0) await Promise.all(writing);
    const unique = [...new Set(keys)];
    const marker = FENCE_PREFIX + newToken();
    if (await this.remote.write(unique.map((key) => ({ key, value: marker, ttlMs: FENCE_MS })))) return true;
    // A store that refuses writes (Redis out of memory under noeviction) may still delete: the entry
    // goes, without the marker's fence for loads in flight elsewhere.
    return await this.remote.remove(unique);
  }

  /**
   * Settles a generation this batch made (the scope had no token) before it loads: writes the token where
   * the store still holds what the batch read, then reads back whichever token won, so that concurrent
   * first batches on several instances write their entries under one token. Two round trips; the made
   * generation as it was when either fails.
   */
  async settleGeneration(namespace: Namespace, generation: Generation): Promise<Generation> {
    if (!generation.made) return generation;
    const written = await this.remote.write([
      {
        key: namespace.generationKey,
        value: generation.token,
        ttlMs: REMOTE_KEEP_MS,
        ifValue: generation.replaces,
      },
    ]);
    if (!written) return generation;
    const values = await this.remote.read([namespace.generationKey]);
    if (values === null) return generation;
    const settled = this.generationOf(values[0] ?? null, namespace.generationKey);
    return settled.made ? generation : settled;
  }

  /** Moves a scope to a new generation token, fenced until it settles; false when it failed. */
  async newGeneration(namespace: Namespace): Promise<boolean> {
    const prefix = namespace.entryPrefix;
    this.madeTokens.delete(namespace.generationKey);
    this.fencedScopes.set(prefix, (this.fencedScopes.get(prefix) ?? 0) + 1);
    try {
      return await this.remote.write([
        { key: namespace.generationKey, value: newToken(), ttlMs: REMOTE_KEEP_MS },
      ]);
    } finally {
      release(this.fencedScopes, prefix);
    }
  }

  /**
   * The generation a read of the scope's generation key found: its token, or a token made for a cold
   * scope (the one another batch of this process made and is writing, if any: see madeTokens).
   */
  private generationOf(stored: unknown, generationKey: string): Generation {
    const text = typeof stored === 'string' ? stored : null;
    if (text !== null && TOKEN.test(text)) return { token: text, made: false, replaces: text };
    let token = this.madeTokens.get(generationKey);
    if (token === undefined) {
      token = newToken();
      this.madeTokens.set(generationKey, token);
    }
    return { token, made: true, replaces: text };
  }
}

/**
 * What a write-back of a key requires it to still hold: the text read (null: nothing), or undefined
 * (write whatever it holds) for a foreign text the client decoded with replacement characters (bytes
 * that are not UTF-8): its bytes cannot be sent back to compare, and it would never be replaced.
 */
function observedText(value: unknown): string | null | undefined {
  if (typeof value !== 'string') return null;
  if (value.includes('\uFFFD') && !value.startsWith(FORMAT_MARKER) && !value.startsWith(FENCE_PREFIX))
    return undefined;
  return value;
}

function release(fences: Map<string, number>, key: string): void {
  const count = (fences.get(key) ?? 1) - 1;
  if (count <= 0) fences.delete(key);
  else fences.set(key, count);
}
