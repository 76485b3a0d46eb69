/**
 * The invalidation bus: how an `invalidate`, `refresh` or `invalidateScope` on one instance reaches the
 * in-process tier of every other instance, and how long an instance may trust its in-process tier when
 * it cannot hear the others.
 *
 * One bus per transport (a remote store's, e.g. Redis pub/sub: stores/redis-bus.ts) per process, shared
 * by every loader on that store. A loader joins it with the base of its keys (keys.ts loaderBase) and the
 * three ways to drop what it keeps (a member); drops published by one member reach the other members of
 * this process at once and every other process through the transport, coalesced per tick into messages
 * of many keys (messages.ts). A bus ignores its own messages when they come back.
 *
 * Trust. A heartbeat every `heartbeatMs` makes a round trip on the listening connection (a ping; after a
 * gap or a lapse, a probe: a message the bus publishes and waits to hear, proving the connection hears
 * the channel of the server the client publishes to) and announces the instance as present (below).
 * An answered heartbeat sent at t proves that every message the transport accepted before t has been
 * delivered (and applied: delivery is synchronous). The in-process tier is trusted while the last
 * answered heartbeat was sent at most `staleAfterMs` ago. After a gap (the listening connection lost or
 * made again: messages may be lost) or a lapse of trust, every member drops everything it keeps in
 * process at the next answered heartbeat, before that heartbeat counts (its loads in flight then fill
 * no in-process tier); a loader that joins drops what its store holds for it at its first use. So: an
 * entry an instance serves from its in-process tier reflects every invalidation accepted by the
 * transport more than `staleAfterMs` ago.
 *
 * Scope invalidations wait. Every heartbeat also announces the instance as present for `staleAfterMs`
 * (on the server's clock). The sender of a scope invalidation resolves once every instance present when
 * the transport accepted the message has acknowledged it (an acknowledgement is sent after the message
 * is applied), or `staleAfterMs` after that, whichever comes first. An instance that was not present
 * had no answered heartbeat for `staleAfterMs`, so it trusts nothing it holds; one that did not
 * acknowledge within the bound has had no answered heartbeat since (its heartbeats would have brought
 * the message first), so by then it trusts nothing either. After that, no other instance serves an
 * entry of the old generation from its in-process tier.
 */

import { coarseClock } from '../cache/clock.js';
import { randomId } from '../random-id.js';
import { deadline, raced } from './deadline.js';
import {
  type AckMessage,
  type DropMessage,
  decodeMessage,
  encodeAck,
  encodeDrop,
  encodeProbe,
  type KeyDrop,
  type ScopeDrop,
} from './messages.js';

/** What carries bus messages between instances (a remote store's `bus`). */
export interface BusTransport {
  /** For statistics and errors, e.g. `'redis'`. */
  readonly name: string;
  /** Milliseconds between heartbeats (> 0). */
  readonly heartbeatMs: number;
  /** Milliseconds after the last answered heartbeat's sending that the in-process tier is trusted (> heartbeatMs). */
  readonly staleAfterMs: number;
  /** The deadline of a publish, in milliseconds (> 0). */
  readonly timeoutMs: number;
  /**
   * Whether every heartbeat must be a probe: the listening connection can lose its subscription with no
   * gap told and its pings still answered (Redis Cluster, where a slot moving or a planned failover
   * unsubscribes a shard channel's listeners on a connection that stays up). Default: false (a ping
   * proves the subscription; every PROBE_EVERY-th heartbeat is a probe anyway).
   */
  readonly probeEveryBeat?: boolean;
  /**
   * Starts listening (called once): every message text on the channel (its own included) goes to
   * `message`; `gap` is told whenever the listening connection is lost or made again (messages in
   * between may be lost). Neither callback throws.
   */
  listen(listener: TransportListener): void;
  /**
   * Sends a text to every listener; resolves once the server accepted it (with how many listening
   * connections received it, which the bus does not rely on: acknowledgements are counted per instance
   * present). Rejects when it cannot be sent now (nothing waits for a connection) or when the signal
   * aborts.
   */
  publish(text: string, signal: AbortSignal): Promise<number>;
  /**
   * A round trip on the listening connection: resolves once every message accepted before it was sent
   * has been handed to the listener. Rejects when the listening connection is not subscribed now, or on
   * abort.
   */
  ping(signal: AbortSignal): Promise<void>;
  /** Marks `origin` present for `ttlMs` (on the server's clock). */
  announce(origin: string, ttlMs: number, signal: AbortSignal): Promise<void>;
  /** The origins present now (those whose last announcement has not expired). */
  present(signal: AbortSignal): Promise<readonly string[]>;
  /** Optional: `origin` is no longer present (it closed). Best effort; never rejects. */
  leave?(origin: string): Promise<void>;
  /**
   * Optional: heartbeats keep failing (one failed, and none was confirmed for `staleAfterMs`). A transport
   * that can lose its subscription silently (or be stuck subscribing) may make a new one. Never throws.
   */
  lost?(): void;
  /** Stops listening and releases what the transport owns. Idempotent. */
  close(): Promise<void>;
}

export interface TransportListener {
  message(text: string): void;
  gap(): void;
}

/** What a loader drops when another instance (or loader of this process) tells it to. Never throws. */
export interface BusMember {
  /** Drops keys (their canonical encodings) of one scope, and fences their loads in flight. */
  dropKeys(scope: string, encodedKeys: readonly string[]): void;
  /** Drops a whole scope, and fences its loads in flight. */
  dropScope(scope: string): void;
  /** Drops everything the loader keeps in process; its loads in flight then fill no in-process tier. */
  dropAll(): void;
}

/** A loader's place on the bus. */
export interface Membership {
  /** Tells every other member and instance to drop keys; false when the transport could not take it. */
  publishKeys(scope: string, encodedKeys: readonly string[]): Promise<boolean>;
  /** Tells them to drop a scope and waits (see the header); false when the transport could not take it. */
  publishScope(scope: string): Promise<boolean>;
  /** Whether the in-process tier may be read now (see the header). */
  trusted(): boolean;
  /**
   * Leaves the bus (idempotent). Resolves once the instance's presence is withdrawn when this was its last
   * member (best effort, within the transport's deadline), at once otherwise; never rejects.
   */
  leave(): Promise<void>;
}

export interface BusStats {
  /** Messages this bus sent (acknowledgements included). */
  readonly published: number;
  /** Publishes the transport refused, failed or did not answer within the deadline. */
  readonly publishFailures: number;
  /** Messages of other instances applied. */
  readonly received: number;
  /** Texts on the channel that were not messages (counted, ignored). */
  readonly garbage: number;
  /** Times the listening connection was lost or made again. */
  readonly gaps: number;
  /** Times every member dropped everything, on regaining trust after a gap or a lapse. */
  readonly resyncs: number;
  /** Heartbeats not answered in time. */
  readonly heartbeatFailures: number;
  /** Scope invalidations that waited out staleAfterMs because some receiver did not acknowledge. */
  readonly ackTimeouts: number;
  /** Whether the in-process tier is trusted now. */
  readonly trusted: boolean;
  /** Propagation lag of received messages (receiver's clock minus sender's): count, sum, max. */
  readonly lag: { readonly count: number; readonly sumMs: number; readonly maxMs: number };
}

/** The longest message text sent (UTF-16 units): more keys go out in several. */
const MESSAGE_CHARS = 64 * 1024;
/** Every this many heartbeats, one is a probe (and prunes the registry of instances). */
const PROBE_EVERY = 20;
/** A key whose encoding is longer than this is not sent: its whole scope is dropped instead. */
const HUGE_KEY_CHARS = 256 * 1024;

interface Outgoing {
  readonly keys: KeyDrop[];
  readonly scopes: ScopeDrop[];
  waitForAcks: boolean;
  readonly done: Promise<boolean>;
  resolve(published: boolean): void;
}

interface AckWait {
  /** The instances whose acknowledgement ends the wait (known once `present` answers; until then null). */
  expected: ReadonlySet<string> | null;
  /** The instances that acknowledged it. */
  readonly from: Set<string>;
  /** Ends the wait at staleAfterMs after publish answered. */
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(): void;
}

/** A member of the bus, with whether it dropped what its store held before it joined. */
interface Joined {
  readonly member: BusMember;
  synced: boolean;
}

const buses = new WeakMap<BusTransport, InvalidationBus>();

/** The bus of a transport in this process (made on first use). */
export function busOf(transport: BusTransport): InvalidationBus {
  let bus = buses.get(transport);
  if (bus === undefined) {
    bus = new InvalidationBus(transport);
    buses.set(transport, bus);
  }
  return bus;
}

const monotonic = () => performance.now();

/** Calls a member, which never throws; a bug there must not stop the others. */
function safely(call: () => void): void {
  try {
    call();
  } catch {
    // members never throw
  }
}

export class InvalidationBus implements TransportListener {
  /** This bus's name in messages: its own come back and are ignored by it. */
  readonly origin = randomId();
  private readonly members = new Map<string, Set<Joined>>();
  private memberCount = 0;
  /** Times the last member left (the presence was withdrawn): a heartbeat across one confirms nothing. */
  private withdrawals = 0;
  private listening = false;
  /** When the last answered heartbeat was sent (monotonic ms). */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  /** Members must drop everything at the next answered heartbeat (a gap, a lapse, or never confirmed). */
  private resyncNeeded = true;
  /** Counts gaps: a heartbeat sent before a gap proves nothing after it. */
  private epoch = 0;
  private beating = false;
  private beatAgain = false;
  /** The deadline of the heartbeat in the air. */
  private beatLimit: ReturnType<typeof deadline> | null = null;
  /** Heartbeats made (every PROBE_EVERY-th is a probe). */
  private beats = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private outbox: Outgoing | null = null;
  private readonly ackWaits = new Map<string, AckWait>();
  /** Probes in the air, by nonce: resolved when they come back. */
  private readonly probes = new Map<string, () => void>();
  private readonly counts = {
    published: 0,
    publishFailures: 0,
    received: 0,
    garbage: 0,
    gaps: 0,
    resyncs: 0,
    heartbeatFailures: 0,
    ackTimeouts: 0,
  };
  private readonly lag = { count: 0, sumMs: 0, maxMs: 0 };
  /** The monotonic clock of trust checks, shared by the reads of one stretch of JavaScript. */
  private readonly clock = coarseClock(monotonic);

  constructor(private readonly transport: BusTransport) {}

  /** Joins a loader (by its key base) with what it drops; starts the bus on the first member. */
  join(loader: string, member: BusMember): Membership {
    let set = this.members.get(loader);
    if (set === undefined) {
      set = new Set();
      this.members.set(loader, set);
    }
    const joined: Joined = { member, synced: false };
    set.add(joined);
    this.memberCount++;
    this.start();
    let left = false;
    return {
      publishKeys: (scope, encodedKeys) =>
        encodedKeys.length === 0
          ? Promise.resolve(true)
          : this.publish(member, [loader, scope, encodedKeys], null),
      publishScope: (scope) => this.publish(member, null, [loader, scope]),
      trusted: () => {
        if (left) return false;
        // What the store held for this loader before it joined heard none of the messages: it goes at
        // the loader's first read (the member's own structures exist by then).
        if (!joined.synced) {
          joined.synced = true;
          safely(() => member.dropAll());
        }
        return this.trusted();
      },
      leave: async () => {
        if (left) return;
        left = true;
        set.delete(joined);
        if (set.size === 0) this.members.delete(loader);
        if (--this.memberCount === 0) await this.stop();
      },
    };
  }

  /** Whether the in-process tier may be read now (see the header). */
  trusted(): boolean {
    // Even after a gap: what it holds reflects every message sent before confirmedAt. It drops all of it
    // at the next answered heartbeat (the gap may have lost messages), before trusting that one. Read on
    // every shared hit: the clock is shared by the reads of one stretch of JavaScript.
    if (this.clock() - this.confirmedAt <= this.transport.staleAfterMs) return true;
    this.resyncNeeded = true;
    return false;
  }

  stats(): BusStats {
    return { ...this.counts, trusted: this.trusted(), lag: { ...this.lag } };
  }

  // --- the transport's listener -----------------------------------------------------------------

  message(text: string): void {
    const message = decodeMessage(text);
    if (message === null) {
      this.counts.garbage++;
      return;
    }
    if ('probe' in message) {
      if (message.origin === this.origin) this.probes.get(message.probe)?.();
      return;
    }
    if (message.origin === this.origin) return;
    if ('target' in message) {
      this.acknowledged(message);
      return;
    }
    this.counts.received++;
    const lag = Math.max(0, Date.now() - message.sentAt);
    this.lag.count++;
    this.lag.sumMs += lag;
    if (lag > this.lag.maxMs) this.lag.maxMs = lag;
    this.deliver(message.keys, message.scopes, null);
    if (message.id !== undefined) this.acknowledge(message.origin, message.id);
  }

  gap(): void {
    this.counts.gaps++;
    this.epoch++;
    this.resyncNeeded = true;
    // A heartbeat in the air proves nothing now: it ends, and a probe goes out at once.
    this.beatLimit?.abort('a gap came first');
    if (this.listening) this.schedule(0);
  }

  // --- heartbeats -------------------------------------------------------------------------------

  private start(): void {
    if (this.timer !== null || this.beating) return;
    if (!this.listening) {
      this.listening = true;
      this.transport.listen(this);
    }
    this.schedule(0);
  }

  private stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.beatAgain = false;
    // Messages to nobody are not applied: whoever joins again starts from a resync.
    this.resyncNeeded = true;
    this.confirmedAt = Number.NEGATIVE_INFINITY;
    // Nobody here trusts anything now: the others need not wait for this instance.
    return this.withdraw();
  }

  /** Withdraws this instance's presence (best effort, within the transport's timeoutMs; never rejects). */
  private async withdraw(): Promise<void> {
    this.withdrawals++;
    if (this.transport.leave === undefined) return;
    const limit = deadline(this.transport.timeoutMs);
    try {
      await raced(
        Promise.resolve().then(() => this.transport.leave!(this.origin)),
        limit.signal,
      );
    } catch {
      // best effort
    } finally {
      limit.clear();
    }
  }

  private schedule(ms: number): void {
    if (this.memberCount === 0) return;
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.beat();
    }, ms);
    this.timer.unref?.();
  }

  /**
   * One heartbeat: a ping (a probe when resynchronising) and the announcement, both within
   * heartbeatMs; confirmed when both answered and no gap came between.
   */
  private async beat(): Promise<void> {
    this.beating = true;
    const epoch = this.epoch;
    const sentAt = monotonic();
    const resync = this.resyncNeeded || sentAt - this.confirmedAt > this.transport.staleAfterMs;
    // Now and then a probe even when all is well: it proves again that the listening connection hears
    // the server the client publishes to (a client moved by a failover without any gap told).
    const beats = ++this.beats;
    const probe = resync || this.transport.probeEveryBeat === true || beats % PROBE_EVERY === 0;
    const limit = deadline(this.transport.heartbeatMs);
    this.beatLimit = limit;
    try {
      await (probe ? this.probe(limit.signal) : this.transport.ping(limit.signal));
      // Present only once it hears the others: an instance that cannot is not waited for (it trusts
      // nothing once its bound passes, and it announces nothing meanwhile).
      // Not once the last member left (it announced its leaving): a ghost would make others wait.
      if (this.memberCount === 0) return;
      const withdrawals = this.withdrawals;
      await this.transport.announce(this.origin, Math.ceil(this.transport.staleAfterMs), limit.signal);
      // The last member left while the announcement was in the air: leave again, after it.
      if (this.memberCount === 0) void this.withdraw();
      // A withdrawal while it was in the air (even if a member joined again since) may have removed the
      // presence after it: trusting on this heartbeat would trust without being present. The next one
      // announces again.
      else if (epoch === this.epoch && this.withdrawals === withdrawals) this.confirm(sentAt, resync);
      // The registry of instances is pruned with the same cadence (expired ones leave it).
      if (beats % PROBE_EVERY === 1) {
        const prune = deadline(this.transport.timeoutMs);
        void this.transport
          .present(prune.signal)
          .catch(() => {})
          .finally(prune.clear);
      }
    } catch {
      this.counts.heartbeatFailures++;
      // Told only once trust lapsed: one failed heartbeat (a stall, a slow probe) is no reason to make a
      // new subscription (which is a gap, and drops what is kept).
      if (monotonic() - this.confirmedAt > this.transport.staleAfterMs)
        try {
          this.transport.lost?.();
        } catch {
          // a transport's own affair
        }
    } finally {
      limit.clear();
      this.beatLimit = null;
      this.beating = false;
      const again = this.beatAgain;
      this.beatAgain = false;
      this.schedule(again ? 0 : this.transport.heartbeatMs);
    }
  }

  /** Publishes a probe and resolves when this bus hears it (or rejects at the signal). */
  private probe(signal: AbortSignal): Promise<void> {
    const nonce = randomId();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.probes.delete(nonce);
        signal.removeEventListener('abort', abort);
      };
      const abort = () => {
        done();
        reject(signal.reason);
      };
      signal.addEventListener('abort', abort, { once: true });
      this.probes.set(nonce, () => {
        done();
        resolve();
      });
      this.transport
        .publish(encodeProbe({ origin: this.origin, sentAt: Date.now(), probe: nonce }), signal)
        .catch((error: unknown) => {
          done();
          reject(error);
        });
    });
  }

  /** An answered heartbeat sent at `sentAt`: after a gap or a lapse, everything kept goes first. */
  private confirm(sentAt: number, resync: boolean): void {
    if (resync || this.resyncNeeded) {
      this.counts.resyncs++;
      for (const set of this.members.values())
        for (const joined of set) safely(() => joined.member.dropAll());
      this.resyncNeeded = false;
    }
    this.confirmedAt = sentAt;
  }

  // --- sending ----------------------------------------------------------------------------------

  private publish(from: BusMember, keys: KeyDrop | null, scope: ScopeDrop | null): Promise<boolean> {
    // The other loaders of this process on the same keys hear it at once.
    this.deliver(keys === null ? [] : [keys], scope === null ? [] : [scope], from);
    let outgoing = this.outbox;
    if (outgoing === null) {
      let resolve!: (published: boolean) => void;
      const done = new Promise<boolean>((r) => {
        resolve = r;
      });
      outgoing = { keys: [], scopes: [], waitForAcks: false, done, resolve };
      this.outbox = outgoing;
      queueMicrotask(() => {
        this.outbox = null;
        this.send(outgoing!).then(outgoing!.resolve);
      });
    }
    if (keys !== null) outgoing.keys.push(keys);
    if (scope !== null) {
      outgoing.scopes.push(scope);
      outgoing.waitForAcks = true;
    }
    return outgoing.done;
  }

  /** Sends one tick's drops, in messages of at most MESSAGE_CHARS; true when all went out. */
  private async send(outgoing: Outgoing): Promise<boolean> {
    const texts: Array<{ text: string; id: string | undefined }> = [];
    const scopes = [...outgoing.scopes];
    // One drop per loader and scope, however many calls named its keys this tick.
    const merged = new Map<string, [string, string, string[]]>();
    for (const [loader, scope, encoded] of outgoing.keys) {
      const id = JSON.stringify([loader, scope]);
      const drop = merged.get(id);
      if (drop === undefined) merged.set(id, [loader, scope, [...encoded]]);
      else for (const key of encoded) drop[2].push(key);
    }
    const keys: KeyDrop[] = [];
    // A key too large for a message drops its scope instead (more than asked, never less).
    for (const drop of merged.values()) {
      if (drop[2].some((key) => key.length > HUGE_KEY_CHARS)) scopes.push([drop[0], drop[1]]);
      else keys.push(drop);
    }
    const waitForAcks = outgoing.waitForAcks || scopes.length > outgoing.scopes.length;
    for (const chunk of chunks(keys)) {
      const id = waitForAcks && texts.length === 0 ? randomId() : undefined;
      texts.push(this.encode(chunk, texts.length === 0 ? scopes : [], id));
    }
    if (texts.length === 0) texts.push(this.encode([], scopes, waitForAcks ? randomId() : undefined));
    const sent = await Promise.all(texts.map(({ text, id }) => this.sendOne(text, id)));
    return sent.every(Boolean);
  }

  private encode(
    keys: KeyDrop[],
    scopes: ScopeDrop[],
    id: string | undefined,
  ): { text: string; id: string | undefined } {
    const message: DropMessage = {
      origin: this.origin,
      sentAt: Date.now(),
      keys,
      scopes,
      ...(id === undefined ? {} : { id }),
    };
    return { text: encodeDrop(message), id };
  }

  private async sendOne(text: string, id: string | undefined): Promise<boolean> {
    let wait: Promise<void> | null = null;
    if (id !== undefined) wait = this.awaitAcks(id);
    const limit = deadline(this.transport.timeoutMs);
    try {
      await this.transport.publish(text, limit.signal);
      this.counts.published++;
    } catch {
      this.counts.publishFailures++;
      if (id !== undefined) this.ackWaits.delete(id);
      return false;
    } finally {
      limit.clear();
    }
    if (id === undefined || wait === null) return true;
    const pending = this.ackWaits.get(id);
    if (pending !== undefined) {
      this.startAckTimer(id, pending);
      // Who must acknowledge: the instances present now (a failed lookup waits out the bound).
      const lookup = deadline(this.transport.timeoutMs);
      this.transport
        .present(lookup.signal)
        .then(
          (origins) => {
            pending.expected = new Set(origins.filter((origin) => origin !== this.origin));
            this.checkAcks(id, pending);
          },
          () => {},
        )
        .finally(lookup.clear);
    }
    await wait;
    return true;
  }

  /** Resolves when every expected instance acknowledged message `id`, or staleAfterMs after publish answered. */
  private awaitAcks(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const wait: AckWait = { expected: null, from: new Set(), timer: undefined, resolve };
      this.ackWaits.set(id, wait);
    }).finally(() => this.ackWaits.delete(id));
  }

  private startAckTimer(id: string, wait: AckWait): void {
    // One more millisecond than the receivers' bound: by then none of them trusts an entry from before.
    const timer = setTimeout(() => {
      if (!this.ackWaits.has(id)) return;
      this.counts.ackTimeouts++;
      wait.resolve();
    }, this.transport.staleAfterMs + 1);
    timer.unref?.();
    wait.timer = timer;
  }

  private checkAcks(id: string, wait: AckWait): void {
    const expected = wait.expected;
    if (expected === null) return;
    for (const origin of expected) if (!wait.from.has(origin)) return;
    this.ackWaits.delete(id);
    clearTimeout(wait.timer);
    wait.resolve();
  }

  private acknowledged(message: AckMessage): void {
    if (message.target !== this.origin) return;
    const wait = this.ackWaits.get(message.id);
    if (wait === undefined) return;
    wait.from.add(message.origin);
    this.checkAcks(message.id, wait);
  }

  /** Tells the sender of message `id` that it was applied here (behind; a failure is counted). */
  private acknowledge(target: string, id: string): void {
    const ack = encodeAck({ origin: this.origin, sentAt: Date.now(), target, id });
    const limit = deadline(this.transport.timeoutMs);
    this.transport
      .publish(ack, limit.signal)
      .then(
        () => {
          this.counts.published++;
        },
        () => {
          this.counts.publishFailures++;
        },
      )
      .finally(limit.clear);
  }

  /** Hands drops to the members of this process (but `except`, the sender). */
  private deliver(keys: readonly KeyDrop[], scopes: readonly ScopeDrop[], except: BusMember | null): void {
    for (const [loader, scope, encoded] of keys)
      for (const joined of this.members.get(loader) ?? [])
        if (joined.member !== except) safely(() => joined.member.dropKeys(scope, encoded));
    for (const [loader, scope] of scopes)
      for (const joined of this.members.get(loader) ?? [])
        if (joined.member !== except) safely(() => joined.member.dropScope(scope));
  }
}

/** Key drops cut so that no message passes MESSAGE_CHARS (a single huge key goes alone). */
function* chunks(keys: readonly KeyDrop[]): Generator<KeyDrop[]> {
  let chunk: KeyDrop[] = [];
  let chars = 0;
  for (const [loader, scope, encoded] of keys) {
    let part: string[] = [];
    for (const key of encoded) {
      const cost = JSON.stringify(key).length + 1;
      if (chars + cost > MESSAGE_CHARS && (part.length > 0 || chunk.length > 0)) {
        if (part.length > 0) chunk.push([loader, scope, part]);
        yield chunk;
        chunk = [];
        part = [];
        chars = 0;
      }
      if (part.length === 0) chars += loader.length + scope.length + 16;
      part.push(key);
      chars += cost;
    }
    if (part.length > 0) chunk.push([loader, scope, part]);
  }
  if (chunk.length > 0) yield chunk;
}
