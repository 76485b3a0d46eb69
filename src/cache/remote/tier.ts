/**
 * The remote tier as the shared tier uses it: entries in and out of the codec, through the resilient
 * facade. One read per batch brings the scope's generation token with every key; writes carry the
 * token the batch read, so a write that lands after an `invalidateScope` is never read. Nothing here
 * throws; a failed call answers null or false.
 */
import type { Namespace } from '../namespace.js';
import type { LocalEntry, RemoteWrite } from '../store.js';
import { decodeEntry, type EntryEnvelope, encodeEntry } from './codec.js';
import type { ResilientRemote } from './resilient.js';

/**
 * The longest a remote store keeps anything: entries are written for at most half of it, and a scope's
 * generation token for all of it, so an entry never outlives the token it was written under.
 */
const REMOTE_KEEP_MS = 14 * 24 * 3600 * 1000;

/** The generation of a scope that was never invalidated (or whose token expired). */
const FIRST_GENERATION = '0';

export interface RemoteRead {
  /** The scope's generation token at the read. */
  readonly generation: string;
  /** Per key: its entry of this generation, or null (absent, or not an entry of ours: counted). */
  readonly entries: Array<EntryEnvelope | null>;
}

export class RemoteTier {
  private warnedUnwritable = false;

  constructor(
    private readonly remote: ResilientRemote,
    private readonly loader: string,
    /** Isolated: never throws. */
    private readonly onError: (error: Error) => void,
  ) {}

  /** One round trip: the scope's generation and the entries of `keys`; null when the read failed. */
  async read(namespace: Namespace, keys: readonly string[]): Promise<RemoteRead | null> {
    const values = await this.remote.read([namespace.generationKey, ...keys]);
    if (values === null) return null;
    const generation = values[0] ?? FIRST_GENERATION;
    const entries = new Array<EntryEnvelope | null>(keys.length);
    for (let j = 0; j < keys.length; j++) {
      const text = values[j + 1] ?? null;
      if (text === null) {
        entries[j] = null;
        continue;
      }
      const decoded = decodeEntry(text, keys[j]!, generation);
      if ('miss' in decoded) {
        this.remote.noteGarbage();
        entries[j] = null;
      } else entries[j] = decoded;
    }
    return { generation, entries };
  }

  /** The scope's generation token alone (refreshes, which read no entries), or null. */
  async generation(namespace: Namespace): Promise<string | null> {
    const values = await this.remote.read([namespace.generationKey]);
    return values === null ? null : (values[0] ?? FIRST_GENERATION);
  }

  /** Encodes entries and writes them behind, under `generation`; values it cannot encode stay local. */
  writeBehind(
    entries: ReadonlyArray<{ key: string; entry: LocalEntry }>,
    generation: string,
    now: number,
  ): void {
    const writes: RemoteWrite[] = [];
    for (const { key, entry } of entries) {
      const text = encodeEntry({
        key,
        generation,
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
      if (ttlMs >= 1) writes.push({ key, value: text, ttlMs });
    }
    if (writes.length > 0) this.remote.writeBehind(writes);
  }

  /** Deletes entries; false when the store could not be reached. */
  delete(keys: readonly string[]): Promise<boolean> {
    return this.remote.remove(keys);
  }

  /** Moves a scope to a new generation token; false when the store could not be reached. */
  newGeneration(namespace: Namespace): Promise<boolean> {
    const token = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
    return this.remote.write([{ key: namespace.generationKey, value: token, ttlMs: REMOTE_KEEP_MS }]);
  }
}
